"""The benchmark's settings: one frozen dataclass, validated on construction.

Lesson: the seed network of "Implementing a Multi-Layer NN" (784 -> 50 -> 10, batch 100, 55,000 rows).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import UserError

SEED_HIDDEN = (50,)  # the lesson's hidden layer; the seed network is 784 -> 50 -> 10


@dataclass(frozen=True)
class BenchConfig:
    rows: int = 55_000                         # training rows per epoch: full MNIST's training split
    scaling_rows: int = 11_000                 # rows per epoch in the width and depth sweeps (width 1024 is 20x the work)
    reps: int = 5                              # timed rounds after one warm-up; the median is reported
    pause_s: float = 0.2                       # idle time before each timed call (see timing.time_group)
    threads: int = 0                           # NumPy BLAS threads = torch threads; 0: all cores
    dtypes: tuple[str, ...] = ("float64", "float32")
    batch_sizes: tuple[int, ...] = (32, 100, 512)
    widths: tuple[int, ...] = (50, 128, 256, 512, 1024)  # one hidden layer, batch 100, float64
    depths: tuple[int, ...] = (1, 2, 3)        # hidden layers of width 50, batch 100, float64
    gemm_n: int = 2048                         # the large square product that calibrates the machine
    memory_dtypes: tuple[str, ...] = ("float64", "float32")  # peak-memory probes (one subprocess per twin)
    run_epochs: int = 50                       # epochs of the default run timed whole (run_cost); 0 skips it
    eval_valid_rows: int = 5_000               # validation rows evaluated with the training rows (full MNIST's split)
    folder_files: int = 40                     # correct files in the class folder of check DIR (folder_cost); 0 skips it
    folder_epochs: int = 1                     # --epochs of those checks: every report has its training figures
    lr: float = 0.1                            # the lesson's learning rate
    seed: int = 123

    @classmethod
    def quick(cls, **overrides) -> BenchConfig:
        """A smoke run in seconds: a tenth of the rows, two rounds, no pauses, a small calibration product."""
        return cls(**{"rows": 5_500, "scaling_rows": 1_100, "reps": 2, "gemm_n": 512, "pause_s": 0.0,
                      "memory_dtypes": ("float64",), "run_epochs": 5, "eval_valid_rows": 500, "folder_files": 4,
                      **overrides})

    def __post_init__(self) -> None:
        if self.reps < 1:
            raise UserError(f"reps must be >= 1, got {self.reps}")
        if self.pause_s < 0:
            raise UserError(f"pause must be >= 0 seconds, got {self.pause_s}")
        if self.threads < 0:
            raise UserError(f"threads must be >= 0 (0 means all cores), got {self.threads}")
        if self.folder_files < 0 or self.folder_epochs < 0:
            raise UserError(f"folder files and epochs must be >= 0, got {self.folder_files} and {self.folder_epochs}")
        if self.run_epochs < 0 or self.eval_valid_rows < 1:
            raise UserError(f"run epochs must be >= 0 and validation rows >= 1, got {self.run_epochs} and "
                            f"{self.eval_valid_rows}")
        largest = max(self.batch_sizes)
        if self.rows < largest or self.scaling_rows < 100:
            raise UserError(f"rows must be at least {largest} (the largest batch size) and scaling rows at least "
                             f"100 (one batch), got {self.rows} and {self.scaling_rows}")

    @property
    def effective_threads(self) -> int:
        from ..config import resolve_threads

        return resolve_threads(self.threads)
