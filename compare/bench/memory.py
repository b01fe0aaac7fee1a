"""Peak memory of one training epoch plus one evaluation, each twin in a fresh process.

A fresh process per twin keeps one library's allocations and lazily touched buffers from being billed
to the other. The resident-set figures come from Linux's ``/proc/self/status``; elsewhere only
tracemalloc's count of NumPy's arrays (scratch) is reported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]  # the repository root, where the packages scratch and compare live


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field + ":"))


def memory_probe(twin: str, sizes: Sequence[int], rows: int, batch_size: int, dtype: str, threads: int,
                 seed: int) -> dict[str, float | None]:
    """Peak resident memory one training epoch plus one evaluation of the training rows adds.

    Runs in a fresh process (see ``peak_memory``). The baseline is taken after both libraries are
    imported and the data, batches and model exist; the kernel's high-water mark is then reset
    (``/proc/self/clear_refs``), so the growth counts what training needs: parameters, gradients,
    temporaries, autograd's saved tensors and the libraries' lazily touched work buffers.
    """
    import tracemalloc

    import torch
    from threadpoolctl import threadpool_limits

    import scratch
    import torch_impl

    from .epochs import gather_batches, synthetic_data, twin_epochs

    torch.set_num_threads(threads)
    threadpool_limits(threads, user_api="blas")
    X, y = synthetic_data(rows, dtype, seed)
    batches = gather_batches(X, y, batch_size, seed)
    twins, runs = twin_epochs(sizes, batches, dtype, 0.1, seed)
    run = runs[twin]
    evaluate: Callable[[], object]
    if twin == "scratch":
        evaluate = lambda: scratch.evaluate(twins.scratch, X, y)  # noqa: E731
    else:
        Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
        evaluate = lambda: torch_impl.evaluate(twins.net, Xt, yt, twins.loss_name)  # noqa: E731
    baseline: int | None
    try:
        baseline = _status_kib("VmRSS")
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # reset VmHWM to the current RSS
    except OSError:  # not Linux, or not allowed: no resident-set figure, tracemalloc's still comes
        baseline = None
    run()
    evaluate()
    result: dict[str, float | None] = {
        "peak_growth_mib": None if baseline is None else (_status_kib("VmHWM") - baseline) / 1024}
    if twin == "scratch":  # NumPy reports its array allocations to tracemalloc; torch does not
        tracemalloc.start()
        run()
        evaluate()
        result["numpy_peak_mib"] = tracemalloc.get_traced_memory()[1] / 2 ** 20
        tracemalloc.stop()
    return result


def peak_memory(twin: str, sizes: Sequence[int], rows: int, batch_size: int, dtype: str, threads: int,
                seed: int) -> dict[str, Any]:
    """``memory_probe`` in a fresh Python process, so neither twin's memory is billed to the other."""
    args = json.dumps([twin, list(sizes), rows, batch_size, dtype, threads, seed])
    code = ("import json, sys; from compare.bench.memory import memory_probe; "
            "print(json.dumps(memory_probe(*json.loads(sys.argv[1]))))")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    proc = subprocess.run([sys.executable, "-c", code, args], capture_output=True, text=True, env=env, cwd=ROOT)
    if proc.returncode != 0:
        raise RuntimeError(f"memory probe for {twin} failed:\n{proc.stderr}")
    return {"twin": twin, "dtype": dtype, "batch_size": batch_size, "rows": rows,
            **json.loads(proc.stdout.strip().splitlines()[-1])}
