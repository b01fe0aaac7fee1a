"""Idle worker threads that stop spinning within a millisecond, so the twins stop slowing each other.

After its last product OpenBLAS's worker threads (NumPy's BLAS) spin for 2**28 cycles, about 0.1 s,
before they sleep; libgomp's threads (torch's OpenMP) spin 300,000 rounds. On a machine with as many
cores as threads, a twin that runs right after the other library's work shares its cores with those
spinning threads. Measured on 2 cores, 50 epochs of mnist-5k interleaved epoch by epoch as the run
does: scratch 2.05 s, torch 4.96 s.

``OPENBLAS_THREAD_TIMEOUT=20`` (2**20 cycles, about 0.4 ms) and ``GOMP_SPINCOUNT=10000`` keep each
library's workers awake between its own calls (microseconds apart) and let them sleep soon after its
last one: interleaved then costs what apart costs (scratch 0.74 s against 0.73 s alone, torch 1.28 s
against 1.25 s; medians of 3 rounds, benchmarks/NOTES.md).
Shorter is slower for the library itself (timeout 16: scratch +15 %; spin count 1,000: torch +20 %).

Both libraries read these variables once, when they load, so ``shorten_spins`` must run before
anything imports NumPy or torch: the command line calls it first. A value the user set is kept.

Lesson: none; this is how the comparison keeps its timings fair (README, "Speed").
"""

from __future__ import annotations

import os
import sys

SHORT_SPINS = {"OPENBLAS_THREAD_TIMEOUT": "20", "GOMP_SPINCOUNT": "10000"}
_READ_BY = {"numpy": "OPENBLAS_THREAD_TIMEOUT", "torch": "GOMP_SPINCOUNT"}  # the library that reads each
_in_effect: dict[str, bool] | None = None  # per library, decided when shorten_spins first runs


def shorten_spins() -> None:
    """Set each of ``SHORT_SPINS`` that the environment does not already set (child processes inherit them).

    A library applies its variable only if it loads afterwards, or if the variable was already in the
    environment this process started with (set by the user or a parent process).
    """
    global _in_effect
    if _in_effect is None:
        _in_effect = {lib: lib not in sys.modules or var in os.environ for lib, var in _READ_BY.items()}
    for name, value in SHORT_SPINS.items():
        os.environ.setdefault(name, value)


def spin_settings() -> dict:
    """The variables as this process sees them and, per library, whether they apply (``None``: unknown,
    ``shorten_spins`` never ran here): ``{"OPENBLAS_THREAD_TIMEOUT": "20", ..., "in_effect": {"numpy": True, ...}}``."""
    return {**{name: os.environ.get(name) for name in SHORT_SPINS},
            "in_effect": {lib: None if _in_effect is None else _in_effect[lib] for lib in _READ_BY}}
