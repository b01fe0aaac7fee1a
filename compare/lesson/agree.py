"""``agree``: the check cell of each lesson step, one NumPy value against its PyTorch counterpart.

It prints the largest difference (the number the learner reads) and fails the cell, in one line, when
the two differ by more than a float64 computation in another order can explain: the project's one
tolerance table (``compare.agreement.tolerances``, float64, the gradient row), as every other comparison.
"""

from __future__ import annotations

import numpy as np

from ..agreement.tolerances import compare_arrays, tolerance

RTOL, ATOL = tolerance("float64", "gradient")   # the twins agree to ~1e-15; a real mistake is off by far more


def as_numpy(value) -> np.ndarray:
    """A tensor (detached, on the host), an array or a number, as a float64 array."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value, dtype=np.float64)


def agree(name: str, numpy_value, torch_value, rtol: float | None = None, atol: float | None = None) -> None:
    """Print max |numpy - torch| for ``name``; ``AssertionError`` (one line) when they differ. Returns nothing,
    so a check cell ending with it echoes no ``Out:``.

    Both values have the same shape, e.g. a_out (n, 10) from ``forward`` and ``net(X)``. By default they are
    judged as every comparison here is (``compare_arrays``); ``rtol`` / ``atol`` set an entry-wise bound
    instead (0 and 0: exactly equal, as for predicted labels).
    """
    a, b = as_numpy(numpy_value), as_numpy(torch_value)
    if a.shape != b.shape:
        raise AssertionError(f"{name}: NumPy's has shape {a.shape}, PyTorch's {b.shape}; they must match")
    diff = float(np.max(np.abs(a - b), initial=0.0))
    if rtol is None and atol is None:
        ok = compare_arrays(name, a, b, "gradient", np.float64).passed
        rtol, atol = RTOL, ATOL
    else:
        rtol, atol = RTOL if rtol is None else rtol, ATOL if atol is None else atol
        ok = bool(np.all(np.abs(a - b) <= atol + rtol * np.abs(b)))
    print(f"{name:<28} {str(a.shape):<12} max abs difference {diff:.2g}" + ("" if ok else "  DIFFERS"))
    if not ok:
        raise AssertionError(f"{name}: NumPy and PyTorch differ by up to {diff:.3g} (tolerance rtol {rtol:g}, "
                             f"atol {atol:g}); the cells above no longer compute the same thing")
