"""The one comparison helper, with one tolerance table per dtype, forward and gradient separately.

**Relative difference**, one meaning everywhere (every gradient table's columns, the terminal, the report,
the JSON): the largest absolute difference over what is compared, divided by the largest absolute
*reference* value over the same entries,

    rel = max |mine - reference| / max |reference|

so a gradient off by a constant factor c reads |c - 1| in every column: autograd's (entries), finite
differences' (sampled coordinates) and the directional one's (derivatives along random directions). It is
measured against the array's largest entry, not entry by entry: gradients have many entries near zero,
where entry-wise ratios mean nothing. A pair of arrays agrees when ``rel <= rtol + atol / max|reference|``,
the tolerance each table prints beside it.

Why these numbers:
- float64: manual backprop and autograd evaluate the same expressions in a different order; they
  agree to ~1e-16 relative (a few ulps). 1e-10 leaves six orders of headroom and still catches any
  real bug, which is off by far more than 1e-10.
- float32: the same few ulps are ~1e-7; sums over a batch of 100 pile up to ~1e-6. 1e-4 relative is
  safe, and still far below the size of any backprop mistake (a wrong factor, sign or layer).
- finite_difference / directional: fourth-order central differences computed in float64 on a float64
  copy of the network. Their truncation error is ~h^4 and their rounding error ~eps * |L| / h; the check adds
  that rounding bound as its atol at run time, so the rtol here is the real accuracy claim. A
  float32 model's own gradient is only good to ~1e-6, so float32 uses the float32 gradient rtol.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TOLERANCES = {
    # dtype name: {kind: (rtol, atol)}
    "float64": {"forward": (1e-12, 1e-14), "gradient": (1e-10, 1e-14),
                "finite_difference": (1e-6, 0.0), "directional": (1e-8, 0.0)},
    "float32": {"forward": (1e-5, 1e-6), "gradient": (1e-4, 1e-7),
                "finite_difference": (1e-4, 0.0), "directional": (1e-4, 0.0)},
}


@dataclass(frozen=True)
class Comparison:
    """How two arrays compare: shapes, then dtypes, then values."""

    name: str
    shape: tuple[int, ...]
    max_abs_diff: float
    max_rel_diff: float
    cosine: float
    rtol: float
    atol: float
    passed: bool
    problem: str = ""  # set when shapes or dtypes differ
    scale: float = 0.0  # max |reference|: what the relative difference is relative to

    @property
    def rel_tolerance(self) -> float:
        """The tolerance in the units of ``max_rel_diff``: ``rtol + atol / max|reference|``."""
        return self.rtol + (self.atol / self.scale if self.scale > 0 else 0.0)

    def as_dict(self) -> dict:
        return {"name": self.name, "shape": list(self.shape), "max_abs_diff": self.max_abs_diff,
                "max_rel_diff": self.max_rel_diff, "cosine": self.cosine, "passed": self.passed,
                "rtol": self.rtol, "atol": self.atol, "problem": self.problem}


def tolerance(dtype, kind: str = "gradient") -> tuple[float, float]:
    """``(rtol, atol)`` for comparing values of ``dtype`` (float32 or float64); ``kind`` is a key of its
    ``TOLERANCES`` row: forward, gradient, finite_difference or directional."""
    return TOLERANCES[np.dtype(dtype).name][kind]


def relative(max_abs: float, reference_scale: float) -> float:
    """``max_abs / reference_scale``: 0 when both are 0, inf when only the reference is 0."""
    if reference_scale > 0:
        return max_abs / reference_scale
    return 0.0 if max_abs == 0 else float("inf")


def cosine_similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine of the angle between a and b flattened; 1.0 when both are zero, 0.0 when only one is."""
    a, b = np.ravel(a).astype(np.float64), np.ravel(b).astype(np.float64)
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0 and nb == 0:
        return 1.0
    if na == 0 or nb == 0:
        return 0.0
    return float(np.dot(a, b) / (na * nb))


def compare_arrays(name: str, actual, expected, kind: str = "gradient", dtype=None) -> Comparison:
    """Compare ``actual`` with the reference ``expected``: shape first, then dtype, then values.

    ``dtype`` picks the tolerance row (default: ``expected``'s dtype). The relative difference is measured
    against ``expected``'s largest magnitude (see the module's docstring).
    """
    actual, expected = np.asarray(actual), np.asarray(expected)
    dtype = np.dtype(dtype or expected.dtype)
    rtol, atol = tolerance(dtype, kind)
    if actual.shape != expected.shape:
        return Comparison(name, tuple(expected.shape), np.inf, np.inf, 0.0, rtol, atol, False,
                          f"shape {actual.shape}, expected {expected.shape}")
    if actual.dtype != expected.dtype:
        return Comparison(name, tuple(expected.shape), np.inf, np.inf, 0.0, rtol, atol, False,
                          f"dtype {actual.dtype}, expected {expected.dtype}")
    a, e = actual.astype(np.float64), expected.astype(np.float64)
    if a.size == 0:
        return Comparison(name, tuple(e.shape), 0.0, 0.0, 1.0, rtol, atol, True)
    max_abs = float(np.max(np.abs(a - e)))
    scale = float(np.max(np.abs(e)))
    max_rel = relative(max_abs, scale)
    passed = bool(np.isfinite(max_abs) and max_abs <= atol + rtol * scale)
    return Comparison(name, tuple(e.shape), max_abs, max_rel, cosine_similarity(a, e), rtol, atol, passed,
                      scale=scale)
