"""The numbers derived from a cell's times (medians, GFLOP/s, paired ratios) and the speed targets.

Every derived number is computed from the ``times`` and ``flops`` stored in the same result, so the
JSON can be checked against itself.
"""

from __future__ import annotations

import statistics
from typing import Any

RATIOS = (("scratch", "floor"), ("torch", "floor"), ("torch", "scratch"), ("lean", "floor"), ("scratch", "lean"))

# (what, comparison, target), measured on the seed network 784-50-10: scratch within 1.2x of the BLAS
# floor, torch at least 2.5x scratch's epoch time, and float32 at least 1.5x faster than float64.
TARGETS: tuple[tuple[str, str, float], ...] = (
    ("scratch epoch / BLAS floor (float64, batch 100)", "at most", 1.2),
    ("torch epoch / scratch epoch (float64, batch 100)", "at least", 2.5),
    ("float64 scratch / float32 scratch (batch 100)", "at least", 1.5),
)


def paired_ratio(a: list[float], b: list[float]) -> float:
    """Median over rounds of ``a[i] / b[i]``: the two were timed moments apart in the same round, so a
    drift of the machine's speed between rounds cancels in each ratio (a ratio of medians can pair one
    member's fast round with the other's slow one)."""
    return statistics.median(x / y for x, y in zip(a, b))


def derived(cell: dict[str, Any]) -> dict[str, Any]:
    """Medians, GFLOP/s and ratios of one cell, all computed from its ``times`` and ``flops``."""
    t: dict[str, list[float]] = cell["times"]
    s = {name: statistics.median(v) for name, v in t.items()}
    return {**{f"{name}_s": v for name, v in s.items()},
            **{f"{name}_gflops": cell["flops"] / v / 1e9 for name, v in s.items()},
            **{f"{a}_over_{b}": paired_ratio(t[a], t[b]) for a, b in RATIOS if a in t and b in t},
            "spread": {name: max(v) / min(v) for name, v in t.items()}}  # slowest / fastest round


def checks(seed: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each of ``TARGETS`` with its measured value from the seed cells of the same run (``None`` where
    the run has no cell for it): the first two are paired ratios within one group, the dtype ratio
    compares the medians of two groups."""
    cell = {(c["dtype"], c["batch_size"]): c for c in seed}
    f64, f32 = cell.get(("float64", 100)), cell.get(("float32", 100))
    values: list[float | None] = [f64["scratch_over_floor"] if f64 else None,
                                  f64["torch_over_scratch"] if f64 else None,
                                  f64["scratch_s"] / f32["scratch_s"] if f64 and f32 else None]
    return [{"name": name, "value": v, "target": f"{cmp} {t}",
             "met": None if v is None else (v <= t if cmp == "at most" else v >= t)}
            for (name, cmp, t), v in zip(TARGETS, values)]
