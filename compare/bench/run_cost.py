"""The default run against its work: its phases over the training arithmetic, the twins inside it and
apart, and evaluation against its own matrix products.

- ``run_in_child``: ``mlp-compare run`` (the default run, or ``epochs`` of it) in a child process, as a
  user starts it: wall time, and ``metrics.json``'s phases and per-twin times.
- ``plain_in_child``: ``compare.bench.plain_run``, the same work written plainly, for its wall time.
- ``twins_apart``: the run's twins on the run's data and batches, trained through the public API one
  after the other (every epoch of scratch, then every epoch of torch), then each evaluated as often.
- ``evaluation_cell``: one evaluation of training and validation rows by each twin, timed in turn with
  its forward matrix products alone (the evaluation's floor) in NumPy and in torch (which multiplies with
  its own BLAS), as ``timing.measure_cell`` does for training.

Lesson: ``train`` and ``compute_mse_and_acc`` of "Implementing a Multi-Layer NN", and what surrounds them.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .config import SEED_HIDDEN, BenchConfig
from .epochs import epoch_flops, synthetic_data
from .memory import ROOT
from .ratios import derived
from .timing import time_group

EVAL_CHUNK = 10_000  # scratch.train.EVAL_CHUNK and torch_impl.train.EVAL_CHUNK: the floor uses the same chunks


def _child(args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, *args], cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.perf_counter() - start


def run_in_child(epochs: int, threads: int) -> dict[str, Any]:
    """Wall seconds of ``mlp-compare run --epochs N`` in a fresh process, and its ``metrics["timing"]``."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        wall = _child(["-m", "compare", "run", "--epochs", str(epochs), "--threads", str(threads),
                       "--progress", "off", "--out", str(out)])
        timing = json.loads((out / "metrics.json").read_text())["timing"]
    return {"wall_s": wall, "timing": timing}


def plain_in_child(epochs: int, threads: int) -> float:
    """Wall seconds of the run's work written plainly (``compare.bench.plain_run``), in a fresh process."""
    return _child(["-m", "compare.bench.plain_run", "--epochs", str(epochs), "--threads", str(threads)])


def twins_apart(epochs: int, seed: int, reps: int, pause_s: float) -> dict[str, list[float]]:
    """Seconds per round for ``epochs`` of each twin trained alone, and as many evaluations of each alone.

    The twins, data and batch schedule are the default run's (mnist-5k); each batch is gathered inside
    the timed loop, as in the run. Every round starts both twins from the same fresh initial weights.
    """
    from ..config import RunConfig
    from ..data.load import load_dataset
    from ..data.schedule import BatchSchedule

    c = RunConfig(epochs=epochs, seed=seed)
    data = load_dataset(c.dataset, None, None, c.seed, np.float64)
    schedule = BatchSchedule(len(data.y_train), c.batch_size, c.seed)
    epoch_batches = [schedule.epoch() for _ in range(epochs)]
    rounds = [_apart_round(c, data, epoch_batches, pause_s) for _ in range(reps + 1)][1:]  # the first warms up
    return {name: [r[name] for r in rounds] for name in rounds[0]}


def _apart_round(c, data, epoch_batches: list[list[np.ndarray]], pause_s: float) -> dict[str, float]:
    import torch

    import scratch
    import torch_impl
    from scratch.train import history_row as scratch_row
    from torch_impl.train import history_row as torch_row

    from ..twins.lockstep import TorchData, make_twins

    tw = make_twins(c.sizes(data.n_features, data.num_classes), c.activation, c.loss, c.seed, np.float64, c.lr)
    td = TorchData.from_dataset(data, tw.device)
    work: dict[str, Callable[[list[np.ndarray]], object]] = {
        "scratch": lambda b: scratch.train_epoch(tw.scratch, ((data.X_train[i], data.y_train[i]) for i in b), c.lr),
        "torch": lambda b: torch_impl.train_epoch(tw.net, tw.loss_fn, tw.optimizer,
                                                  ((td.X_train[i], td.y_train[i]) for i in map(torch.from_numpy, b))),
        "scratch_eval": lambda b: scratch_row(0, tw.scratch, data.X_train, data.y_train, data.X_valid, data.y_valid),
        "torch_eval": lambda b: torch_row(0, tw.net, td.X_train, td.y_train, td.X_valid, td.y_valid, c.loss)}
    seconds = {}
    for name, one_epoch in work.items():
        time.sleep(pause_s)
        start = time.perf_counter()
        for batches in epoch_batches:
            one_epoch(batches)
        seconds[name] = time.perf_counter() - start
    return seconds


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


def run_cost(config: BenchConfig, floor_gflops: float | None, paired: float | None) -> dict[str, Any]:
    """The default run (``config.run_epochs`` epochs) in children, the twins apart, and the comparisons
    between them; ``floor_gflops`` is the seed network's BLAS floor rate (float64, batch 100) of this
    bench and ``paired`` its torch/scratch ratio there."""
    threads = config.effective_threads
    children = max(1, min(config.reps, 3))
    runs = [run_in_child(config.run_epochs, threads) for _ in range(children)]
    plain = [plain_in_child(config.run_epochs, threads) for _ in range(children)]
    from ..twins.threads import same_threads

    with same_threads(threads):  # the run's thread count for both libraries, as in the children
        apart = twins_apart(config.run_epochs, config.seed, config.reps, config.pause_s)
    median = statistics.median
    in_run = {"scratch": median(r["timing"]["scratch"]["train_s"] for r in runs),
              "torch": median(r["timing"]["torch"]["train_s"] for r in runs),
              "scratch_eval": median(r["timing"]["scratch"]["eval_s"] for r in runs),
              "torch_eval": median(r["timing"]["torch"]["eval_s"] for r in runs)}
    alone = {name: median(t) for name, t in apart.items()}
    wall = median(r["wall_s"] for r in runs)
    phases = {name: median(r["timing"]["phases"].get(name, 0.0) for r in runs) for name in runs[0]["timing"]["phases"]}
    phases["imports, start and exit"] = wall - sum(phases.values())
    n_train, batch = 3500, 100  # mnist-5k's training split at the default batch size
    arithmetic = (2 * config.run_epochs * epoch_flops([784, *SEED_HIDDEN, 10], batch, n_train // batch)
                  / (floor_gflops * 1e9) if floor_gflops else None)
    ratio_in_run = median(r["timing"]["torch_over_scratch"] for r in runs)
    ratio_apart = median(t / s for t, s in zip(apart["torch"], apart["scratch"]))
    return {"epochs": config.run_epochs, "children": children, "runs": runs, "plain_wall_s": plain,
            "apart": apart, "wall_s": wall, "plain_s": median(plain), "run_over_plain": wall / median(plain),
            "phases": phases, "training_arithmetic_s": arithmetic,
            "phases_over_arithmetic": {k: v / arithmetic for k, v in phases.items()} if arithmetic else None,
            "in_run_s": in_run, "apart_s": alone,
            "in_run_over_apart": {name: in_run[name] / alone[name] for name in alone},
            "torch_over_scratch": {"in_run": ratio_in_run, "apart": ratio_apart, "paired": paired}}

