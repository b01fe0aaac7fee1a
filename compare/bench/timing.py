"""Timing: each measurement is a group of callables timed in turn, round after round.

One warm-up call each, then ``reps`` rounds in the same order; ``ratios.derived`` reports the median
and, within a group, the median of the per-round ratios. Timing the members of a group in turn keeps
those ratios fair when the machine's speed drifts; a short pause before each call keeps one library's
spinning thread pool from slowing the next (``time_group``).

On the seed network a second reference, the NumPy limit (``numpy_limit.lean_epoch``), does the whole
training step with every array preallocated: what any NumPy implementation must pay above the floor.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.typing import DTypeLike

from .config import BenchConfig
from .epochs import epoch_flops, floor_epoch, gather_batches, synthetic_data, twin_epochs
from .ratios import derived


def time_group(runs: dict[str, Callable[[], object]], reps: int, pause_s: float = 0.0) -> dict[str, list[float]]:
    """One warm-up call of each, then ``reps`` rounds calling each in turn; seconds per call.

    ``pause_s`` before every call lets the previous call's thread pool fall asleep. OpenBLAS's
    workers spin for about 0.1 s after their last product; on a 2-core machine that steals a core
    from torch's OpenMP threads when torch runs next (measured: +15% on a full torch epoch). The
    command line's spin limits (``compare.thread_pools``) end those spins within a millisecond; the
    pause keeps the bench fair when it is started from Python without them.
    """
    for run in runs.values():
        time.sleep(pause_s)
        run()
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(reps):
        for name, run in runs.items():
            time.sleep(pause_s)
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return times


def gemm_rate(n: int, dtype: DTypeLike, reps: int) -> dict[str, float]:
    """This machine's rate on one large square product, ``(n, n) @ (n, n)``."""
    rng = np.random.default_rng(2)
    A, B = rng.random((n, n)).astype(dtype), rng.random((n, n)).astype(dtype)
    C = np.empty_like(A)
    seconds = statistics.median(time_group({"gemm": lambda: np.matmul(A, B, out=C)}, max(reps, 3))["gemm"])
    return {"n": n, "seconds": seconds, "gflops": 2 * n ** 3 / seconds / 1e9}


def measure_cell(sizes: Sequence[int], rows: int, batch_size: int, dtype: str, config: BenchConfig,
                 lean: bool = False) -> dict[str, Any]:
    """Floor, scratch and torch epochs for one network, batch size and dtype, timed as one group.

    ``lean``: also time ``numpy_limit.lean_epoch``, the same training with every array preallocated.
    """
    X, y = synthetic_data(rows, dtype, config.seed)
    batches = gather_batches(X, y, batch_size, config.seed)
    runs: dict[str, Callable[[], object]] = {
        "floor": floor_epoch(sizes, batches, dtype), **twin_epochs(sizes, batches, dtype, config.lr, config.seed)[1]}
    if lean:
        import scratch

        from .numpy_limit import lean_epoch

        runs["lean"] = lean_epoch(scratch.MLP(sizes, seed=config.seed, dtype=np.dtype(dtype)), batches, config.lr)
    times = time_group(runs, config.reps, config.pause_s)
    cell = {"sizes": list(sizes), "dtype": dtype, "batch_size": batch_size, "rows": rows, "steps": len(batches),
            "flops": epoch_flops(sizes, batch_size, len(batches)), "times": times}
    return {**cell, **derived(cell)}


def device_cell(sizes: Sequence[int], rows: int, batch_size: int, dtype: str, config: BenchConfig,
                device: str) -> dict[str, Any]:
    """The torch twin's epoch on ``device`` (a GPU, or the CPU in tests): the same synthetic batches as
    ``measure_cell``'s, timed alone; TF32 off on a GPU (``make_twins``)."""
    X, y = synthetic_data(rows, dtype, config.seed)
    batches = gather_batches(X, y, batch_size, config.seed)
    twins, runs = twin_epochs(sizes, batches, dtype, config.lr, config.seed, device)
    cell = {"sizes": list(sizes), "dtype": dtype, "batch_size": batch_size, "rows": rows, "steps": len(batches),
            "device": str(twins.device), "flops": epoch_flops(sizes, batch_size, len(batches)),
            "times": time_group({"torch": runs["torch"]}, config.reps, config.pause_s)}
    return {**cell, **derived(cell)}
