"""Learners' own mistakes, recognised by recomputing what each would produce.

- In ``forward``: a missing sigmoid (the output equals ``z``), a softmax or another activation where the
  book has a sigmoid. The hint names what their value equals.
- In ``backward``, beyond ``compare.gradcheck.diagnosis``'s gallery: a one-hot built as ``onehot[:, y] = 1``, which
  marks every class of the batch in every row. On a batch of one class it gives exactly the right
  gradient: that is why the check's batch holds every class.

Lesson: ``int_to_onehot``, ``forward`` and ``d_loss__d_a_out`` of ``NeuralNetMLP``.
"""

from __future__ import annotations

import numpy as np

from scratch.activations import sigmoid
from scratch.losses import softmax

from ..gradcheck.diagnosis import Finding, classify
from ..gradcheck.teaching import TeachingMLP
from .network import matches


def _close(a: np.ndarray, b: np.ndarray) -> bool:
    return matches(a, b, np.float64)   # a mistake recomputed in float64


def _first_matching(value: np.ndarray, candidates: list[tuple[str, np.ndarray]]) -> str | None:
    return next((words for words, c in candidates if _close(value, c)), None)


def book_forward_finding(learner, X: np.ndarray, mine: dict[str, np.ndarray], twin: dict[str, np.ndarray],
                         label: str) -> Finding:
    """Why ``mine[label]`` (``"a_h"``, ``"a_h2"``, ``"a_out"``, ...) differs from the twin's: the first
    explanation that fits.

    A layer is judged from *their* output of the layer before (right when we get here: the first that
    differs is the one asked about), so the hint is about that layer alone.
    """
    state = {k: np.asarray(v, dtype=np.float64) for k, v in learner.state_dict().items()}
    layer = learner.outputs.index(label)
    keys = (f"{2 * layer}.weight", f"{2 * layer}.bias")
    name, param, bias = learner.output_labels[label], learner.param_names[keys[0]], learner.param_names[keys[1]]
    before = learner.outputs[layer - 1] if layer else None
    a_in = np.asarray(X if before is None else mine[before], dtype=np.float64)
    W, b = state[keys[0]], state[keys[1]]
    z = a_in @ W.T + b
    x = "x" if before is None else learner.output_labels[before]
    product = f"{x} @ {param}" + (".T" if learner.layout[param] == "out_in" else "") + f" + {bias}"
    gap = float(np.max(np.abs(np.asarray(mine[label], dtype=np.float64) - np.asarray(twin[label], dtype=np.float64))))
    where = "output" if label == "a_out" else "hidden"
    unbiased = a_in @ W.T
    guess = _first_matching(mine[label], [
        (f"your {name} does not move when {bias} does: is `+ self.{bias}` missing? the twin's is sigmoid({product})",
         sigmoid(unbiased)) if np.any(b) else ("", np.full_like(z, np.nan)),
        (f"is the {where} sigmoid missing? your {name} equals z = {product}; the book's is sigmoid(z)", z),
        (f"your {name} is a softmax of z = {product}; the book's {where} layer is a sigmoid", softmax(z)),
        (f"your {name} is tanh(z); the book's {where} layer is a sigmoid, 1 / (1 + exp(-z))", np.tanh(z)),
        (f"your {name} is ReLU(z); the book's {where} layer is a sigmoid, 1 / (1 + exp(-z))", np.maximum(z, 0)),
        (f"your {name} is sigmoid(-z): the sigmoid is 1 / (1 + exp(-z)), with the minus sign inside", sigmoid(-z)),
    ]) or f"check z = {product} and {name} = sigmoid(z) against yours"
    return Finding("forward", f"{name} differs from the twin's by up to {gap:.2g}: {guess}",
                   [learner.param_names[k] for k in keys])


class ColumnOnehot(TeachingMLP):
    """The squared-error backward with targets built as ``onehot[:, y] = 1``."""

    def output_delta(self, out, y):
        target = np.zeros_like(out)
        target[:, y] = 1                                  # (B, C): every class of the batch, in every row
        return 2.0 * (out - target) / out.shape[0] * out * (1 - out)


LEARNER_MISTAKES = (
    (ColumnOnehot, "onehot-columns",
     "your one-hot targets mark every class of the batch in every row: onehot[:, y] = 1 sets whole columns. "
     "Set one entry per row, onehot[np.arange(n), y] = 1 (the book's int_to_onehot loops over the rows). On a "
     "batch of one class both give the same targets, which is how this hides in a sorted dataset"),
)


def backward_findings(learner, X: np.ndarray, y: np.ndarray, manual: dict[str, np.ndarray]) -> list[Finding]:
    """Findings for learner mistakes that ``manual`` (their gradients, state-dict keys) matches exactly."""
    if learner.loss_name != "mse" or learner.activation != "sigmoid":
        return []
    found = []
    for variant_cls, kind, words in LEARNER_MISTAKES:
        variant = variant_cls(learner.sizes, learner.activation, learner.loss_name, dtype=np.float64)
        variant.load_state_dict({k: np.asarray(v, dtype=np.float64) for k, v in learner.state_dict().items()})
        grads = variant.gradients(np.asarray(X, dtype=np.float64), np.asarray(y))
        if all(classify(manual.get(k), g, 1e-8)[0] == "ok" for k, g in grads.items()):
            found.append(Finding(kind, words, [name for k, name in learner.param_names.items() if k in grads]))
    return found
