"""``exercise.ipynb``'s PyTorch side: the network, the loss, the training step and the evaluation, written by the
learner, each checked in the next cell (``compare.lesson.grade_torch``) beside the book's NumPy network.

Each exercise cell is a function's head with its docstring (what it takes, returns, and which dtype), then
the stub or, with ``solution``, the answer; the answers are written here for the notebook, a learner's
first PyTorch, not quoted from ``torch_impl``.
"""

from __future__ import annotations

from nbformat import NotebookNode

from .notebook import code, markdown

STUB_BODY = '    raise NotImplementedError("your code here")\n'

SETUP = """\
import torch
from torch import nn
from torch.nn import functional as F

from compare.lesson.grade_torch import check_evaluate, check_loss, check_network, check_step"""

NETWORK = ('''def make_network():
    """The book's network in PyTorch: 784 pixels -> 50 sigmoid units -> 10 sigmoid outputs.

    The digits come as float64 tensors (torch.from_numpy keeps NumPy's dtype); the network must compute in
    float64 too. The check copies the book's weights into your parameters, in order, and compares outputs.
    """
''', '''    return nn.Sequential(nn.Linear(784, 50), nn.Sigmoid(), nn.Linear(50, 10), nn.Sigmoid()).double()
''')

LOSS = ('''def loss_function(output, y):
    """The book's L: squared error summed over the 10 classes, averaged over the n examples.

    output (n, 10) float64 tensor, y (n,) int64 labels. Return a 0-d tensor that loss.backward() can use.
    """
''', '''    onehot = F.one_hot(y, num_classes=10).to(output.dtype)
    return ((output - onehot) ** 2).sum(dim=1).mean()
''')

STEP = ('''def train_step(net, optimizer, X, y):
    """One mini-batch step with torch.optim.SGD: X (n, 784) float64, y (n,). Use your loss_function.

    Return the batch's loss before the update, as a Python float.
    """
''', '''    optimizer.zero_grad()              # .grad accumulates: clear the last step's
    loss = loss_function(net(X), y)
    loss.backward()                    # autograd fills every parameter's .grad
    optimizer.step()                   # param -= lr * param.grad
    return loss.item()
''')

EVALUATE = ('''def evaluate(net, X, y):
    """The fraction of the digits X (n, 784) whose largest output is their label y (n,), as a float.

    Nothing here trains: no graph needs recording.
    """
''', '''    net.eval()
    with torch.no_grad():
        return (net(X).argmax(dim=1) == y).double().mean().item()
''')

CHECKS = {
    "network": 'net = check_network(make_network, data)\nprint(net)\nprint("your network computes the book\'s forward")',
    "loss": 'check_loss(loss_function, data)\nprint("your loss is the book\'s L")',
    "step": 'check_step(train_step, make_network, data)\nprint("your step matches optimizer.step() for 3 steps")',
    "evaluate": 'accuracy = check_evaluate(evaluate, data)\nprint(f"your evaluation: {accuracy:.4f}, no graph recorded")',
}


def torch_cells(tag: str, solution: bool = False) -> list[NotebookNode]:
    """The PyTorch part: a heading, its imports, then each exercise (tagged ``tag``) and its check cell."""
    cells = [markdown("## 4. Your first PyTorch: the network, the loss, the step, the evaluation\n\n"
                      "Now the other column: the same network as a learner writes it in PyTorch. Each cell below "
                      "is checked beside the book's NumPy network, on the same weights and digits, and the "
                      "check says in words what differs (a float32 network fed float64 digits, `nn.MSELoss()`, a "
                      "missing `optimizer.zero_grad()`, an evaluation that records a graph)."),
             code(SETUP)]
    for key, (head, answer) in zip(CHECKS, (NETWORK, LOSS, STEP, EVALUATE)):
        cells += [code(head + (answer if solution else STUB_BODY), tags=(tag,)), code(CHECKS[key])]
    return cells
