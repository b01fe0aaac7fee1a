"""One thread count for both libraries: NumPy's BLAS (through threadpoolctl) and torch's intra-op pool.

A speed comparison is only fair when both twins may use the same number of cores, so every place
that times or trains them sets both counts together, here.
"""

from __future__ import annotations

from contextlib import contextmanager

import torch
from threadpoolctl import threadpool_limits


@contextmanager
def same_threads(threads: int):
    """NumPy's BLAS and torch on ``threads`` threads while the block runs; both restored after it."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with threadpool_limits(limits=threads, user_api="blas"):
            yield
    finally:
        torch.set_num_threads(before)
