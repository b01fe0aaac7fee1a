"""``exercise.ipynb``: the heart of the lesson left to the learner, each answer checked against PyTorch.

Cells tagged ``exercise`` (cell metadata ``tags``): the book's ``backward``, the training step's update,
one step past the chapter the backward of a softmax output with cross-entropy, then the PyTorch side
(``exercise_torch``: the network, the loss, the training step, the evaluation). The cell after
each checks it (``compare.assert_backprop_matches``, which finds the softmax and checks against it; lockstep
training beside ``optim.SGD``) and fails, in plain words, when it is wrong or still the stub. ``solution=True``
writes the same cells with the same tags; only the bodies of the exercise cells differ.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from nbformat import NotebookNode

from .exercise_torch import torch_cells
from .notebook import INSTALL, code, markdown, notebook, quote, write_notebook

TAG = "exercise"
STUB_BODY = '    raise NotImplementedError("your code here")\n'

BACKWARD_HEAD = '''def backward(self, x, a_h, a_out, y):
    """The gradients of the loss L with respect to the four parameters, output layer first.

    L = squared error summed over the 10 classes, mean over the n examples:
    L = ((a_out - y_onehot) ** 2).sum(axis=1).mean()

    x (n, 784), a_h (n, 50) and a_out (n, 10) come from forward(x); y (n,) holds the labels.

    Part 1: dLoss/dOutWeights
        = dLoss/dOutAct * dOutAct/dOutNet * dOutNet/dOutWeight
        where DeltaOut = dLoss/dOutAct * dOutAct/dOutNet, for convenient re-use
    Part 2: dLoss/dHiddenWeights
        = DeltaOut * dOutNet/dHiddenAct * dHiddenAct/dHiddenNet * dHiddenNet/dWeight
    The sigmoid's derivative is sigma'(z) = sigma(z) * (1 - sigma(z)): written from a = sigma(z), a * (1 - a).

    Returns, in this order (each with its parameter's shape):
        d_loss__dw_out (10, 50), d_loss__db_out (10,), d_loss__d_w_h (50, 784), d_loss__d_b_h (50,)
    """
'''
# A correct backward written for this notebook, not copied from scratch/lesson.py: the teacher's answer.
BACKWARD_SOLUTION = '''    n = x.shape[0]
    y_onehot = int_to_onehot(y, self.num_classes)             # (n, 10)
    # output layer: DeltaOut = dL/da_out * sigma'(z_out), (n, 10)
    d_loss__d_a_out = 2. * (a_out - y_onehot) / n
    delta_out = d_loss__d_a_out * a_out * (1. - a_out)
    d_loss__dw_out = delta_out.T @ a_h                        # (10, 50)
    d_loss__db_out = delta_out.sum(axis=0)                    # (10,)
    # hidden layer: DeltaOut handed down through weight_out, times sigma'(z_h), (n, 50)
    delta_h = (delta_out @ self.weight_out) * a_h * (1. - a_h)
    d_loss__d_w_h = delta_h.T @ x                             # (50, 784)
    d_loss__d_b_h = delta_h.sum(axis=0)                       # (50,)
    return d_loss__dw_out, d_loss__db_out, d_loss__d_w_h, d_loss__d_b_h
'''

STEP_HEAD = '''def train_step(model, x, y, learning_rate):
    """One mini-batch step of the book's train(): forward, backward, then the update.

    x (n, 784), y (n,). Move each of model.weight_out (10, 50), model.bias_out (10,), model.weight_h (50, 784)
    and model.bias_h (50,) against its gradient by learning_rate, in place; return nothing.
    """
    a_h, a_out = model.forward(x)
    d_loss__dw_out, d_loss__db_out, d_loss__d_w_h, d_loss__d_b_h = model.backward(x, a_h, a_out, y)
'''
STEP_SOLUTION = '''    model.weight_out -= learning_rate * d_loss__dw_out
    model.bias_out -= learning_rate * d_loss__db_out
    model.weight_h -= learning_rate * d_loss__d_w_h
    model.bias_h -= learning_rate * d_loss__d_b_h
'''

SOFTMAX_NET = '''class SoftmaxNet(scratch.NeuralNetMLP):
    """The book's network with the softmax output the chapter ends on: a_out's rows sum to 1."""

    def forward(self, x):
        z_h = np.dot(x, self.weight_h.T) + self.bias_h              # (n, 50)
        a_h = sigmoid(z_h)
        z_out = np.dot(a_h, self.weight_out.T) + self.bias_out      # (n, 10)
        e = np.exp(z_out - z_out.max(axis=1, keepdims=True))        # max-shifted: exp never overflows
        a_out = e / e.sum(axis=1, keepdims=True)                    # softmax, (n, 10)
        return a_h, a_out
'''

SOFTMAX_HEAD = '''def backward_softmax(self, x, a_h, a_out, y):
    """The four gradients of softmax + cross-entropy, output layer first, for SoftmaxNet above.

    L = -mean over the n examples of log a_out[i, y_i], with a_out = softmax(z_out).
    Work out dL/dz_out through the softmax first: it is simpler than the book's delta. The hidden layer is
    the book's.

    Returns d_loss__dw_out (10, 50), d_loss__db_out (10,), d_loss__d_w_h (50, 784), d_loss__d_b_h (50,).
    """
'''
SOFTMAX_SOLUTION = '''    n = x.shape[0]
    delta_out = (a_out - int_to_onehot(y, self.num_classes)) / n   # dL/dz_out, (n, 10)
    d_loss__dw_out = delta_out.T @ a_h                             # (10, 50)
    d_loss__db_out = delta_out.sum(axis=0)                         # (10,)
    delta_h = (delta_out @ self.weight_out) * a_h * (1. - a_h)     # (n, 50)
    return d_loss__dw_out, d_loss__db_out, delta_h.T @ x, delta_h.sum(axis=0)
'''

SETUP = """\
import numpy as np

import compare
import scratch
from compare.lesson.grade import check_update, explain_failure, show_plainly
from scratch import int_to_onehot
from scratch.activations import sigmoid

show_plainly()   # a failed check shows its message alone, not the checking code's frames

SEED = {seed}
data = compare.load_dataset("mnist-5k", seed=SEED)   # 5,000 real digits, embedded: no download
print(data.X_train.shape, data.y_train.shape)"""

CHECK_BACKWARD = """\
class NeuralNetMLP(scratch.NeuralNetMLP):
    \"\"\"The book's network, with your backward.\"\"\"

NeuralNetMLP.backward = backward   # your cell above

with explain_failure("backward"):
    report = compare.assert_backprop_matches(NeuralNetMLP, epochs=0, data=data)
print(report.table())
print("your backward matches autograd")"""

CHECK_SOFTMAX = """\
SoftmaxNet.backward = backward_softmax   # your cell above

with explain_failure("backward_softmax"):
    report = compare.assert_backprop_matches(SoftmaxNet, epochs=0, data=data, loss="cross_entropy")
print(report.table())
print("your softmax + cross-entropy backward matches autograd")"""

CHECK_STEP = """\
result = check_update(train_step, scratch.NeuralNetMLP, data=data, epochs=1)
print(f"{result.steps_per_epoch} steps beside optimizer.step(): weights at most {result.largest_gap:.2g} apart")
print("your update matches optimizer.step()")"""


def exercise_cells(solution: bool = False, seed: int = 123) -> list[NotebookNode]:
    backward_body = BACKWARD_SOLUTION if solution else STUB_BODY
    step_body = STEP_SOLUTION if solution else STUB_BODY
    softmax_body = SOFTMAX_SOLUTION if solution else STUB_BODY
    return [
        markdown("# Exercise: write the backward pass, and the update, yourself\n\n"
                 "The cells tagged `exercise` are yours. Fill one in, run it, then run the check cell below it: "
                 "the check compares your code with PyTorch's autograd on real digits and says, in words, what "
                 "differs. Run the setup cell first." + INSTALL),
        code(SETUP.format(seed=seed)),
        markdown("## 1. The backward pass\n\nThe forward pass below is the book's (quoted from the project). Write "
                 "`backward`: the chain rule, layer by layer, from the output back to the hidden layer. The check "
                 "attaches it to a `NeuralNetMLP` and compares every intermediate value and gradient with "
                 "autograd, finite differences and directional derivatives."),
        quote("scratch.lesson:NeuralNetMLP.forward"),
        code(BACKWARD_HEAD + backward_body, tags=(TAG,)),
        code(CHECK_BACKWARD),
        markdown("## 2. The update\n\nA training step ends by moving every weight and bias against its gradient. "
                 "Write the update; the check trains the book's network with your step for one epoch beside an "
                 "`nn.Sequential` trained with `optimizer.step()`, from the same weights on the same batches, and "
                 "names the first step where they part. It uses the book's backward, so it checks the update alone."),
        code(STEP_HEAD + step_body, tags=(TAG,)),
        code(CHECK_STEP),
        markdown("## 3. One step past the chapter: softmax + cross-entropy\n\nThe chapter ends by pointing at a "
                 "softmax output trained with cross-entropy. `SoftmaxNet` below is the book's network with that "
                 "output. Write its backward: the check finds the softmax from your forward, builds the twin with "
                 "`nn.CrossEntropyLoss()` to match, and says in words what differs (a 2 left over from the squared "
                 "error is named)."),
        code(SOFTMAX_NET),
        code(SOFTMAX_HEAD + softmax_body, tags=(TAG,)),
        code(CHECK_SOFTMAX),
        *torch_cells(TAG, solution),
    ]


def exercise_notebook(solution: bool = False, seed: int = 123) -> NotebookNode:
    return notebook(exercise_cells(solution, seed))


def write_exercise_notebook(out: Path, solution: bool = False, seed: int = 123) -> Path:
    """Write ``out/exercise.ipynb`` (with the reference answers when ``solution``); returns its path."""
    return write_notebook(exercise_notebook(solution, seed), Path(out) / "exercise.ipynb")


ANSWER_SCRIPT_HEAD = '''"""The book's network with my own backward: the exercise's first part, handed in as a script."""

import numpy as np

import scratch


def int_to_onehot(y, num_labels):
    onehot = np.zeros((y.shape[0], num_labels))
    onehot[np.arange(y.shape[0]), y] = 1.
    return onehot


class NeuralNetMLP(scratch.NeuralNetMLP):
    """The book's forward (inherited, as the notebook's scaffold has it); the backward is mine."""

'''


def answer_script() -> str:
    """The first exercise's reference answer as a learner hands it in: a ``.py`` file for ``mlp-compare check``
    (the forward inherited from ``scratch.NeuralNetMLP``, the backward and its one-hot helper the learner's own)."""
    return ANSWER_SCRIPT_HEAD + textwrap.indent(BACKWARD_HEAD + BACKWARD_SOLUTION, "    ")
