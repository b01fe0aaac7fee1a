"""The twin as a learner writes it: one ``nn.Sequential``, the lesson's loss, ``loss.backward()``, ``optimizer.step()``.

These few functions are what ``lesson.ipynb`` quotes for the PyTorch side: no validation, no options,
the lesson's network only (784 -> 50 -> 10, sigmoid, squared error). ``tests/test_notebooks.py`` checks
that they build the same network and compute the same numbers as ``build_model`` and ``train_step``.

Lesson: ``NeuralNetMLP``, its loss and the ``train`` loop of "Implementing a Multi-Layer NN", in PyTorch.
"""

from __future__ import annotations

import torch
from torch import nn


def make_net() -> nn.Sequential:
    """784 pixels -> 50 sigmoid units -> 10 sigmoid outputs; weights (out, in) like the book's, in float64 like
    its arrays (torch's layers are float32 unless told: ``.double()``)."""
    return nn.Sequential(nn.Linear(784, 50), nn.Sigmoid(), nn.Linear(50, 10), nn.Sigmoid()).double()


def copy_book_weights(net: nn.Sequential, model) -> None:
    """Start ``net`` from the book's ``NeuralNetMLP`` weights: same (out, in) layout, so no transposes."""
    net.load_state_dict({"0.weight": torch.as_tensor(model.weight_h), "0.bias": torch.as_tensor(model.bias_h),
                         "2.weight": torch.as_tensor(model.weight_out), "2.bias": torch.as_tensor(model.bias_out)})


def forward_keeping_grads(net: nn.Sequential, X: torch.Tensor) -> dict[str, torch.Tensor]:
    """The forward pass layer by layer, asking autograd to keep each intermediate's gradient.

    ``retain_grad()`` makes ``loss.backward()`` fill ``.grad`` of a non-leaf tensor too (by default only the
    parameters get one), so the book's hand-written intermediates can be set beside autograd's own:
    X (n, 784) -> z_h, a_h (n, 50) -> z_out, a_out (n, 10).
    """
    z_h = net[0](X)
    a_h = net[1](z_h)
    z_out = net[2](a_h)
    a_out = net[3](z_out)
    for t in (z_h, a_h, z_out, a_out):
        t.retain_grad()
    return {"z_h": z_h, "a_h": a_h, "z_out": z_out, "a_out": a_out}


def loss_fn(output: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Squared error summed over the 10 classes, mean over the examples: output (n, 10), labels y (n,)."""
    onehot = nn.functional.one_hot(y, num_classes=10).to(output.dtype)
    return ((output - onehot) ** 2).sum(dim=1).mean()


def make_optimizer(net: nn.Sequential, lr: float = 0.1) -> torch.optim.Optimizer:
    """Plain mini-batch SGD, the book's update: param -= lr * param.grad."""
    return torch.optim.SGD(net.parameters(), lr=lr)


def train_step(net: nn.Sequential, optimizer: torch.optim.Optimizer, X: torch.Tensor, y: torch.Tensor) -> float:
    """One mini-batch: X (n, 784), y (n,). Returns the loss before the update."""
    optimizer.zero_grad()    # .grad accumulates: clear the last step's
    loss = loss_fn(net(X), y)
    loss.backward()          # autograd: every parameter's .grad
    optimizer.step()         # plain SGD: param -= lr * param.grad
    return loss.item()


def train_epoch(net: nn.Sequential, optimizer: torch.optim.Optimizer, batches) -> list[float]:
    """One pass over ``batches``, pairs of tensors (X (n, 784), y (n,)); each step's loss."""
    net.train()
    return [train_step(net, optimizer, X, y) for X, y in batches]


def predict(net: nn.Sequential, X: torch.Tensor) -> torch.Tensor:
    """The class with the largest output, (n,); no graph is recorded."""
    net.eval()
    with torch.no_grad():
        return net(X).argmax(dim=1)


def accuracy(net: nn.Sequential, X: torch.Tensor, y: torch.Tensor) -> float:
    """The fraction of the n examples X (n, 784) whose predicted class is the label y (n,)."""
    return (predict(net, X) == y).double().mean().item()
