"""The lesson's PyTorch column, as a learner writes it: one script, one cell per step (``# %% key``).

Run it as a script, never imported: ``python torch_impl/walkthrough.py LESSON.npz RESULTS.npz``. LESSON.npz
holds the lesson's NumPy arrays (``X_train`` ... ``y_test``, float64 pixels in [-1, 1] and int64 labels),
the initial weights the book's ``NeuralNetMLP`` drew (``weight_h``, ``bias_h``, ``weight_out``, ``bias_out``),
the learning rate, and the batches both columns train on, in order (``batches``: epochs x steps x 100
indices). RESULTS.npz receives what the lesson compares with the book's column. The lesson page
quotes each cell beside the book's code (``compare.lesson.walkthrough``), and a test runs the whole script
in a fresh interpreter.

Lesson: "Implementing a Multi-Layer NN", in PyTorch: the network, its loss, the training loop, evaluation.
"""

# %% load
import sys

import numpy as np
import torch
from torch.utils.data import TensorDataset

lesson = np.load(sys.argv[1])                                  # the lesson's NumPy arrays
X_train = torch.from_numpy(lesson["X_train"])                  # (n, 784) float64: shares the array's memory
y_train = torch.from_numpy(lesson["y_train"])                  # (n,) int64
X_valid, y_valid = torch.from_numpy(lesson["X_valid"]), torch.from_numpy(lesson["y_valid"])
X_test, y_test = torch.from_numpy(lesson["X_test"]), torch.from_numpy(lesson["y_test"])
train_set = TensorDataset(X_train, y_train)                    # train_set[i] is (image i, label i)

# %% dtype
import torch
from torch import nn

print(X_train.dtype, torch.get_default_dtype())               # torch.float64 torch.float32
try:
    nn.Linear(784, 50)(X_train[:1])                            # float32 weights, float64 digits
except RuntimeError as error:
    print(error)                                               # mat1 and mat2 must have the same dtype, ...
# One of them must give way. To train fast, feed float32 (X_train.float()); to compare with the book to
# the last bit, make the network float64 (.double()), as the cells below do.

# %% model
import torch
from torch import nn

net = nn.Sequential(nn.Linear(784, 50), nn.Sigmoid(), nn.Linear(50, 10), nn.Sigmoid()).double()


class MLP(nn.Module):
    """The same network as a module of its own: its parameters are named after its attributes."""

    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(784, 50)
        self.output = nn.Linear(50, 10)

    def forward(self, x):
        return torch.sigmoid(self.output(torch.sigmoid(self.hidden(x))))


module = MLP().double()

# %% init
import torch

# Seeds do not carry over from NumPy to torch: start from the weights the book drew. nn.Linear stores its
# weight (out, in) like the book's weight_h (50, 784), so nothing is transposed.
net.load_state_dict({"0.weight": torch.from_numpy(lesson["weight_h"]), "0.bias": torch.from_numpy(lesson["bias_h"]),
                     "2.weight": torch.from_numpy(lesson["weight_out"]), "2.bias": torch.from_numpy(lesson["bias_out"])})
module.load_state_dict({"hidden.weight": net[0].weight, "hidden.bias": net[0].bias,   # the names, mapped once
                        "output.weight": net[2].weight, "output.bias": net[2].bias})

# %% forward
import torch

X, y = X_train[:100], y_train[:100]
with torch.no_grad():
    a_out = net(X)                                             # (100, 10): Linear, Sigmoid, Linear, Sigmoid
    assert torch.equal(module(X), a_out)                       # the module computes the same numbers

# %% loss
from torch.nn import functional as F


def loss_fn(output, y):
    """The book's L: squared error summed over the 10 classes, averaged over the examples (not nn.MSELoss())."""
    onehot = F.one_hot(y, num_classes=10).to(output.dtype)
    return ((output - onehot) ** 2).sum(dim=1).mean()


# %% backward
loss = loss_fn(net(X), y)
loss.backward()                                                # autograd fills every parameter's .grad
grads = {name: p.grad.clone() for name, p in net.named_parameters() if p.grad is not None}   # kept, to compare

# %% update
import torch

optimizer = torch.optim.SGD(net.parameters(), lr=float(lesson["learning_rate"]))
optimizer.zero_grad()                                          # .grad accumulates: clear the last step's
loss = loss_fn(net(X), y)
loss.backward()
optimizer.step()                                               # param -= lr * param.grad, for every param
after_one_step = {k: v.detach().clone() for k, v in net.state_dict().items()}

# %% minibatches
import torch
from torch.utils.data import DataLoader

net.load_state_dict({"0.weight": torch.from_numpy(lesson["weight_h"]), "0.bias": torch.from_numpy(lesson["bias_h"]),
                     "2.weight": torch.from_numpy(lesson["weight_out"]), "2.bias": torch.from_numpy(lesson["bias_out"])})
optimizer = torch.optim.SGD(net.parameters(), lr=float(lesson["learning_rate"]))
losses = []
for epoch_batches in lesson["batches"]:                        # (epochs, steps, 100): the book's batches, in order
    net.train()
    for X_batch, y_batch in DataLoader(train_set, batch_sampler=epoch_batches.tolist()):
        optimizer.zero_grad()
        loss = loss_fn(net(X_batch), y_batch)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())

# %% evaluate
import torch
from torch.nn import functional as F

net.eval()
with torch.no_grad():                                          # nothing to learn here: record no graph
    output = net(X_valid)
    valid_mse = ((output - F.one_hot(y_valid, 10).to(output.dtype)) ** 2).mean().item()
    valid_acc = (output.argmax(dim=1) == y_valid).double().mean().item()
print(f"valid MSE {valid_mse:.4f}, valid accuracy {valid_acc:.4f}")

# %% misclassified
import torch

with torch.no_grad():
    test_pred = net(X_test).argmax(dim=1)                      # the class with the largest output
wrong = (test_pred != y_test).nonzero().flatten()
print(f"{len(wrong)} of {len(y_test)} test digits misclassified; the first: {wrong[:5].tolist()}")

# %% results
as_tensor = lambda v: torch.tensor(v, dtype=torch.float64)  # noqa: E731  (a float, kept float64)
results = {"a_out": a_out, "losses": as_tensor(losses), "valid_mse": as_tensor(valid_mse),
           "valid_acc": as_tensor(valid_acc), "test_pred": test_pred}
results |= {f"grad {k}": g for k, g in grads.items()}
results |= {f"one step {k}": v for k, v in after_one_step.items()}
results |= {f"trained {k}": v for k, v in net.state_dict().items()}
np.savez(sys.argv[2], **{k: v.detach().numpy() for k, v in results.items()})
