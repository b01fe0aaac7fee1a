"""A gallery of classic backprop mistakes, each a small readable class, each with its diagnosis.

The mutants here are the textbook backward of ``TeachingMLP`` with one step changed; the changed
line is marked ``# BUG``. Three of them mix up the targets of different examples, which only a batch
holding several classes can show: on a one-class batch ``onehot[:, y] = 1`` *is* the one-hot.
``mutants_softmax`` goes one step past the chapter (softmax outputs, an L2 penalty);
``mutants_book`` and ``mutants_deep`` add whole backwards written in the lesson's style, sharing no
code with the recognisers in ``compare.gradcheck.mistakes``.

Each mutant's name says where its bug is (``HiddenDerivativeAtActivation``, ``OutputDeltaMissingTwo``);
it names the finding for its mistake (``expected``), the Linear layer where the error enters
(``enters_at``) and the line that would be right in place of its ``# BUG`` line (``correct``;
``bug_line`` reads both, for the gallery's page). ``mlp-compare gradcheck --mutants`` runs them all through ``check_gradients``
and counts a mutant as caught when the check fails and the diagnosis is right: *precise* when a
finding names the mistake, *generic* when only "the error enters at layer k" (or "local to these
parameters") points at the right layer. Any finding that says something else (another mistake, the
wrong layer, blame on the twin) means not caught. Each mutant is also checked on the batch's rows of
one class, to show what a one-class batch would have missed.

Lesson: each one is a line of ``NeuralNetMLP.backward`` gone wrong in the way learners get it wrong.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

import numpy as np

from scratch.activations import sigmoid
from scratch.losses import onehot

from .check import GradientReport, check_gradients
from .diagnosis import LOCALISING, layer_of
from .mutants_book import BOOK_MUTANTS
from .mutants_deep import DEEP_MUTANTS
from .mutants_softmax import SOFTMAX_MUTANTS
from .teaching import GALLERY_SIZES, TeachingMLP


def _mse_delta(out, y, scale=2.0, per=None):
    n = out.shape[0] if per is None else per
    return scale * (out - onehot(y, out.shape[1], out.dtype)) / n * out * (1 - out)


class OutputDeltaMeanOverClasses(TeachingMLP):
    """Divides by n x num_classes, as nn.MSELoss() and the lesson's printed MSE do."""
    expected, enters_at = "loss-reduction", 2
    correct = "return _mse_delta(out, y)"

    def output_delta(self, out, y):
        return _mse_delta(out, y, per=out.shape[0] * out.shape[1])  # BUG: mean over classes as well


class OutputDeltaSumsOverBatch(TeachingMLP):
    """Forgets to divide by the batch size n: the loss is summed over the examples."""
    expected, enters_at = "batch-reduction", 2
    correct = "return _mse_delta(out, y)"

    def output_delta(self, out, y):
        return _mse_delta(out, y, per=1)  # BUG: no / n


class OutputDeltaMissingTwo(TeachingMLP):
    """Writes d(a - y)^2/da as (a - y), dropping the 2."""
    expected, enters_at = "factor-two", 2
    correct = "return _mse_delta(out, y)"

    def output_delta(self, out, y):
        return _mse_delta(out, y, scale=1.0)  # BUG: 2 * (a - y) / n is right


class OutputDeltaSignFlipped(TeachingMLP):
    """Computes (y - a) instead of (a - y): every gradient points uphill."""
    expected, enters_at = "sign-flip", 2
    correct = "return _mse_delta(out, y)"

    def output_delta(self, out, y):
        return -_mse_delta(out, y)  # BUG: sign


class HiddenBiasesForgotten(TeachingMLP):
    """Never computes the hidden layers' bias gradients (they stay zero)."""
    expected, enters_at = "zero-gradient", 1
    correct = "return delta.sum(axis=0)"

    def bias_gradient(self, delta, layer):
        if layer < 2:
            return np.zeros(delta.shape[1], dtype=delta.dtype)  # BUG: should be delta.sum(axis=0)
        return delta.sum(axis=0)


class MissingOutputBias(TeachingMLP):
    """Returns no gradient at all for the output layer's bias."""
    expected, enters_at = "missing-gradient", 2
    correct = "return delta.sum(axis=0)"

    def bias_gradient(self, delta, layer):
        return None if layer == 2 else delta.sum(axis=0)  # BUG: the output bias is left out


class EveryBiasMeanNotSum(TeachingMLP):
    """Averages delta over the batch for the bias gradient: dL/db is a sum (the 1/n is already in delta)."""
    expected, enters_at = "batch-reduction", 2
    correct = "return delta.sum(axis=0)"

    def bias_gradient(self, delta, layer):
        return delta.mean(axis=0)  # BUG: divides by n a second time


class EveryWeightGradientTransposed(TeachingMLP):
    """Writes a_in.T @ delta: shape (in, out), the transpose of W's (out, in)."""
    expected, enters_at = "transposed", 2
    correct = "return delta.T @ a_in"

    def weight_gradient(self, delta, a_in, layer):
        return a_in.T @ delta  # BUG: delta.T @ a_in


class HiddenDerivativeAtActivation(TeachingMLP):
    """Applies sigmoid again inside the derivative: sigma'(a) where sigma'(z) = a (1 - a) is needed."""
    expected, enters_at = "derivative-at-output", 1
    correct = "return a * (1 - a)"

    def hidden_derivative(self, a, hidden):
        return sigmoid(a) * (1 - sigmoid(a))  # BUG: a is already sigmoid(z)


class MissingHiddenDerivative(TeachingMLP):
    """Back-propagates delta @ W without the hidden activation's derivative."""
    expected, enters_at = "missing-activation-derivative", 1
    correct = "return a * (1 - a)"

    def hidden_derivative(self, a, hidden):
        return np.ones_like(a)  # BUG: forgot a * (1 - a)


class MissingOutputDerivative(TeachingMLP):
    """Uses dL/da_out as if it were dL/dz_out, skipping the output sigmoid's derivative."""
    expected, enters_at = "missing-output-derivative", 2
    correct = "return _mse_delta(out, y)"

    def output_delta(self, out, y):
        return 2 * (out - onehot(y, out.shape[1], out.dtype)) / out.shape[0]  # BUG: no * a_out (1 - a_out)


class HiddenReluThroughDeadUnits(TeachingMLP):
    """ReLU network whose derivative is (a >= 0): 1 everywhere, even where the unit is off."""
    expected, enters_at = "missing-activation-derivative", 1
    correct = "return (a > 0).astype(a.dtype)"
    network = {"activation": "relu"}

    def hidden_derivative(self, a, hidden):
        return (a >= 0).astype(a.dtype)  # BUG: (a > 0); a = relu(z) is never negative


class HiddenTanhDerivativeFormula(TeachingMLP):
    """tanh network whose derivative is written 1 - a instead of 1 - a**2."""
    expected, enters_at = "derivative-formula", 1
    correct = "return 1 - a ** 2"
    network = {"activation": "tanh"}

    def hidden_derivative(self, a, hidden):
        return 1 - a  # BUG: 1 - a**2


class Hidden2SkipsDerivative(TeachingMLP):
    """Forgets the derivative in one place only: going from the second hidden layer to the first.

    No recogniser recomputes this one; the diagnosis can only say where the error enters."""
    expected, enters_at = "missing-activation-derivative", 1
    correct = "return a * (1 - a)"

    def hidden_derivative(self, a, hidden):
        if hidden == 2:
            return np.ones_like(a)  # BUG: only here; the other layer is right
        return a * (1 - a)


class OnehotWholeColumns(TeachingMLP):
    """Builds the one-hot as onehot[:, y] = 1: every row gets a 1 in every class the batch holds."""
    expected, enters_at = "targets-mixed", 2
    correct = "target[np.arange(out.shape[0]), y] = 1"

    def output_delta(self, out, y):
        target = np.zeros_like(out)
        target[:, y] = 1  # BUG: onehot[np.arange(n), y] = 1
        return 2 * (out - target) / out.shape[0] * out * (1 - out)


class OnehotLabelsOffByOne(TeachingMLP):
    """Indexes the one-hot with y - 1: every example is trained towards the class below its own."""
    expected, enters_at = "label-shift", 2
    correct = "target[np.arange(out.shape[0]), y] = 1"

    def output_delta(self, out, y):
        target = np.zeros_like(out)
        target[np.arange(out.shape[0]), y - 1] = 1  # BUG: y, not y - 1
        return 2 * (out - target) / out.shape[0] * out * (1 - out)


class OnehotOfAnotherRow(TeachingMLP):
    """Takes each example's target from the row before it: labels out of step with the rows of X."""
    expected, enters_at = "targets-mixed", 2
    correct = "return _mse_delta(out, y)"

    def output_delta(self, out, y):
        return _mse_delta(out, np.roll(y, 1))  # BUG: row i's target is y[i]


MUTANTS = [OutputDeltaMeanOverClasses, OutputDeltaSumsOverBatch, OutputDeltaMissingTwo, OutputDeltaSignFlipped, HiddenBiasesForgotten,
           MissingOutputBias, EveryBiasMeanNotSum, EveryWeightGradientTransposed, HiddenDerivativeAtActivation,
           MissingHiddenDerivative, MissingOutputDerivative, HiddenReluThroughDeadUnits, HiddenTanhDerivativeFormula,
           Hidden2SkipsDerivative, OnehotWholeColumns, OnehotLabelsOffByOne, OnehotOfAnotherRow,
           *SOFTMAX_MUTANTS, *BOOK_MUTANTS, *DEEP_MUTANTS]
INDEPENDENT = [*BOOK_MUTANTS, *DEEP_MUTANTS]  # written apart from the recognisers


def bug_line(mutant: Any) -> tuple[str, str, str]:
    """(the buggy line, its ``# BUG`` comment, the correct line): read from the mutant's own source."""
    line = next(ln for ln in inspect.getsource(mutant).splitlines() if "# BUG" in ln)
    code, _, note = line.partition("# BUG")
    return code.strip(), note.lstrip(": ").strip(), mutant.correct


def build(mutant: type, seed: int = 123):
    """The mutant's network with the lesson's initialisation for ``seed``."""
    if hasattr(mutant, "create"):
        return mutant.create(seed)
    spec = {"activation": "sigmoid", "loss": "mse", **getattr(mutant, "network", {})}
    return mutant(GALLERY_SIZES, spec["activation"], spec["loss"], seed=seed)


def judge(mutant: Any, report: GradientReport) -> tuple[bool, str]:
    """(caught, how): how is "precise", "generic", "missed" (the check passed), "no diagnosis", or
    "wrong: ..." when a finding names another mistake or the findings point at another layer."""
    if report.passed:
        return False, "missed"
    kinds = [f.kind for f in report.diagnosis]
    foreign = [k for k in kinds if k not in (mutant.expected, *LOCALISING)]
    params = {p for f in report.diagnosis for p in f.params}
    top = max((layer_of(p) for p in params), default=None)
    if foreign or top != mutant.enters_at:
        return False, "wrong: " + ", ".join(foreign or [f"layer {top}, not {mutant.enters_at}"])
    if mutant.expected in kinds:
        return True, "precise"
    if "first-wrong-layer" in kinds or "wrong" in kinds:
        return True, "generic"
    return False, "no diagnosis"


@dataclass
class GalleryResult:
    mutant: Any             # a mutant class: expected, enters_at, a docstring
    network: str            # "784-16-12-10 sigmoid", then the loss when not the book's, and any l2
    report: GradientReport
    caught: bool
    how: str                # see ``judge``
    one_class_caught: bool  # did the check fail on the batch's rows of its most frequent class?

    @property
    def independent(self) -> bool:
        return self.mutant in INDEPENDENT


def run_gallery(X: np.ndarray, y: np.ndarray) -> list[GalleryResult]:
    """Check every mutant on (X (B, 784), y (B,)), and again on the rows of y's most frequent class."""
    one = y == np.bincount(y).argmax()
    results = []
    for mutant in MUTANTS:
        names, model = getattr(mutant, "names", None), build(mutant)
        report = check_gradients(model, X, y, names=names)
        alone = check_gradients(model, X[one], y[one], names=names)
        l2 = getattr(model, "l2", 0.0)
        extra = [model.loss_name] * (model.loss_name != "mse") + [f"l2 {l2:g}"] * bool(l2)
        network = " ".join([f"{'-'.join(map(str, model.sizes))} {model.activation}", *extra])
        results.append(GalleryResult(mutant, network, report, *judge(mutant, report), not alone.passed))
    return results
