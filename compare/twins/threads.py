"""One thread count for both libraries: NumPy's BLAS (through threadpoolctl) and torch's intra-op pool.

A speed comparison is only fair when both twins may use the same number of cores, so every place
that times or trains them sets both counts together, here.
"""

from __future__ import annotations

from contextlib import contextmanager

import torch
from threadpoolctl import threadpool_info, threadpool_limits


def _blas_threads() -> set[int]:
    return {lib["num_threads"] for lib in threadpool_info() if lib.get("user_api") == "blas"}


@contextmanager
def same_threads(threads: int):
    """NumPy's BLAS and torch on ``threads`` threads while the block runs; both restored after it.

    Where both already run on ``threads``, nothing is set, now or after: threads of one process that each
    check a file (a class folder) enter this at once, and OpenBLAS can spin forever when its thread count is
    set while another thread of the process is inside one of its products (seen: a matmul at 100 % CPU for
    minutes). Such callers set the count once, before their threads start.
    """
    if torch.get_num_threads() == threads and _blas_threads() <= {threads}:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with threadpool_limits(limits=threads, user_api="blas"):
            yield
    finally:
        torch.set_num_threads(before)
