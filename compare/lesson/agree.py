"""``agree``: the check cell of each lesson step, one NumPy value against its PyTorch counterpart.

It prints the largest difference (the number the learner reads) and fails the cell, in one line, when
the two differ by more than a float64 computation in another order can explain.
"""

from __future__ import annotations

import numpy as np

RTOL, ATOL = 1e-9, 1e-12   # float64: the twins agree to ~1e-15; a real mistake is off by far more


def as_numpy(value) -> np.ndarray:
    """A tensor (detached, on the host), an array or a number, as a float64 array."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value, dtype=np.float64)


def agree(name: str, numpy_value, torch_value, rtol: float = RTOL, atol: float = ATOL) -> float:
    """Print and return max |numpy - torch| for ``name``; ``AssertionError`` (one line) when they differ.

    Both values have the same shape, e.g. a_out (n, 10) from ``forward`` and ``net(X)``.
    """
    a, b = as_numpy(numpy_value), as_numpy(torch_value)
    if a.shape != b.shape:
        raise AssertionError(f"{name}: NumPy's has shape {a.shape}, PyTorch's {b.shape}; they must match")
    diff = float(np.max(np.abs(a - b), initial=0.0))
    ok = bool(np.all(np.abs(a - b) <= atol + rtol * np.abs(b)))
    print(f"{name:<28} {str(a.shape):<12} max abs difference {diff:.2g}" + ("" if ok else "  DIFFERS"))
    if not ok:
        raise AssertionError(f"{name}: NumPy and PyTorch differ by up to {diff:.3g} (tolerance rtol {rtol:g}, "
                             f"atol {atol:g}); the cells above no longer compute the same thing")
    return diff
