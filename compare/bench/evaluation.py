"""Evaluation against its own arithmetic: one evaluation per twin, timed in turn with its forward products alone.

``evaluation_cell`` evaluates training and validation rows with each twin's ``history_row`` (loss,
printed MSE, accuracy), as the run does after every epoch, and times it in turn with the same forward
matrix products alone (the evaluation's floor), in NumPy and in torch (which multiplies with its own
BLAS), as ``timing.measure_cell`` does for training.

Lesson: ``compute_mse_and_acc`` of "Implementing a Multi-Layer NN".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from scratch.train import EVAL_CHUNK  # the floor multiplies in the chunks both twins evaluate in

from .config import SEED_HIDDEN, BenchConfig
from .epochs import synthetic_data
from .ratios import derived
from .timing import time_group


def forward_flops(sizes: Sequence[int], rows: int) -> int:
    """Floating-point operations of the forward matrix products for ``rows`` examples (2 per multiply-add)."""
    return sum(2 * rows * n_in * n_out for n_in, n_out in zip(sizes[:-1], sizes[1:]))


def evaluation_floor(sizes: Sequence[int], sets: Sequence[np.ndarray], dtype) -> Callable[[], None]:
    """Each set's forward matrix products alone, ``EVAL_CHUNK`` rows at a time, into preallocated outputs."""
    rng = np.random.default_rng(1)
    Ws = [rng.normal(0, 0.1, (o, i)).astype(dtype) for i, o in zip(sizes[:-1], sizes[1:])]
    z = [np.empty((EVAL_CHUNK, n), dtype) for n in sizes[1:]]
    hidden = [rng.uniform(0, 1, (EVAL_CHUNK, n)).astype(dtype) for n in sizes[1:-1]]

    def run() -> None:
        for X in sets:
            for i in range(0, len(X), EVAL_CHUNK):
                rows = min(EVAL_CHUNK, len(X) - i)
                for k, W in enumerate(Ws):
                    a = X[i:i + rows] if k == 0 else hidden[k - 1][:rows]
                    np.matmul(a, W.T, out=z[k][:rows])
    return run


def torch_evaluation_floor(sizes: Sequence[int], sets: Sequence[np.ndarray], dtype) -> Callable[[], None]:
    """``evaluation_floor`` with torch's matrix products (its own BLAS), into preallocated tensors."""
    import torch

    rng = np.random.default_rng(1)
    Ws = [torch.from_numpy(rng.normal(0, 0.1, (o, i)).astype(dtype)) for i, o in zip(sizes[:-1], sizes[1:])]
    z = [torch.empty((EVAL_CHUNK, n), dtype=Ws[0].dtype) for n in sizes[1:]]
    hidden = [torch.from_numpy(rng.uniform(0, 1, (EVAL_CHUNK, n)).astype(dtype)) for n in sizes[1:-1]]
    tsets = [torch.from_numpy(X) for X in sets]

    def run() -> None:
        with torch.inference_mode():
            for X in tsets:
                for i in range(0, len(X), EVAL_CHUNK):
                    rows = min(EVAL_CHUNK, len(X) - i)
                    for k, W in enumerate(Ws):
                        a = X[i:i + rows] if k == 0 else hidden[k - 1][:rows]
                        torch.matmul(a, W.T, out=z[k][:rows])
    return run


def evaluation_cell(rows: int, valid_rows: int, config: BenchConfig) -> dict[str, Any]:
    """One evaluation of ``rows`` training and ``valid_rows`` validation rows per twin (``history_row``: loss,
    printed MSE and accuracy), timed in turn with the evaluation's floor, float64, on the seed network."""
    from scratch.train import history_row as scratch_row
    from torch_impl.train import history_row as torch_row

    from ..twins.lockstep import make_twins

    sizes = [784, *SEED_HIDDEN, 10]
    X, y = synthetic_data(rows + valid_rows, np.float64, config.seed)
    Xt, yt, Xv, yv = X[:rows], y[:rows], X[rows:], y[rows:]
    tw = make_twins(sizes, seed=config.seed)
    import torch

    T = {name: torch.from_numpy(a) for name, a in (("Xt", Xt), ("yt", yt), ("Xv", Xv), ("yv", yv))}
    runs: dict[str, Callable[[], object]] = {
        "floor": evaluation_floor(sizes, [Xt, Xv], np.float64),
        "torch_floor": torch_evaluation_floor(sizes, [Xt, Xv], np.float64),
        "scratch": lambda: scratch_row(0, tw.scratch, Xt, yt, Xv, yv),
        "torch": lambda: torch_row(0, tw.net, T["Xt"], T["yt"], T["Xv"], T["yv"], "mse")}
    cell = {"sizes": sizes, "dtype": "float64", "rows": rows, "valid_rows": valid_rows,
            "flops": forward_flops(sizes, rows + valid_rows), "times": time_group(runs, config.reps, config.pause_s)}
    return {**cell, **derived(cell)}
