"""The noise envelope: how far two correct implementations of one training run drift apart.

Two correct codes differ in the order they sum things, so every update they make differs in its last
bits, and training can amplify those bits (measured on mnist-5k: at lr 0.1 and batch 100 two correct
twins stay within 1e-15 for 50 epochs; at lr 2 and batch 10 they part completely within one epoch).
The envelope measures that amplification on the problem at hand: a float ``scratch.MLP`` is trained
from the same weights on the same batches three times, once as it is and twice with every weight
moved by one ulp, in a seeded random direction, after every update. Its value at a step is the larger
of the two perturbed runs' largest weight gap from the plain one.

Why an ulp per update and not one nudge of the initial weights: rounding enters at every step between
two real codes, and a single nudge under-estimates that. Why exactly one ulp (``np.spacing`` of each
tensor's largest magnitude) and not a uniform draw of at most one: the draw rounds to nothing for many
entries, and its envelope varied 100x between seeds at lr 4, batch 10; the one-ulp envelope varies
within 5x. The real twins' gap stays within a few times of it across sigmoid, tanh and ReLU, squared
error and cross-entropy, lr 0.1 to 4, batch 10 to 100, float32 and float64 (``tests/test_agreement.py``).

Lesson: none in the book; it is why two correct NumPy and PyTorch runs can still end apart.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

import scratch

PERTURBED_RUNS = 2   # the envelope is the larger gap of this many perturbed runs from the plain one


def _one_ulp(params: dict[str, np.ndarray], rng: np.random.Generator) -> None:
    """Move every entry by one ulp of its tensor's largest magnitude, in a seeded random direction.

    The ulp of the tensor, not of each entry: two codes' updates differ by a rounding of lr x gradient,
    whatever the entry's own size, so an entry near zero (a bias that starts at 0) must move as much as
    the rest; one ulp of its own value would hardly move it (measured: correct tanh and cross-entropy
    twins blamed at lr 3, their gap 2000x such an envelope in float32).
    """
    for w in params.values():
        step = np.spacing(np.max(np.abs(w), initial=0.0)).astype(w.dtype)
        w += step * rng.choice(np.array([-1, 1], dtype=w.dtype), w.shape)


def envelope_steps(sizes, activation: str, loss: str, dtype, start: dict[str, np.ndarray], X: np.ndarray,
                   y: np.ndarray, batches: Iterable[np.ndarray], lr: float, seed: int = 0, l2: float = 0.0
                   ) -> Iterator[tuple[float, float]]:
    """Per step of ``batches`` (index arrays into ``X`` (n, D) and ``y`` (n,), in training order): the envelope
    so far (the largest weight gap between correct runs up to this step) and the plain run's largest |weight|.

    ``start``: the initial weights under ``nn.Sequential``'s keys, (out, in); the runs use ``dtype``. Lazy: a
    caller that has its verdict stops pulling, and no further step is trained. A run that overflows makes
    the envelope infinite from that step on: nothing can be compared beyond it. ``l2``: λ of a penalty
    λ‖W‖² on the weights, as ``--l2`` adds to the twin's loss (``weight_decay`` = 2λ).
    """
    runs = [scratch.MLP(list(sizes), activation, loss, dtype=dtype) for _ in range(1 + PERTURBED_RUNS)]
    for run in runs:
        run.load_state_dict(start)
    rngs = [np.random.default_rng([seed, i]) for i in range(PERTURBED_RUNS)]
    worst = 0.0
    for idx in batches:
        with np.errstate(all="ignore"):
            Xb, yb = X[idx], y[idx]
            for run in runs:
                decay = [(w, 2 * l2 * lr * w) for k, w in run.state_dict().items() if k.endswith("weight")] if l2 else []
                scratch.sgd_step(run, Xb, yb, lr)
                for w, step in decay:   # weight_decay's term, from the weights before the step, as optim.SGD's
                    w -= step
            for run, rng in zip(runs[1:], rngs):
                _one_ulp(run.state_dict(), rng)
            plain = runs[0].state_dict()
            for run in runs[1:]:
                d = max(float(np.max(np.abs(v - plain[key]))) for key, v in run.state_dict().items())
                worst = max(worst, d if np.isfinite(d) else np.inf)
            scale = max(float(np.max(np.abs(v))) for v in plain.values())
        yield worst, scale
