"""The scratch MLP's twin as an ``nn.Sequential``, and a loss identical to the scratch loss L.

Lesson: the model is ``NeuralNetMLP`` for sizes [784, 50, 10]; ``nn.Linear`` stores weights as
(out, in), like the lesson's ``weight_h`` (num_hidden, num_features).
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence

import torch
from torch import nn
from torch.nn import functional as F

ACTIVATIONS = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}
LOSSES = ("mse", "cross_entropy", "softmax_mse")


def check_spec(sizes: Sequence[int], activation: str, loss: str) -> list[int]:
    """The spec as a list of widths, or ``ValueError``; the messages are ``scratch.MLP``'s, word for word."""
    try:
        sizes = list(sizes)
    except TypeError:
        raise ValueError(f"sizes must be a list of layer widths like [784, 50, 10], got {sizes!r}") from None
    if len(sizes) < 2:
        raise ValueError(f"sizes needs at least an input and an output width, like [784, 50, 10]; got {sizes}")
    for s in sizes:
        if isinstance(s, bool) or not isinstance(s, numbers.Integral) or s < 1:
            raise ValueError(f"every layer width must be an integer >= 1, got {sizes}")
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {sorted(LOSSES)}, got {loss!r}")
    if loss != "mse" and sizes[-1] < 2:   # a softmax over one class is always 1
        raise ValueError(f"{loss} needs at least 2 output classes, got sizes {sizes}")
    return [int(s) for s in sizes]


def build_model(sizes: Sequence[int], activation: str = "sigmoid", loss: str = "mse") -> nn.Sequential:
    """``Linear, act, Linear, act, ..., Linear`` plus a final ``Sigmoid`` for the ``mse`` loss, a
    ``Softmax(dim=1)`` for ``softmax_mse``.

    The state-dict keys are ``"0.weight"``, ``"0.bias"``, ``"2.weight"``, ...: the same as
    ``scratch.MLP.state_dict()``. For ``cross_entropy`` the last layer outputs logits.
    """
    sizes = check_spec(sizes, activation, loss)
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(ACTIVATIONS[activation]())
    if loss == "mse":
        layers.append(nn.Sigmoid())
    elif loss == "softmax_mse":
        layers.append(nn.Softmax(dim=1))
    return nn.Sequential(*layers)


def squared_error_loss(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """L = squared error summed over classes, mean over examples: the lesson's backward's loss.

    Not ``nn.MSELoss()``: that averages over classes too, so its gradients are ``num_classes``
    times smaller (the 10x trap).
    """
    onehot = F.one_hot(target, output.shape[1]).to(output.dtype)
    return ((output - onehot) ** 2).sum(dim=1).mean()


def mse_mean_loss(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``nn.MSELoss()`` on one-hot targets: what a first port usually writes (the 10x trap)."""
    return nn.functional.mse_loss(output, F.one_hot(target, output.shape[1]).to(output.dtype))


def loss_function(loss: str) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """The loss that matches ``scratch.MLP(loss=...)`` exactly, as ``fn(output, labels)``."""
    if loss in ("mse", "softmax_mse"):
        return squared_error_loss
    if loss == "cross_entropy":
        return nn.CrossEntropyLoss()
    if loss == "mse-mean":
        return mse_mean_loss
    raise ValueError(f"loss must be one of {sorted([*LOSSES, 'mse-mean'])}, got {loss!r}")


def probabilities(output: torch.Tensor, loss: str) -> torch.Tensor:
    """Class scores in [0, 1]: the network's outputs, or the softmax of its logits for ``cross_entropy``."""
    return torch.softmax(output, dim=1) if loss == "cross_entropy" else output
