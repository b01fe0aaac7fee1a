"""Where every random draw of a comparison comes from: one child stream of the seed per purpose.

Each purpose gets its own child of ``np.random.SeedSequence(seed)`` (``spawn_key=(k,)``, the same
streams ``SeedSequence(seed).spawn`` hands out in that order), so the streams are independent:
a longer run (more epochs) cannot move the split, and a bigger validation set cannot move the batch
order or the gradient-check batch. The mnist-5k test hold-out draws from a stream that ignores the
seed, so runs with different seeds are scored on the same test images.

The initial weights are not drawn here: they come from ``np.random.RandomState(seed)``, as the lesson
draws them.
"""

from __future__ import annotations

import numpy as np

# The child index of each purpose. Append new purposes; never renumber one (that changes its draws).
PURPOSES = {"split": 0, "schedule": 1, "gradient_check": 2, "test_holdout": 3}
# The test hold-out is the same for every seed: it always draws from this seed's stream.
TEST_HOLDOUT_SEED = 0


def stream(seed: int, purpose: str) -> np.random.SeedSequence:
    """The child seed sequence of ``seed`` for ``purpose`` (a key of ``PURPOSES``)."""
    if purpose not in PURPOSES:
        raise ValueError(f"purpose must be one of {', '.join(PURPOSES)}, got {purpose!r}")
    return np.random.SeedSequence(seed, spawn_key=(PURPOSES[purpose],))


def rng(seed: int, purpose: str) -> np.random.Generator:
    """A fresh generator on ``seed``'s stream for ``purpose``."""
    return np.random.default_rng(stream(seed, purpose))


def holdout_rng() -> np.random.Generator:
    """The generator that picks (and orders) held-out test rows: the same whatever the run's seed."""
    return rng(TEST_HOLDOUT_SEED, "test_holdout")
