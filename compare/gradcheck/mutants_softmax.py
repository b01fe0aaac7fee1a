"""Mutants one step past the chapter: a softmax output, and an L2 penalty. Each is ``TeachingMLP``'s
backward with one step changed (the ``# BUG`` line), on the network its ``network`` names.

- the book's ``2.`` left in the output delta when the sigmoid became a softmax with cross-entropy;
- a softmax kept with the squared error, its delta handed down without the softmax's Jacobian;
- an L2 penalty whose gradient reaches the biases too (weight decay, and ``--l2``, are for the weights).

Lesson: the chapter's closing remarks on softmax, cross-entropy and regularisation.
"""

from __future__ import annotations

import numpy as np

from scratch.losses import onehot, softmax, softmax_mse_delta  # noqa: F401  (the last: a correct line)

from .teaching import GALLERY_SIZES, TeachingMLP

L2 = 0.01   # the penalised mutant's λ in λ‖W‖²


class OutputDeltaSoftmaxStaleTwo(TeachingMLP):
    """Switches to softmax + cross-entropy and keeps the book's 2 in the output delta: every gradient doubles."""
    expected, enters_at = "factor-two", 2
    network = {"loss": "cross_entropy"}
    correct = "return (softmax(out) - onehot(y, out.shape[1], out.dtype)) / out.shape[0]"

    def output_delta(self, out, y):
        return 2. * (softmax(out) - onehot(y, out.shape[1], out.dtype)) / out.shape[0]  # BUG: the 2 of (a - y)**2


class OutputDeltaSoftmaxWithoutJacobian(TeachingMLP):
    """Keeps the squared error under a softmax and hands d_loss/d_a_out down as if the softmax were not there."""
    expected, enters_at = "missing-softmax-jacobian", 2
    network = {"loss": "softmax_mse"}
    correct = "return softmax_mse_delta(out, y)"

    def output_delta(self, out, y):
        return 2. * (out - onehot(y, out.shape[1], out.dtype)) / out.shape[0]  # BUG: no softmax Jacobian


class EveryBiasPenalised(TeachingMLP):
    """Adds the gradient of an L2 penalty to every bias as well as every weight; its loss penalises the weights."""
    expected, enters_at = "l2-on-biases", 2
    l2 = L2
    correct = "return delta.sum(axis=0)"

    @classmethod
    def create(cls, seed: int = 123) -> EveryBiasPenalised:
        """With non-zero biases: at the book's zero biases a penalty on them adds nothing to see."""
        model = cls(GALLERY_SIZES, seed=seed)
        rng = np.random.default_rng(seed)
        for _, b in model.layers():
            b[...] = rng.normal(0.0, 0.1, b.shape)
        return model

    def loss(self, X, y):
        return super().loss(X, y) + self.l2 * sum(float(np.sum(W * W)) for W, _ in self.layers())

    def weight_gradient(self, delta, a_in, layer):
        return delta.T @ a_in + 2 * self.l2 * self.layers()[layer][0]

    def bias_gradient(self, delta, layer):
        return delta.sum(axis=0) + 2 * self.l2 * self.layers()[layer][1]  # BUG: weight decay is for the weights


SOFTMAX_MUTANTS = [OutputDeltaSoftmaxStaleTwo, OutputDeltaSoftmaxWithoutJacobian, EveryBiasPenalised]
