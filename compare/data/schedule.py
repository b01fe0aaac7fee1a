"""The one batch schedule both twins consume.

A permutation per epoch from the seed's ``schedule`` stream (``compare.data.seeds``), cut into batches of
``batch_size``; the partial batch at the tail is dropped, as the lesson's ``minibatch_generator``
does. Nothing else draws from this generator, so evaluating (which never shuffles) cannot shift
later batches, and the split draws from a stream of its own, so a different validation size does
not reshuffle the batch order's randomness (nor more epochs the split).
"""

from __future__ import annotations

import numpy as np

from ..errors import UserError
from . import seeds


class BatchSchedule:
    """Index batches for ``n`` training examples: ``epoch()`` returns the next epoch's list of (B,) arrays."""

    def __init__(self, n: int, batch_size: int, seed: int):
        if not 1 <= batch_size <= n:
            raise UserError(f"batch size must be between 1 and the training-set size {n}, got {batch_size}")
        self.n, self.batch_size = n, batch_size
        self.rng: np.random.Generator = seeds.rng(seed, "schedule")

    @property
    def steps_per_epoch(self) -> int:
        return self.n // self.batch_size

    def epoch(self) -> list[np.ndarray]:
        perm = self.rng.permutation(self.n)
        return [perm[i:i + self.batch_size] for i in range(0, self.n - self.batch_size + 1, self.batch_size)]
