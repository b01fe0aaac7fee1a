"""A gallery of classic backprop mistakes, each a small readable subclass, each with its diagnosis.

Every mutant is the textbook backward of ``TeachingMLP`` with one step changed; the changed line
is marked ``# BUG``. ``mlp-compare gradcheck --mutants`` runs them all through ``check_gradients``
and counts a mutant as caught only when the check fails *and* the diagnosis names its mistake.

Lesson: each one is a line of ``NeuralNetMLP.backward`` gone wrong in the way learners get it wrong.
"""

from __future__ import annotations

import numpy as np

from scratch.activations import sigmoid
from scratch.losses import onehot

from .gradcheck import GradientReport, check_gradients
from .teaching import TeachingMLP

GALLERY_SIZES = [784, 16, 12, 10]  # two hidden layers, so "the first wrong layer" can be seen


def _mse_delta(out, y, scale=2.0, per=None):
    n = out.shape[0] if per is None else per
    return scale * (out - onehot(y, out.shape[1], out.dtype)) / n * out * (1 - out)


class MeanOverClasses(TeachingMLP):
    """Divides by n x num_classes, as nn.MSELoss() and the lesson's printed MSE do."""
    expected = "loss-reduction"

    def output_delta(self, out, y):
        return _mse_delta(out, y, per=out.shape[0] * out.shape[1])  # BUG: mean over classes as well


class SumOverBatch(TeachingMLP):
    """Forgets to divide by the batch size n: the loss is summed over the examples."""
    expected = "batch-reduction"

    def output_delta(self, out, y):
        return _mse_delta(out, y, per=1)  # BUG: no / n


class MissingFactorTwo(TeachingMLP):
    """Writes d(a - y)^2/da as (a - y), dropping the 2."""
    expected = "factor-two"

    def output_delta(self, out, y):
        return _mse_delta(out, y, scale=1.0)  # BUG: 2 * (a - y) / n is right


class GradientAscent(TeachingMLP):
    """Computes (y - a) instead of (a - y): every gradient points uphill."""
    expected = "sign-flip"

    def output_delta(self, out, y):
        return -_mse_delta(out, y)  # BUG: sign


class ForgottenBias(TeachingMLP):
    """Never computes the hidden layers' bias gradients (they stay zero)."""
    expected = "zero-gradient"

    def bias_gradient(self, delta, layer):
        if layer < 2:
            return np.zeros(delta.shape[1], dtype=delta.dtype)  # BUG: should be delta.sum(axis=0)
        return delta.sum(axis=0)


class MissingOutputBias(TeachingMLP):
    """Returns no gradient at all for the output layer's bias."""
    expected = "missing-gradient"

    def bias_gradient(self, delta, layer):
        return None if layer == 2 else delta.sum(axis=0)  # BUG: the output bias is left out


class BiasMeanNotSum(TeachingMLP):
    """Averages delta over the batch for the bias gradient: dL/db is a sum (the 1/n is already in delta)."""
    expected = "batch-reduction"

    def bias_gradient(self, delta, layer):
        return delta.mean(axis=0)  # BUG: divides by n a second time


class TransposedWeightGradient(TeachingMLP):
    """Writes a_in.T @ delta: shape (in, out), the transpose of W's (out, in)."""
    expected = "transposed"

    def weight_gradient(self, delta, a_in, layer):
        return a_in.T @ delta  # BUG: delta.T @ a_in


class DerivativeAtOutput(TeachingMLP):
    """Applies sigmoid again inside the derivative: sigma'(a) where sigma'(z) = a (1 - a) is needed."""
    expected = "derivative-at-output"

    def hidden_derivative(self, a, layer):
        return sigmoid(a) * (1 - sigmoid(a))  # BUG: a is already sigmoid(z)


class MissingHiddenDerivative(TeachingMLP):
    """Back-propagates delta @ W without the hidden activation's derivative."""
    expected = "missing-activation-derivative"

    def hidden_derivative(self, a, layer):
        return np.ones_like(a)  # BUG: forgot a * (1 - a)


class MissingOutputDerivative(TeachingMLP):
    """Uses dL/da_out as if it were dL/dz_out, skipping the output sigmoid's derivative."""
    expected = "missing-output-derivative"

    def output_delta(self, out, y):
        return 2 * (out - onehot(y, out.shape[1], out.dtype)) / out.shape[0]  # BUG: no * a_out (1 - a_out)


class ReluThroughDeadUnits(TeachingMLP):
    """ReLU network whose derivative is (a >= 0): 1 everywhere, even where the unit is off."""
    expected = "missing-activation-derivative"
    network = {"activation": "relu"}

    def hidden_derivative(self, a, layer):
        return (a >= 0).astype(a.dtype)  # BUG: (a > 0); a = relu(z) is never negative


class TanhDerivativeFormula(TeachingMLP):
    """tanh network whose derivative is written 1 - a instead of 1 - a**2."""
    expected = "derivative-formula"
    network = {"activation": "tanh"}

    def hidden_derivative(self, a, layer):
        return 1 - a  # BUG: 1 - a**2


class OneLayerSkipsDerivative(TeachingMLP):
    """Forgets the derivative in one place only: going from the second hidden layer to the first."""
    expected = "first-wrong-layer"

    def hidden_derivative(self, a, layer):
        if layer == 2:
            return np.ones_like(a)  # BUG: only here; the other layer is right
        return a * (1 - a)


MUTANTS = [MeanOverClasses, SumOverBatch, MissingFactorTwo, GradientAscent, ForgottenBias,
           MissingOutputBias, BiasMeanNotSum, TransposedWeightGradient, DerivativeAtOutput,
           MissingHiddenDerivative, MissingOutputDerivative, ReluThroughDeadUnits, TanhDerivativeFormula,
           OneLayerSkipsDerivative]


def build(mutant: type[TeachingMLP], seed: int = 123) -> TeachingMLP:
    spec = {"activation": "sigmoid", "loss": "mse", **getattr(mutant, "network", {})}
    return mutant(GALLERY_SIZES, spec["activation"], spec["loss"], seed=seed)


def run_gallery(X: np.ndarray, y: np.ndarray) -> list[tuple[type, GradientReport, bool]]:
    """Check every mutant on (X (B, 784), y (B,)); returns ``(mutant, report, caught)`` for each."""
    results = []
    for mutant in MUTANTS:
        report = check_gradients(build(mutant), X, y)
        caught = not report.passed and mutant.expected in {f.kind for f in report.diagnosis}
        results.append((mutant, report, caught))
    return results
