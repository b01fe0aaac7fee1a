"""The settings of one comparison run, as one frozen dataclass (the CLI's ``run`` flags map 1:1)."""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass

import numpy as np

from .data.load import DATASETS, DEFAULT_VALID_SIZE
from .errors import UserError

FLOAT32_MAX = float(np.finfo(np.float32).max)  # a larger learning rate is inf in float32


def resolve_threads(threads: int) -> int:
    """``threads``, or every core for 0."""
    return threads or os.cpu_count() or 1


@dataclass(frozen=True)
class RunConfig:
    dataset: str = "mnist-5k"            # embedded, offline; "mnist" / "fashion-mnist" need data_dir or a download
    data_dir: str | None = None          # folder with the four IDX files (raw or .gz)
    valid_size: int | None = None        # None: 500 for mnist-5k, 5000 for the full sets
    hidden: tuple[int, ...] = (50,)      # hidden widths: (50,) is the lesson's 784 -> 50 -> 10
    activation: str = "sigmoid"          # hidden activation, as in the lesson
    loss: str = "mse"                    # squared error summed over classes, as the lesson's backward
    epochs: int = 50                     # the lesson trains for 50 epochs
    batch_size: int = 100                # the lesson's minibatch_size
    lr: float = 0.1                      # the lesson's learning rate
    seed: int = 123                      # weights: RandomState(seed); split, batches, checked batch: compare.data.seeds
    dtype: str = "float64"               # float64 makes the twins agree to ~1e-15
    device: str = "cpu"                  # the twin's device; "cuda" when asked and available
    threads: int = 0                     # BLAS and torch threads, equal on both sides; 0: all cores

    def __post_init__(self):
        if self.dataset not in DATASETS:
            raise UserError(f"dataset must be one of {', '.join(DATASETS)}, got {self.dataset!r}")
        if not self.hidden or any(h < 1 for h in self.hidden):
            raise UserError(f"hidden widths must be integers >= 1, like 50 or 50,30; got {list(self.hidden)}")
        if self.epochs < 1:
            raise UserError(f"epochs must be >= 1, got {self.epochs}")
        if self.batch_size < 1:
            raise UserError(f"batch size must be >= 1, got {self.batch_size}")
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise UserError(f"learning rate must be a finite number > 0, got {self.lr}")
        if self.dtype not in ("float32", "float64"):
            raise UserError(f"dtype must be float32 or float64, got {self.dtype!r}")
        if self.dtype == "float32" and self.lr > FLOAT32_MAX:
            raise UserError(f"learning rate {self.lr:g} does not fit in float32 (largest {FLOAT32_MAX:.4g}); "
                            f"use a smaller --lr or --dtype float64")
        if not 0 <= self.seed < 2**32:
            raise UserError(f"seed must be between 0 and 2**32 - 1 (NumPy's RandomState), got {self.seed}")
        if self.valid_size is not None and self.valid_size < 1:
            raise UserError(f"valid size must be >= 1, got {self.valid_size}")
        if self.threads < 0:
            raise UserError(f"threads must be >= 0 (0 means all cores), got {self.threads}")

    @property
    def effective_valid_size(self) -> int:
        return DEFAULT_VALID_SIZE[self.dataset] if self.valid_size is None else self.valid_size

    @property
    def effective_threads(self) -> int:
        return resolve_threads(self.threads)

    def sizes(self, n_features: int, n_classes: int) -> list[int]:
        return [n_features, *self.hidden, n_classes]

    def as_dict(self) -> dict:
        d = asdict(self)
        d["hidden"] = list(self.hidden)
        d["valid_size"] = self.effective_valid_size
        d["threads"] = self.effective_threads
        return d
