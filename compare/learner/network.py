"""What network did the learner build? Found from their own forward, so the twin can be built to match.

The chapter ends by pointing at softmax with cross-entropy, and learners follow it. On the checked batch,
each of their hidden outputs is compared with sigmoid, tanh and ReLU of ``z`` (their previous output times
their weights, plus their bias), and their ``a_out`` with a sigmoid, a softmax (rows that sum to 1) and
``z`` itself (logits). The twin then gets the same hidden units and the loss that output goes with:

| their output | the twin's loss | its gradient at the output |
|---|---|---|
| sigmoid | squared error summed over classes (the book's) | ``2 (a_out - onehot) / n * a_out (1 - a_out)`` |
| softmax | cross-entropy | ``(a_out - onehot) / n`` |
| softmax | squared error summed over classes | ``a_out * (g - sum(a_out * g))``, ``g = 2 (a_out - onehot) / n`` |
| logits | softmax + cross-entropy | ``(softmax(a_out) - onehot) / n`` |

Under a softmax, which of its two losses their backward differentiates is read from their output layer's
gradients (``softmax_loss``: where the loss enters, before any hidden layer can be wrong), and a backward
whose gradients are those of the loss times a constant is named for it (``scaled_loss_finding``).

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
    loss: str = ""                # "softmax_mse" under a softmax whose backward is squared error's; else LOSS_OF

    @property
    def loss_name(self) -> str:
        return self.loss or LOSS_OF[self.output]

    @property
    def is_book(self) -> bool:
        return (self.activation, self.output) == BOOK

    def words(self) -> str:
        """``"softmax outputs, sigmoid hidden units"``."""
        out = "logits (no output activation)" if self.output == "logits" else f"{self.output} outputs"
        return f"{out}, {self.activation} hidden units"

    def loss_words(self) -> str:
        return ("squared error summed over the classes" if self.loss_name != "cross_entropy" else
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


def softmax_loss(a_h: np.ndarray, a_out: np.ndarray, y: np.ndarray, d_weight_out: np.ndarray,
                 d_bias_out: np.ndarray, dtype) -> tuple[str, str]:
    """``(loss, note)``: which loss a backward under a softmax output differentiates, read from their output
    layer's gradients (weight (C, H), in the twin's layout, and bias) and their own ``a_h`` (the last hidden
    layer's) and ``a_out``: ``"cross_entropy"`` or ``"softmax_mse"``, exactly or times a constant (the gradient
    check then names the constant); when neither fits, the nearer, and the note says so. The weight is read
    too: with two classes the biases' gradients of the two losses are always proportional."""
    a = np.asarray(a_out, dtype=np.float64)
    n = a.shape[0]
    g = 2.0 * (a - np.eye(a.shape[1])[np.asarray(y)]) / n                # d L / d a_out of the squared error
    deltas = {"cross_entropy": g / 2, "softmax_mse": a * (g - (a * g).sum(axis=1, keepdims=True))}
    theirs = {"weight": np.asarray(d_weight_out, dtype=np.float64), "bias": np.asarray(d_bias_out, dtype=np.float64)}
    candidates = {loss: {"weight": d.T @ np.asarray(a_h, dtype=np.float64), "bias": d.sum(axis=0)}
                  for loss, d in deltas.items()}
    if any(theirs[k].shape != v.shape for k, v in candidates["cross_entropy"].items()):
        return "cross_entropy", ""   # the gradient check says what shape is wrong
    for loss, ref in candidates.items():
        if all(matches(theirs[k], ref[k], dtype) for k in ref):
            return loss, ("your backward matches softmax + squared error (the Jacobian of the softmax is there)"
                          if loss == "softmax_mse" else "")
    for loss, ref in candidates.items():
        if factor_of(theirs, ref, dtype) is not None:
            return loss, ""
    flat = {loss: np.concatenate([ref["weight"].ravel(), ref["bias"]]) for loss, ref in candidates.items()}
    mine = np.concatenate([theirs["weight"].ravel(), theirs["bias"]])
    gaps = {loss: float(np.linalg.norm(mine - ref) / max(float(np.linalg.norm(ref)), 1e-300)) for loss, ref in flat.items()}
    words = {"cross_entropy": "softmax + cross-entropy", "softmax_mse": "softmax + squared error"}
    head = ("your output layer's gradients are neither those of softmax + cross-entropy nor those of softmax + "
            "squared error, even times a constant: checked against ")
    if abs(gaps["cross_entropy"] - gaps["softmax_mse"]) <= 1e-9 * max(gaps.values()):
        return "cross_entropy", head + "softmax + cross-entropy, the loss a softmax usually goes with (neither is nearer)"
    nearer = min(gaps, key=gaps.__getitem__)
    return nearer, head + f"{words[nearer]}, the nearer of the two"


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


def scaled_loss_finding(network: Network, c: float, n_batch: int, n_classes: int) -> str:
    """What a backward that is ``c`` times the gradient of the network's loss got wrong, in words."""
    what = f"your backward is the gradient of {network.output.replace('logits', 'softmax')} + " \
           f"{network.loss_words().replace('softmax + ', '')}, times {c:.6g}"
    if network.loss_name == "cross_entropy" and abs(c - 2) < 1e-6:
        return (f"{what}: the 2 of the squared error stayed when the output became a softmax; with cross-entropy "
                f"the output's delta is (a_out - y_onehot) / n, without the 2 (and with softmax + squared error, "
                f"delta_out would need the softmax's Jacobian)")
    if abs(c * n_classes - 1) < 1e-6 and network.loss_name != "cross_entropy":
        return (f"{what} = 1/num_classes: the squared error is averaged over the {n_classes} classes too "
                f"(nn.MSELoss()'s mean); sum it over the classes and average over the examples")
    if n_batch > 1 and abs(c - n_batch) < 1e-6 * n_batch:
        return f"{what} = the batch size: the loss is summed over the examples; divide by n once"
    return f"{what}: a constant factor in d_loss__d_a_out or in the division by n"
