"""How fast is each twin, next to what this machine's BLAS can do at all? (``mlp-compare bench``)

Everything runs in one process with the same thread count for NumPy's BLAS (threadpoolctl) and for
torch, on the same pre-gathered batches (synthetic data of MNIST's shape: the values do not change
the work). Each measurement is a group of callables timed in turn, one warm-up epoch each, then
``reps`` rounds in the same order; the median is reported, and each ratio within a group is the
median of the per-round ratios (``paired_ratio``). Timing the members of a group in turn, round after
round, keeps those ratios fair when the machine's speed drifts; a short pause before each call keeps
one library's spinning thread pool from slowing the next (``time_group``).

The BLAS floor of a network is its epoch's matrix products alone, written into preallocated arrays:
per batch and layer the forward ``a @ W.T``, the weight gradient ``delta.T @ a`` and, above the first
layer, ``delta @ W``. Nothing else a training step does (activations, loss, updates, Python) is in it.
On the seed network a second reference, the NumPy limit (``numpy_limit.lean_epoch``), does the whole
training step with every array preallocated: what any NumPy implementation must pay above the floor.

Lesson: the training loop of "Implementing a Multi-Layer NN" (784 -> 50 -> 10, batch 100, 55,000 rows).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from .errors import UserError

SEED_HIDDEN = (50,)
ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class BenchConfig:
    rows: int = 55_000                         # training rows per epoch: full MNIST's training split
    scaling_rows: int = 11_000                 # rows per epoch in the width and depth sweeps (width 1024 is 20x the work)
    reps: int = 5                              # timed rounds after one warm-up; the median is reported
    pause_s: float = 0.2                       # idle time before each timed call (see time_group)
    threads: int = 0                           # NumPy BLAS threads = torch threads; 0: all cores
    dtypes: tuple[str, ...] = ("float64", "float32")
    batch_sizes: tuple[int, ...] = (32, 100, 512)
    widths: tuple[int, ...] = (50, 128, 256, 512, 1024)  # one hidden layer, batch 100, float64
    depths: tuple[int, ...] = (1, 2, 3)        # hidden layers of width 50, batch 100, float64
    gemm_n: int = 2048                         # the large square product that calibrates the machine
    memory_dtypes: tuple[str, ...] = ("float64", "float32")  # peak-memory probes (one subprocess per twin)
    lr: float = 0.1                            # the lesson's learning rate
    seed: int = 123

    @classmethod
    def quick(cls, **overrides) -> "BenchConfig":
        """A smoke run in seconds: a tenth of the rows, two rounds, no pauses, a small calibration product."""
        return cls(**{"rows": 5_500, "scaling_rows": 1_100, "reps": 2, "gemm_n": 512, "pause_s": 0.0,
                      "memory_dtypes": ("float64",), **overrides})

    def __post_init__(self):
        if self.reps < 1:
            raise UserError(f"reps must be >= 1, got {self.reps}")
        if self.pause_s < 0:
            raise UserError(f"pause must be >= 0 seconds, got {self.pause_s}")
        if self.threads < 0:
            raise UserError(f"threads must be >= 0 (0 means all cores), got {self.threads}")
        largest = max(self.batch_sizes)
        if self.rows < largest or self.scaling_rows < 100:
            raise UserError(f"rows must be at least {largest} (the largest batch size) and scaling rows at least "
                             f"100 (one batch), got {self.rows} and {self.scaling_rows}")

    @property
    def effective_threads(self) -> int:
        from .threads import resolve_threads

        return resolve_threads(self.threads)


# --- the work ----------------------------------------------------------------------------------

def synthetic_data(rows: int, dtype, seed: int = 0, features: int = 784, classes: int = 10):
    """X (rows, features) uniform in [-1, 1] like scaled pixels, y (rows,) int64 labels."""
    rng = np.random.default_rng(seed)
    return rng.uniform(-1, 1, size=(rows, features)).astype(dtype), rng.integers(0, classes, size=rows)


def gather_batches(X: np.ndarray, y: np.ndarray, batch_size: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """One epoch's shuffled batches, each gathered once into its own contiguous arrays."""
    from .schedule import BatchSchedule

    return [(np.take(X, i, axis=0), np.take(y, i)) for i in BatchSchedule(len(y), batch_size, seed).epoch()]


def epoch_flops(sizes, batch_size: int, steps: int) -> int:
    """Floating-point operations (2 per multiply-add) of one epoch's matrix products."""
    per_step = sum(2 * batch_size * n_in * n_out * (2 if i == 0 else 3)
                   for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])))
    return per_step * steps


def floor_epoch(sizes, batches, dtype) -> Callable[[], None]:
    """The epoch's matrix products alone, into preallocated outputs (see the module docstring)."""
    rng = np.random.default_rng(1)
    B = batches[0][0].shape[0]
    Ws = [rng.normal(0, 0.1, (o, i)).astype(dtype) for i, o in zip(sizes[:-1], sizes[1:])]
    acts = [None] + [rng.uniform(0, 1, (B, n)).astype(dtype) for n in sizes[1:-1]]  # inputs above layer 0
    deltas = [rng.normal(0, 0.01, (B, n)).astype(dtype) for n in sizes[1:]]
    z = [np.empty((B, n), dtype) for n in sizes[1:]]
    dW = [np.empty_like(W) for W in Ws]
    da = [np.empty((B, n), dtype) for n in sizes[:-1]]

    def run():
        for Xb, _ in batches:
            for i, W in enumerate(Ws):
                a = Xb if i == 0 else acts[i]
                np.matmul(a, W.T, out=z[i])                  # forward (B, out)
                np.matmul(deltas[i].T, a, out=dW[i])         # weight gradient (out, in)
                if i > 0:
                    np.matmul(deltas[i], W, out=da[i])       # gradient for the layer below (B, in)
    return run


def twin_epochs(sizes, batches, dtype, lr: float, seed: int):
    """``(twins, {"scratch": epoch, "torch": epoch})``: both twins, same initial weights, and a
    callable that trains each for one epoch on ``batches``.

    scratch: ``sgd_step`` per batch, i.e. ``MLP.gradients`` then the update of the live
    ``state_dict()`` arrays. torch: the idiomatic ``train_epoch`` (zero_grad, backward, step).
    """
    import scratch
    import torch
    import torch_impl

    from .lockstep import make_twins

    twins = make_twins(list(sizes), seed=seed, dtype=np.dtype(dtype), lr=lr)
    tbatches = [(torch.from_numpy(Xb), torch.from_numpy(yb)) for Xb, yb in batches]  # shares memory
    return twins, {"scratch": lambda: scratch.train_epoch(twins.scratch, batches, lr),
                   "torch": lambda: torch_impl.train_epoch(twins.net, twins.loss_fn, twins.optimizer, tbatches)}


def time_group(runs: dict[str, Callable[[], None]], reps: int, pause_s: float = 0.0) -> dict[str, list[float]]:
    """One warm-up call of each, then ``reps`` rounds calling each in turn; seconds per call.

    ``pause_s`` before every call lets the previous call's thread pool fall asleep. OpenBLAS's
    workers spin for about 0.1 s after their last product; on a 2-core machine that steals a core
    from torch's OpenMP threads when torch runs next (measured: +15% on a full torch epoch).
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


def gemm_rate(n: int, dtype, reps: int) -> dict:
    """This machine's rate on one large square product, ``(n, n) @ (n, n)``."""
    rng = np.random.default_rng(2)
    A, B = rng.random((n, n)).astype(dtype), rng.random((n, n)).astype(dtype)
    C = np.empty_like(A)
    seconds = statistics.median(time_group({"gemm": lambda: np.matmul(A, B, out=C)}, max(reps, 3))["gemm"])
    return {"n": n, "seconds": seconds, "gflops": 2 * n ** 3 / seconds / 1e9}


def measure_cell(sizes, rows: int, batch_size: int, dtype: str, config: BenchConfig, lean: bool = False) -> dict:
    """Floor, scratch and torch epochs for one network, batch size and dtype, timed as one group.

    ``lean``: also time ``numpy_limit.lean_epoch``, the same training with every array preallocated.
    """
    X, y = synthetic_data(rows, dtype, config.seed)
    batches = gather_batches(X, y, batch_size, config.seed)
    runs = {"floor": floor_epoch(sizes, batches, dtype), **twin_epochs(sizes, batches, dtype, config.lr, config.seed)[1]}
    if lean:
        import scratch

        from .numpy_limit import lean_epoch

        runs["lean"] = lean_epoch(scratch.MLP(sizes, seed=config.seed, dtype=np.dtype(dtype)), batches, config.lr)
    times = time_group(runs, config.reps, config.pause_s)
    cell = {"sizes": list(sizes), "dtype": dtype, "batch_size": batch_size, "rows": rows, "steps": len(batches),
            "flops": epoch_flops(sizes, batch_size, len(batches)), "times": times}
    return {**cell, **derived(cell)}


RATIOS = (("scratch", "floor"), ("torch", "floor"), ("torch", "scratch"), ("lean", "floor"), ("scratch", "lean"))


def paired_ratio(a: list[float], b: list[float]) -> float:
    """Median over rounds of ``a[i] / b[i]``: the two were timed moments apart in the same round, so a
    drift of the machine's speed between rounds cancels in each ratio (a ratio of medians can pair one
    member's fast round with the other's slow one)."""
    return statistics.median(x / y for x, y in zip(a, b))


def derived(cell: dict) -> dict:
    """Medians, GFLOP/s and ratios of one cell, all computed from its ``times`` and ``flops``."""
    t = cell["times"]
    s = {name: statistics.median(v) for name, v in t.items()}
    return {**{f"{name}_s": v for name, v in s.items()},
            **{f"{name}_gflops": cell["flops"] / v / 1e9 for name, v in s.items()},
            **{f"{a}_over_{b}": paired_ratio(t[a], t[b]) for a, b in RATIOS if a in t and b in t},
            "spread": {name: max(v) / min(v) for name, v in t.items()}}  # slowest / fastest round


# --- peak memory, one fresh process per twin ------------------------------------------------------

def _status_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field + ":"))


def memory_probe(twin: str, sizes, rows: int, batch_size: int, dtype: str, threads: int, seed: int) -> dict:
    """Peak resident memory one training epoch plus one evaluation of the training rows adds.

    Runs in a fresh process (see ``peak_memory``). The baseline is taken after both libraries are
    imported and the data, batches and model exist; the kernel's high-water mark is then reset
    (``/proc/self/clear_refs``), so the growth counts what training needs: parameters, gradients,
    temporaries, autograd's saved tensors and the libraries' lazily touched work buffers.
    """
    import tracemalloc

    import scratch
    import torch
    import torch_impl
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(threads)
    threadpool_limits(threads, user_api="blas")
    X, y = synthetic_data(rows, dtype, seed)
    batches = gather_batches(X, y, batch_size, seed)
    twins, runs = twin_epochs(sizes, batches, dtype, 0.1, seed)
    run = runs[twin]
    if twin == "scratch":
        evaluate = lambda: scratch.evaluate(twins.scratch, X, y)  # noqa: E731
    else:
        Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
        evaluate = lambda: torch_impl.evaluate(twins.net, Xt, yt, twins.loss_name)  # noqa: E731
    try:
        baseline = _status_kib("VmRSS")
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # reset VmHWM to the current RSS
    except OSError:  # not Linux, or not allowed: no resident-set figure, tracemalloc's still comes
        baseline = None
    run()
    evaluate()
    result = {"peak_growth_mib": None if baseline is None else (_status_kib("VmHWM") - baseline) / 1024}
    if twin == "scratch":  # NumPy reports its array allocations to tracemalloc; torch does not
        tracemalloc.start()
        run()
        evaluate()
        result["numpy_peak_mib"] = tracemalloc.get_traced_memory()[1] / 2 ** 20
        tracemalloc.stop()
    return result


def peak_memory(twin: str, sizes, rows: int, batch_size: int, dtype: str, threads: int, seed: int) -> dict:
    """``memory_probe`` in a fresh Python process, so neither twin's memory is billed to the other."""
    args = json.dumps([twin, list(sizes), rows, batch_size, dtype, threads, seed])
    code = "import json, sys; from compare.bench import memory_probe; print(json.dumps(memory_probe(*json.loads(sys.argv[1]))))"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    proc = subprocess.run([sys.executable, "-c", code, args], capture_output=True, text=True, env=env, cwd=ROOT)
    if proc.returncode != 0:
        raise RuntimeError(f"memory probe for {twin} failed:\n{proc.stderr}")
    return {"twin": twin, "dtype": dtype, "batch_size": batch_size, "rows": rows,
            **json.loads(proc.stdout.strip().splitlines()[-1])}


# --- the whole benchmark -------------------------------------------------------------------------

def _busy_jiffies() -> tuple[int, int] | None:
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:9]]
    except OSError:
        return None
    return sum(v) - v[3] - v[4], sum(v)  # busy (all but idle and iowait), total


def settings(config: BenchConfig) -> dict:
    import platform

    import torch
    from threadpoolctl import threadpool_info

    blas = [{k: p.get(k) for k in ("internal_api", "version", "architecture", "threading_layer", "num_threads")}
            for p in threadpool_info() if p["user_api"] == "blas"]
    return {"config": asdict(config), "threads": config.effective_threads, "blas": blas,
            "torch_threads": torch.get_num_threads(), "cpu_count": os.cpu_count(),
            "env": {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OMP_NUM_THREADS")},
            "versions": {"numpy": np.__version__, "torch": torch.__version__, "python": platform.python_version()},
            "platform": platform.platform()}


def run_bench(config: BenchConfig, progress: Callable[[str], None] = lambda message: None) -> dict:
    """Every measurement of ``mlp-compare bench``; returns the results as a JSON-ready dict."""
    from .threads import same_threads

    threads = config.effective_threads
    start, jiffies, cpu0 = time.perf_counter(), _busy_jiffies(), os.times()
    seed_sizes = [784, *SEED_HIDDEN, 10]
    with same_threads(threads):
        results = {"settings": settings(config), "calibration": {"gemm": {}}, "seed": [],
                   "scaling": {"width": [], "depth": []}, "memory": []}
        for dtype in config.dtypes:
            progress(f"calibration: {config.gemm_n}x{config.gemm_n} product, {dtype}")
            results["calibration"]["gemm"][dtype] = gemm_rate(config.gemm_n, dtype, config.reps)
        for dtype in config.dtypes:
            for b in config.batch_sizes:
                progress(f"seed network, {dtype}, batch {b}")
                results["seed"].append(measure_cell(seed_sizes, config.rows, b, dtype, config, lean=True))
        for w in config.widths:
            progress(f"width {w}")
            results["scaling"]["width"].append(measure_cell([784, w, 10], config.scaling_rows, 100, "float64", config))
        for d in config.depths:
            progress(f"depth {d}")
            results["scaling"]["depth"].append(
                measure_cell([784, *(SEED_HIDDEN * d), 10], config.scaling_rows, 100, "float64", config))
        for dtype in config.memory_dtypes:
            for twin in ("scratch", "torch"):
                progress(f"peak memory, {twin}, {dtype}")
                results["memory"].append(peak_memory(twin, seed_sizes, config.rows, 100, dtype, threads, config.seed))
    results["calibration"]["floor"] = {c["dtype"]: c["floor_s"] for c in results["seed"] if c["batch_size"] == 100}
    results["checks"] = checks(results["seed"])
    results["wall_s"] = time.perf_counter() - start
    results["other_load"] = other_load(jiffies, cpu0)
    return results


def other_load(jiffies, cpu0) -> float | None:
    """Share of the machine's CPU time that other processes used while the benchmark ran (0 to 1)."""
    now = _busy_jiffies()
    if jiffies is None or now is None or now[1] == jiffies[1]:
        return None
    cpu1 = os.times()
    ours = sum(cpu1[:4]) - sum(cpu0[:4])  # this process and its finished children (the memory probes)
    tick = os.sysconf("SC_CLK_TCK")  # /proc/stat counts in clock ticks
    others = (now[0] - jiffies[0]) / tick - ours
    return max(0.0, others / ((now[1] - jiffies[1]) / tick))


TARGETS = (  # (what, comparison, target), measured on the seed network
    ("scratch epoch / BLAS floor (float64, batch 100)", "at most", 1.2),
    ("torch epoch / scratch epoch (float64, batch 100)", "at least", 2.5),
    ("float64 scratch / float32 scratch (batch 100)", "at least", 1.5),
)


def checks(seed: list[dict]) -> list[dict]:
    """The issue's targets, each with its measured value from the same run: the first two are paired
    ratios within one group, the dtype ratio compares the medians of two groups."""
    cell = {(c["dtype"], c["batch_size"]): c for c in seed}
    f64, f32 = cell.get(("float64", 100)), cell.get(("float32", 100))
    values = [f64 and f64["scratch_over_floor"], f64 and f64["torch_over_scratch"],
              f64 and f32 and f64["scratch_s"] / f32["scratch_s"]]
    return [{"name": name, "value": v, "target": f"{cmp} {t}",
             "met": None if v is None else (v <= t if cmp == "at most" else v >= t)}
            for (name, cmp, t), v in zip(TARGETS, values)]
