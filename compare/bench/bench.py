"""How fast is each twin, next to what this machine's BLAS can do at all? (``mlp-compare bench``)

Everything runs in one process with the same thread count for NumPy's BLAS (threadpoolctl) and for
torch: a calibration product, the seed network at each dtype and batch size (beside the BLAS floor and
the NumPy limit), the width and depth sweeps, then the peak-memory probes. The parts:

- ``config``: ``BenchConfig``, the settings;
- ``epochs``: the work that is timed (synthetic batches, the BLAS floor, the twins' epochs);
- ``timing``: groups of epochs timed in turn, round after round (``measure_cell``);
- ``ratios``: medians, GFLOP/s and paired ratios of each cell, and the speed targets (``checks``);
- ``memory``: peak memory, one fresh process per twin;
- ``run_cost`` and ``folder_cost``: the default run and ``check DIR``, as a user starts them;
- this module: the whole run, its settings and how busy the machine was meanwhile.

Lesson: the training loop of "Implementing a Multi-Layer NN" (784 -> 50 -> 10, batch 100, 55,000 rows).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

import numpy as np

from .config import SEED_HIDDEN, BenchConfig
from .evaluation import evaluation_cell
from .folder_cost import folder_cost
from .memory import peak_memory
from .ratios import checks
from .run_cost import ChildFailed, run_cost
from .timing import device_cell, gemm_rate, measure_cell


def _busy_jiffies() -> tuple[int, int] | None:
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:9]]
    except OSError:
        return None
    return sum(v) - v[3] - v[4], sum(v)  # busy (all but idle and iowait), total


def settings(config: BenchConfig) -> dict[str, Any]:
    """The configuration, thread counts, BLAS, environment and versions the run measured with."""
    import platform

    import torch
    from threadpoolctl import threadpool_info

    from ..thread_pools import spin_settings

    blas = [{k: p.get(k) for k in ("internal_api", "version", "architecture", "threading_layer", "num_threads")}
            for p in threadpool_info() if p["user_api"] == "blas"]
    return {"config": asdict(config), "threads": config.effective_threads, "blas": blas,
            "torch_threads": torch.get_num_threads(), "cpu_count": os.cpu_count(),
            "env": {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OMP_NUM_THREADS")},
            "thread_pools": spin_settings(),
            "versions": {"numpy": np.__version__, "torch": torch.__version__, "python": platform.python_version()},
            "platform": platform.platform()}


def run_bench(config: BenchConfig, progress: Callable[[str], None] = lambda message: None) -> dict[str, Any]:
    """Every measurement of ``mlp-compare bench``; returns the results as a JSON-ready dict."""
    from ..twins.threads import same_threads

    threads = config.effective_threads
    start, jiffies, cpu0 = time.perf_counter(), _busy_jiffies(), os.times()
    seed_sizes = [784, *SEED_HIDDEN, 10]
    gemm: dict[str, dict[str, float]] = {}
    seed: list[dict[str, Any]] = []
    width: list[dict[str, Any]] = []
    depth: list[dict[str, Any]] = []
    memory: list[dict[str, Any]] = []
    with same_threads(threads):
        run_settings = settings(config)
        for dtype in config.dtypes:
            progress(f"calibration: {config.gemm_n}x{config.gemm_n} product, {dtype}")
            gemm[dtype] = gemm_rate(config.gemm_n, dtype, config.reps)
        for dtype in config.dtypes:
            for b in config.batch_sizes:
                progress(f"seed network, {dtype}, batch {b}")
                seed.append(measure_cell(seed_sizes, config.rows, b, dtype, config, lean=True))
        for w in config.widths:
            progress(f"width {w}")
            width.append(measure_cell([784, w, 10], config.scaling_rows, 100, "float64", config))
        for d in config.depths:
            progress(f"depth {d}")
            depth.append(measure_cell([784, *(SEED_HIDDEN * d), 10], config.scaling_rows, 100, "float64", config))
        gpu, gpu_seed = gpu_name(), []
        if gpu is not None:  # the twin's epoch on the GPU, beside the CPU epochs above
            for dtype in config.dtypes:
                progress(f"seed network on the GPU, {dtype}, batch 100")
                gpu_seed.append(device_cell(seed_sizes, config.rows, 100, dtype, config, "cuda"))
        progress(f"evaluation of {config.rows} + {config.eval_valid_rows} rows beside its forward products")
        evaluation = evaluation_cell(config.rows, config.eval_valid_rows, config)
        for dtype in config.memory_dtypes:
            for twin in ("scratch", "torch"):
                progress(f"peak memory, {twin}, {dtype}")
                memory.append(peak_memory(twin, seed_sizes, config.rows, 100, dtype, threads, config.seed))
    floor = {c["dtype"]: c["floor_s"] for c in seed if c["batch_size"] == 100}
    f64 = next((c for c in seed if (c["dtype"], c["batch_size"]) == ("float64", 100)), None)
    cost = None
    if config.run_epochs:  # outside same_threads: the children set their own threads, this process waits
        progress(f"the default run ({config.run_epochs} epochs), its work written plainly, the twins apart")
        try:
            cost = run_cost(config, f64["floor_gflops"] if f64 else None, f64["torch_over_scratch"] if f64 else None)
        except ChildFailed as e:  # everything measured so far is kept; the run section says what failed
            cost = {"error": str(e)}
    folder = None
    if config.folder_files:
        progress(f"check DIR over {config.folder_files} correct files against check FILE, --epochs "
                 f"{config.folder_epochs}")
        try:
            folder = folder_cost(config.folder_files, config.folder_epochs, config.reps)
        except ChildFailed as e:
            folder = {"error": str(e)}
    measured = lambda section: None if section is None or "error" in section else section  # noqa: E731
    return {"settings": run_settings, "calibration": {"gemm": gemm, "floor": floor}, "seed": seed,
            "scaling": {"width": width, "depth": depth}, "memory": memory, "evaluation": evaluation,
            "gpu": {"name": gpu, "seed": gpu_seed}, "run": cost, "folder": folder,
            "checks": checks(measured(cost), evaluation, measured(folder)),
            "wall_s": time.perf_counter() - start, "other_load": other_load(jiffies, cpu0)}


def gpu_name() -> str | None:
    """The CUDA GPU torch would use, or ``None`` without one."""
    import torch

    return torch.cuda.get_device_name(0) if torch.cuda.is_available() else None


def other_load(jiffies: tuple[int, int] | None, cpu0: os.times_result) -> float | None:
    """Share of the machine's CPU time that other processes used while the benchmark ran (0 to 1)."""
    now = _busy_jiffies()
    if jiffies is None or now is None or now[1] == jiffies[1]:
        return None
    cpu1 = os.times()
    ours = sum(cpu1[:4]) - sum(cpu0[:4])  # this process and its finished children (the memory probes)
    tick = os.sysconf("SC_CLK_TCK")  # /proc/stat counts in clock ticks
    others = (now[0] - jiffies[0]) / tick - ours
    return max(0.0, others / ((now[1] - jiffies[1]) / tick))
