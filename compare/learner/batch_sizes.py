"""Constants that only work at one batch size: ``/ 100``, ``/ minibatch_size``, ``np.zeros((100, 10))``.

The chapter's notebook defines ``minibatch_size = 100`` at module level, and a backward that divides by
it is right only when the batch holds 100 examples. Training batches of 100 and a checked batch of 100
would never see it. So the checks run on two batch sizes that differ from each other and from the
training batch size, and a gradient that is off by ``N / B`` at each size ``B`` (the same ``N`` at both),
or code that raises at those sizes but runs at the training size, is named for what it is.

Lesson: ``d_loss__d_a_out = 2. * (a_out - y_onehot) / y.shape[0]`` in ``NeuralNetMLP.backward``.
"""

from __future__ import annotations

import numpy as np

from ..agreement.tolerances import compare_arrays
from ..gradcheck.check import autograd_gradients
from ..gradcheck.diagnosis import Finding, classify
from .blame import LearnerRaised
from .returns import BadReturn

CANDIDATES = (64, 37, 50, 23)   # the two checked sizes are the first two that are not the training batch size
CONSTANT = "the batch size is written as a number instead of y.shape[0] (or x.shape[0])"


def check_sizes(training_batch: int) -> tuple[int, int]:
    """Two batch sizes to check at, different from each other and from ``training_batch``."""
    a, b = [s for s in CANDIDATES if s != training_batch][:2]
    return a, b


def _factor(learner, X: np.ndarray, y: np.ndarray) -> float | None:
    """The one factor by which every gradient of ``learner`` is off from autograd's on (X, y), or None."""
    mine = learner.gradients(X, y)
    _, auto = autograd_gradients(learner, X, y)
    factors = set()
    for key, ref in auto.items():
        kind, factor = classify(mine.get(key), ref, 1e-6)
        if kind == "ok":
            factors.add(1.0)
        elif kind == "scale" and factor is not None:
            factors.add(round(factor, 9))
        else:
            return None
    return factors.pop() if len(factors) == 1 else None


def scaled_by_batch(learner, batches: list[tuple[np.ndarray, np.ndarray]]) -> Finding | None:
    """A finding when the gradients are ``N / B`` times too large at each checked size ``B``, for one ``N``."""
    try:
        found = [(len(y), _factor(learner, X, y)) for X, y in batches]
    except (LearnerRaised, BadReturn):
        return None
    factors = [(size, f) for size, f in found if f is not None and f != 1.0]
    if len(factors) != len(found):
        return None
    constants = [size / f for size, f in factors]   # a gradient divided by n instead of B is B / n of the true one
    n = round(constants[0])
    if n < 1 or not all(abs(c - n) <= 1e-6 * n for c in constants):
        return None
    sizes = " and ".join(f"{size}/{n} of the true gradient at batch {size}" for size, _ in found)
    return Finding("batch-constant", f"your gradients are {sizes}: {CONSTANT} ({n}: a division by "
                   f"{n} or by a global such as minibatch_size = {n}); only a batch of {n} gets the right gradient",
                   list(learner.param_names.values()))


def raises_off_size(make, error: LearnerRaised, X: np.ndarray, y: np.ndarray, X_train: np.ndarray,
                    y_train: np.ndarray, training_batch: int) -> Finding | None:
    """A finding when the learner's code raised at the checked size ``len(y)`` because of the batch size: a
    fresh instance (``make()``) raises there on its first call too, and another runs at the training size."""
    try:
        make().gradients(X, y)
    except (LearnerRaised, BadReturn):
        pass
    else:
        return None   # it raised for another reason (a second call, state kept between calls)
    try:
        make().gradients(X_train[:training_batch], y_train[:training_batch])
    except (LearnerRaised, BadReturn):
        return None
    return Finding("batch-constant", f"{error} at batch {len(y)}, but runs at batch {training_batch}: {CONSTANT} "
                   f"(an array shaped with {training_batch} rows, or a division by {training_batch}, works only at "
                   f"a batch of {training_batch})", [])


def other_size(learner, X: np.ndarray, y: np.ndarray) -> Finding | None:
    """Autograd at the second checked size, where the three opinions ran at the first."""
    mine = learner.gradients(X, y)
    _, auto = autograd_gradients(learner, X, y)
    for key, ref in auto.items():
        c = compare_arrays(key, learner.orient(key, mine[key]), learner.orient(key, ref), "gradient", learner.dtype)
        if not c.passed:
            name = learner.param_names[key]
            return Finding("batch-size", f"your gradient of {name} is right at one checked batch size but not at "
                           f"batch {len(y)} (max rel diff {c.max_rel_diff:.2g}): something in backward depends on the "
                           f"batch size other than through y.shape[0]", [name])
    return None
