"""Grading the exercise notebook's cells: the learner's ``backward`` and their training step's update.

Each check cell runs the project's check inside ``explain_failure(name)``: when the learner's code is
still the stub the cell fails with "fill in NAME in the cell above"; when it is wrong, with the
diagnosis in plain words first (which gradient or parameter, which factor, the likely line of the book),
then the full table. ``check_update`` trains the book's network with the learner's step beside the
twin and ``optim.SGD`` in lockstep (``compare.learner.train``) and names the first step where they part.
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np

from ..data.load import Dataset, load_dataset
from ..gradcheck.diagnosis import LOCALISING, classify
from ..learner.adapt import subject
from ..learner.blame import call
from ..learner.book import squared_error
from ..learner.check import BackpropMismatch, check_batch
from ..learner.train import TrainingResult, train_lockstep
from ..twins.threads import same_threads

STUB = "NotImplementedError"
WHERE = (*LOCALISING, "first-difference")   # findings that say where, not which mistake: shown last
# The book's line where each kind of mistake usually lives (``NeuralNetMLP.backward``'s names).
LIKELY_LINE = {
    "factor-two": "d_loss__d_a_out = 2. * (a_out - y_onehot) / y.shape[0]",
    "loss-factor": "delta_out, the output's delta, where a constant factor of the whole gradient lives",
    "batch-reduction": "d_loss__d_a_out = 2. * (a_out - y_onehot) / y.shape[0]",
    "loss-reduction": "d_loss__d_a_out = 2. * (a_out - y_onehot) / y.shape[0]",
    "scale": "d_loss__d_a_out = 2. * (a_out - y_onehot) / y.shape[0]",
    "derivative-at-output": "d_a_h__d_z_h = a_h * (1. - a_h)",
    "missing-activation-derivative": "d_a_h__d_z_h = a_h * (1. - a_h)",
    "missing-output-derivative": "d_a_out__d_z_out = a_out * (1. - a_out)",
    "transposed": "d_loss__dw_out = np.dot(delta_out.T, a_h) and d_loss__d_w_h = np.dot(delta_h.T, x)",
    "shape": "d_loss__dw_out = np.dot(delta_out.T, a_h) and d_loss__d_w_h = np.dot(delta_h.T, x)",
    "sign-flip": "d_loss__d_a_out = 2. * (a_out - y_onehot) / y.shape[0]  (a_out - y, not y - a_out)",
}


class ExerciseFailed(AssertionError):
    """An exercise's check failed; the message is for the learner, plain words first."""


def _stub(raised: str | None) -> bool:
    return bool(raised) and STUB in str(raised)


def backward_diagnosis(report) -> str:
    """What is wrong with the learner's backward, from a failed ``CheckReport``: findings first, then the table."""
    if _stub(report.raised):
        return "fill in backward in the cell above: it still raises NotImplementedError"
    if report.raised:
        return f"{report.raised}\n\n{report.table()}"
    findings = sorted(report.findings, key=lambda f: f.kind in WHERE)   # the named mistake before "where"
    lines = [f"- {f.message}" for f in findings]
    likely = next((LIKELY_LINE[f.kind] for f in findings if f.kind in LIKELY_LINE), None)
    if likely:
        lines.append(f"- the likely line, in the book's backward: {likely}")
    return "your backward does not match autograd:\n" + "\n".join(lines) + "\n\n" + report.table(findings=False)


@contextmanager
def explain_failure(name: str):
    """Turn a failed check of the learner's ``name`` into ``ExerciseFailed`` with the diagnosis in words."""
    try:
        yield
    except BackpropMismatch as e:
        raise ExerciseFailed(backward_diagnosis(e.report)) from None


def show_plainly() -> None:
    """In IPython (a notebook's kernel): a failed check shows its message alone, without the frames of the
    checking code. The cell still fails with ``ExerciseFailed``, so nbclient and nbgrader see the error."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return

    def message_only(shell, etype, value, tb, tb_offset=None):
        shell.showtraceback((etype, value, tb), exception_only=True)

    shell.set_custom_exc((ExerciseFailed,), message_only)


class YourStep:
    """The book's network (a ``BookLearner``) whose training step is the learner's ``train_step``."""

    def __init__(self, learner, train_step):
        self.learner, self.train_step = learner, train_step

    def __getattr__(self, name):  # everything but ``step`` is the book's network, as the check sees it
        return getattr(self.learner, name)

    def step(self, X: np.ndarray, y: np.ndarray, lr: float) -> float:
        """Their ``train_step(model, X, y, lr)``; returns L before the update, as the twin's step does."""
        loss = squared_error(self.learner.forward(X)["a_out"], y)
        call(None, "train_step", self.train_step, self.learner.obj, X, y, lr)
        return loss


def update_hint(train_step, book_class, data: Dataset, seed: int, lr: float) -> str:
    """What their first step did to each parameter, against ``-lr * gradient``: sign, scale, nothing, another."""
    model = book_class(num_features=784, num_hidden=50, num_classes=10, random_seed=seed)
    X, y = check_batch(data, seed)
    before = {k: getattr(model, k).copy() for k in ("weight_h", "bias_h", "weight_out", "bias_out")}
    a_h, a_out = model.forward(X)
    grads = dict(zip(("weight_out", "bias_out", "weight_h", "bias_h"), model.backward(X, a_h, a_out, y)))
    try:
        train_step(model, X, y, lr)
    except Exception:  # noqa: BLE001  (their code; lockstep training has reported it already)
        return ""
    hints = []
    for name, g in grads.items():
        moved = np.asarray(getattr(model, name), dtype=np.float64) - before[name]
        kind, factor = classify(moved, -lr * g, 1e-9)
        if kind == "ok":
            continue
        if kind == "zero":
            hints.append(f"{name} did not move: subtract learning_rate * its gradient, in place (-=)")
        elif kind == "sign-flip":
            hints.append(f"{name} moved uphill: it must move against the gradient, {name} -= learning_rate * grad")
        elif kind == "scale" and factor is not None and np.isclose(factor, 1 / lr):
            hints.append(f"{name} moved by the whole gradient: multiply it by learning_rate")
        elif kind == "scale" and factor is not None:
            hints.append(f"{name} moved {factor:.3g} times as far as -learning_rate * gradient")
        else:
            hints.append(f"{name} moved by something other than -learning_rate * its own gradient: is the "
                         f"right gradient subtracted from it?")
    return "; ".join(hints)


def check_update(train_step, book_class, data: Dataset | None = None, seed: int = 123, epochs: int = 1,
                 lr: float = 0.1) -> TrainingResult:
    """Train ``book_class`` with the learner's ``train_step`` beside the twin and ``optim.SGD``, in lockstep.

    Returns the ``TrainingResult`` when every step matches; ``ExerciseFailed`` naming the first step
    where they part (or "fill in train_step" while it is the stub).
    """
    data = data if data is not None else load_dataset("mnist-5k", seed=seed)
    learner = subject(book_class, None, (784, 50, 10), seed, np.float64).make()
    with same_threads(1):   # small arrays, the two sides alternating: one thread each is fastest
        result = train_lockstep(YourStep(learner, train_step), data, epochs, 100, lr, seed)
    if _stub(result.stopped):
        raise ExerciseFailed("fill in train_step in the cell above: it still raises NotImplementedError")
    if result.stopped:
        raise ExerciseFailed(f"training stopped: {result.stopped}")
    if result.parted:
        p = result.parted
        hint = update_hint(train_step, book_class, data, seed, lr)
        raise ExerciseFailed(f"your train_step parts from optimizer.step() at epoch {p['epoch']}, step {p['step']}: "
                             f"the weights are {p['gap']:.2g} apart after the update, more than rounding explains "
                             f"({p['allowed']:.2g})" + (f". {hint}" if hint else ""))
    return result
