"""The default run against its work: its phases over the training arithmetic, and the twins inside it
against the same twins apart.

- ``run_in_child``: ``mlp-compare run`` (the default run, or ``epochs`` of it) in a child process, as a
  user starts it: wall time, and ``metrics.json``'s phases and per-twin times.
- ``plain_in_child``: ``compare.bench.plain_run``, the same work written plainly, for its wall time.
- ``twins_apart_and_in_step``: the run's twins on the run's data and batches, trained through the public
  API one after the other (every epoch of scratch, then every epoch of torch, then each evaluated as
  often), and then in ``lockstep_train``, the run's own loop, round after round.

Lesson: ``train`` and ``compute_mse_and_acc`` of "Implementing a Multi-Layer NN", and what surrounds them.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .config import BenchConfig
from .epochs import epoch_flops
from .memory import ROOT
from .ratios import paired_ratio, ratio_range


class ChildFailed(RuntimeError):
    """A child process of the bench (a run or the plain script) did not finish; the message ends with its stderr."""


def timed_child(args: list[str]) -> float:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, *args], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          text=True)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["(no output on stderr)"])[-1]
        raise ChildFailed(f"python {' '.join(args)} exited with {done.returncode}: {last}")
    return time.perf_counter() - start


def run_in_child(epochs: int, threads: int) -> dict[str, Any]:
    """Wall seconds of ``mlp-compare run --epochs N`` in a fresh process, and its ``metrics.json`` (timing,
    sizes, dataset, config)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        wall = timed_child(["-m", "compare", "run", "--epochs", str(epochs), "--threads", str(threads),
                       "--progress", "off", "--out", str(out)])
        m = json.loads((out / "metrics.json").read_text())
    return {"wall_s": wall, "timing": m["timing"], "sizes": m["sizes"], "n_train": m["dataset"]["n_train"],
            "batch_size": m["config"]["batch_size"]}


def plain_in_child(epochs: int, threads: int) -> float:
    """Wall seconds of the run's work written plainly (``compare.bench.plain_run``), in a fresh process."""
    return timed_child(["-m", "compare.bench.plain_run", "--epochs", str(epochs), "--threads", str(threads)])


ROUND_EPOCHS = 10  # epochs per round of twins_apart_and_in_step: this machine's speed changes every few seconds


def twins_apart_and_in_step(epochs: int, seed: int, reps: int, pause_s: float) -> dict[str, list[float]]:
    """Per round, seconds for up to ``ROUND_EPOCHS`` epochs of each twin alone and of both in ``lockstep_train``
    (the run's loop); ``reps`` rounds per ``ROUND_EPOCHS`` of ``epochs``.

    The twins, data and batch schedule are the default run's (mnist-5k); each batch is gathered inside
    the timed loop, as in the run. A round first trains each twin alone through the public API (every
    epoch of scratch, then every epoch of torch, then as many evaluations of each), then a fresh pair in
    lockstep; both start from the same initial weights. Short rounds, each timing both ways moments
    apart: this machine's speed changes from one few seconds to the next (see ``ratios.paired_ratio``).
    Keys: ``scratch``, ``torch``, ``scratch_eval``, ``torch_eval`` alone; the same with ``lockstep_``.
    """
    from ..config import RunConfig
    from ..data.load import load_dataset
    from ..data.schedule import BatchSchedule

    n = min(epochs, ROUND_EPOCHS)
    c = RunConfig(epochs=n, seed=seed)
    data = load_dataset(c.dataset, None, None, c.seed, np.float64)
    schedule = BatchSchedule(len(data.y_train), c.batch_size, c.seed)
    epoch_batches = [schedule.epoch() for _ in range(n)]
    count = reps * -(-epochs // n)
    rounds = [{**_apart_round(c, data, epoch_batches, pause_s), **_lockstep_round(c, data, epoch_batches, pause_s)}
              for _ in range(count + 1)][1:]  # the first round warms up
    return {name: [r[name] for r in rounds] for name in rounds[0]}


def _lockstep_round(c, data, epoch_batches: list[list[np.ndarray]], pause_s: float) -> dict[str, float]:
    from ..twins.lockstep import lockstep_train, make_twins

    tw = make_twins(c.sizes(data.n_features, data.num_classes), c.activation, c.loss, c.seed, np.float64, c.lr)
    time.sleep(pause_s)
    # Its default schedule, BatchSchedule(n, batch size, seed), deals the same epochs as epoch_batches.
    t = lockstep_train(tw, data, len(epoch_batches), c.batch_size, c.seed).timing
    return {"lockstep_scratch": t["scratch"]["train_s"], "lockstep_torch": t["torch"]["train_s"],
            "lockstep_scratch_eval": t["scratch"]["eval_s"], "lockstep_torch_eval": t["torch"]["eval_s"]}


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


def run_cost(config: BenchConfig, floor_gflops: float | None, paired: float | None) -> dict[str, Any]:
    """The default run (``config.run_epochs`` epochs) against its plain script, both in fresh processes and
    timed in pairs; the twins alone against the same twins in the run's lockstep loop; and the comparisons
    between them. ``floor_gflops`` is this bench's BLAS floor rate on the seed network (float64, batch 100)
    and ``paired`` its torch/scratch ratio there. Seconds per twin are per epoch.

    Raises ``ChildFailed`` when a child process does not finish.
    """
    from ..twins.threads import same_threads

    threads = config.effective_threads
    children = max(1, min(config.reps, 3))
    runs, plain = [], []
    for i in range(children):  # in pairs, moments apart, each going first in turn
        if i % 2:
            plain.append(plain_in_child(config.run_epochs, threads))
        runs.append(run_in_child(config.run_epochs, threads))
        if not i % 2:
            plain.append(plain_in_child(config.run_epochs, threads))
    with same_threads(threads):  # the run's thread count for both libraries, as in the children
        rounds = twins_apart_and_in_step(config.run_epochs, config.seed, config.reps, config.pause_s)
    median = statistics.median
    names = ("scratch", "torch", "scratch_eval", "torch_eval")
    round_epochs = min(config.run_epochs, ROUND_EPOCHS)
    per_epoch = 1 / round_epochs
    in_children = {f"{twin}{suffix}": median(r["timing"][twin][f"{kind}_s_per_epoch"] for r in runs)
                   for twin in ("scratch", "torch") for suffix, kind in (("", "train"), ("_eval", "eval"))}
    apart = {n: median(rounds[n]) * per_epoch for n in names}
    phases = {name: median(r["timing"]["phases"].get(name, 0.0) for r in runs) for name in runs[0]["timing"]["phases"]}
    phases["imports, start and exit"] = median(r["wall_s"] - sum(r["timing"]["phases"].values()) for r in runs)
    first = runs[0]
    arithmetic = (2 * config.run_epochs * epoch_flops(first["sizes"], first["batch_size"],
                                                      first["n_train"] // first["batch_size"])
                  / (floor_gflops * 1e9) if floor_gflops else None)
    child_ratios = [r["timing"]["torch_over_scratch"] for r in runs if "torch_over_scratch" in r["timing"]]
    return {"epochs": config.run_epochs, "children": children, "runs": runs, "plain_wall_s": plain,
            "round_epochs": round_epochs, "rounds": rounds,
            "wall_s": median(r["wall_s"] for r in runs), "plain_s": median(plain),
            "run_over_plain": paired_ratio([r["wall_s"] for r in runs], plain),
            "phases": phases, "training_arithmetic_s": arithmetic,
            "phases_over_arithmetic": {k: v / arithmetic for k, v in phases.items()} if arithmetic else None,
            "lockstep_s_per_epoch": {n: median(rounds[f"lockstep_{n}"]) * per_epoch for n in names},
            "apart_s_per_epoch": apart,
            "run_s_per_epoch": in_children,
            "lockstep_over_apart": {n: paired_ratio(rounds[f"lockstep_{n}"], rounds[n]) for n in names},
            "run_over_apart": {n: in_children[n] / apart[n] for n in names},
            "torch_over_scratch": {
                "lockstep": paired_ratio(rounds["lockstep_torch"], rounds["lockstep_scratch"]),
                "apart": paired_ratio(rounds["torch"], rounds["scratch"]),
                "run": median(child_ratios) if child_ratios else None,
                "paired": paired},
            # This machine's speed changes torch/scratch itself (the twins slow down by different factors):
            # a ratio from other moments can differ from the paired ones by this much.
            "apart_round_range": ratio_range(rounds["torch"], rounds["scratch"])}
