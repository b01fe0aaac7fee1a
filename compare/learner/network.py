"""What network did the learner build? Found from their own forward, so the twin can be built to match.

The chapter ends by pointing at softmax with cross-entropy, and learners follow it. On the checked batch,
each of their hidden outputs is compared with sigmoid, tanh and ReLU of ``z`` (their previous output times
their weights, plus their bias), and their ``a_out`` with a sigmoid, a softmax (rows that sum to 1) and
``z`` itself (logits). The twin then gets the same hidden units and the loss that output goes with:

| their output | the twin's loss | its gradient at the output |
|---|---|---|
| sigmoid | squared error summed over classes (the book's) | ``2 (a_out - onehot) / n * a_out (1 - a_out)`` |
| softmax | cross-entropy | ``(a_out - onehot) / n`` |
| logits | softmax + cross-entropy | ``(softmax(a_out) - onehot) / n`` |

Which loss their backward really differentiates is then judged by the gradient check; a backward whose
gradients are those of cross-entropy times a constant is named for it (``loss_words``).

Lesson: the chapter's closing remark on softmax and cross-entropy; ``forward`` of ``NeuralNetMLP``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from scratch.activations import sigmoid
from scratch.losses import softmax

# Relative to the largest value: their activation recomputed in float64 matches far closer than this, in the
# check's dtype (float32 rounding reaches a few 1e-6).
CLOSE = {"float64": 1e-6, "float32": 1e-4}
HIDDEN: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "sigmoid": sigmoid, "tanh": np.tanh, "relu": lambda z: np.maximum(z, 0.0)}
OUTPUT: dict[str, Callable[[np.ndarray], np.ndarray]] = {"sigmoid": sigmoid, "softmax": softmax, "logits": lambda z: z}
LOSS_OF = {"sigmoid": "mse", "softmax": "cross_entropy", "logits": "cross_entropy"}
BOOK = ("sigmoid", "sigmoid")


@dataclass(frozen=True)
class Network:
    """The learner's hidden activation and output, and what the twin is built with to match them."""

    activation: str = "sigmoid"   # every hidden layer's
    output: str = "sigmoid"       # "sigmoid", "softmax" or "logits"

    @property
    def loss_name(self) -> str:
        return LOSS_OF[self.output]

    @property
    def is_book(self) -> bool:
        return (self.activation, self.output) == BOOK

    def words(self) -> str:
        """``"softmax outputs, sigmoid hidden units"``."""
        out = "logits (no output activation)" if self.output == "logits" else f"{self.output} outputs"
        return f"{out}, {self.activation} hidden units"

    def loss_words(self) -> str:
        return ("squared error summed over the classes" if self.loss_name == "mse" else
                f"{'softmax + ' if self.output == 'logits' else ''}cross-entropy")


def matches(a: np.ndarray, b: np.ndarray, dtype) -> bool:
    """``a`` equals ``b`` up to ``CLOSE`` (by dtype) of ``b``'s largest value, shapes alike."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    scale = max(float(np.max(np.abs(b), initial=0.0)), 1e-300)
    return a.shape == b.shape and bool(np.max(np.abs(a - b), initial=0.0) <= CLOSE[np.dtype(dtype).name] * scale)


def found_network(learner, X: np.ndarray) -> Network | None:
    """The network their forward computes on ``X``, judged layer by layer from their own values. None when a
    hidden layer is none of these; when only the output is, its hidden units with the book's sigmoid output
    (the forward check then says what differs in the output layer, not in the layers that are right)."""
    saved = learner.snapshot()
    try:
        outputs = learner.forward(X.copy())
    finally:
        learner.restore(saved)
    state = {k: np.asarray(v, dtype=np.float64) for k, v in learner.state_dict().items()}
    a_in = np.asarray(X, dtype=np.float64)
    hidden: set[str] = set()
    output = None
    for layer, key in enumerate(learner.outputs):
        z = a_in @ state[f"{2 * layer}.weight"].T + state[f"{2 * layer}.bias"]
        mine = outputs[key]
        if key == learner.outputs[-1]:
            output = next((name for name, f in OUTPUT.items() if matches(mine, f(z), learner.dtype)), None)
        else:
            fits = [name for name, f in HIDDEN.items() if matches(mine, f(z), learner.dtype)]
            if not fits:
                return None
            hidden.add(fits[0])
        a_in = np.asarray(mine, dtype=np.float64)
    if len(hidden) != 1:
        return None
    return Network(hidden.pop(), output or "sigmoid")


def book_delta_fits(a_out: np.ndarray, y: np.ndarray, d_bias_out: np.ndarray, dtype) -> bool:
    """Whether their output bias's gradient is the book's sigmoid + squared-error one, computed from their
    own ``a_out``: ``sum(2 (a_out - onehot) / n * a_out (1 - a_out))``. So logits under the book's backward
    read as a sigmoid left out of forward, not as a cross-entropy network."""
    a = np.asarray(a_out, dtype=np.float64)
    onehot = np.eye(a.shape[1])[np.asarray(y)]
    book = (2.0 * (a - onehot) / a.shape[0] * a * (1.0 - a)).sum(axis=0)
    return matches(d_bias_out, book, dtype)


def factor_of(theirs: dict[str, np.ndarray], reference: dict[str, np.ndarray], dtype) -> float | None:
    """The constant ``c`` > 0 with ``theirs == c * reference`` for every parameter (within rounding), or None
    (also for c = 1: that is no factor; a zero or a flipped sign is left to the gradient check's words)."""
    num = sum(float(np.vdot(theirs[k], reference[k])) for k in reference)
    den = sum(float(np.vdot(reference[k], reference[k])) for k in reference)
    if den == 0 or num <= 0:
        return None
    c = num / den
    fits = all(matches(theirs[k], c * reference[k], dtype) for k in reference)
    return c if fits and abs(c - 1) > CLOSE[np.dtype(dtype).name] else None


def scaled_loss_finding(network: Network, c: float) -> str:
    """What a backward that is ``c`` times the gradient of the network's loss got wrong, in words."""
    what = f"your backward is the gradient of {network.output.replace('logits', 'softmax')} + " \
           f"{network.loss_words().replace('softmax + ', '')}, times {c:.6g}"
    if network.loss_name == "cross_entropy" and abs(c - 2) < 1e-6:
        return (f"{what}: the 2 of the squared error stayed when the output became a softmax; with cross-entropy "
                f"the output's delta is (a_out - y_onehot) / n, without the 2")
    return f"{what}: a constant factor in d_loss__d_a_out or in the division by n"


def l2_coefficient(theirs: dict[str, np.ndarray], reference: dict[str, np.ndarray],
                   weights: dict[str, np.ndarray], dtype) -> float | None:
    """``k`` > 0 with ``theirs == reference + k * W`` for every weight and ``theirs == reference`` for every
    bias (within rounding): the gradient of an L2 penalty on the weights; None otherwise. All three by
    state-dict key, in the twin's layout."""
    keys = [k for k in reference if k.endswith("weight")]
    if not keys or not all(matches(theirs[k], reference[k], dtype) for k in reference if not k.endswith("weight")):
        return None
    num = sum(float(np.vdot(theirs[k] - reference[k], weights[k])) for k in keys)
    den = sum(float(np.vdot(weights[k], weights[k])) for k in keys)
    if den == 0 or num <= 0:
        return None
    k_ = num / den
    return k_ if all(matches(theirs[k], reference[k] + k_ * weights[k], dtype) for k in keys) else None


def l2_finding(k: float, given: float = 0.0) -> str:
    """A backward whose weights' gradients carry ``k * W`` beyond the twin's (whose loss adds ``given`` ‖W‖²),
    in words, with both ways the penalty may have been written and the ``--l2`` that matches."""
    total = k + 2 * given
    twin = f"the twin's loss adds only λ = {given:g} (--l2)" if given else "the twin's loss has no such penalty"
    return (f"your gradients include an L2 penalty: each weight's gradient carries an extra {total:.3g} times the "
            f"weight, the biases' none; that is the gradient of λ‖W‖² with λ = {total / 2:.3g} (or of (λ/2)‖W‖² "
            f"with λ = {total:.3g}). {twin.capitalize()}: pass --l2 {total / 2:.3g} to check it as written, or set "
            f"yours to 0")
