"""The numbers derived from a cell's times (medians, GFLOP/s, paired ratios) and the speed targets.

Every derived number is computed from the ``times`` and ``flops`` stored in the same result, so the
JSON can be checked against itself.
"""

from __future__ import annotations

import statistics
from typing import Any

RATIOS = (("scratch", "floor"), ("torch", "floor"), ("torch", "scratch"), ("lean", "floor"), ("scratch", "lean"),
          ("torch", "torch_floor"), ("torch_floor", "floor"))  # torch_floor: torch's own products (evaluation)

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


def checks(cost: dict[str, Any] | None, evaluation: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The speed targets with their values from this run (``None`` where it did not measure them).

    ``cost`` is ``run_cost.run_cost``'s result, ``evaluation`` the float64 ``run_cost.evaluation_cell``.
    The in-run times must be each twin's own: torch/scratch in the run within 20 % of the same twins
    trained apart and of the bench's paired ratio, each twin within 20 % of its time alone; the default
    run at most 1.3x its work written plainly; evaluating at most 1.5x its forward products alone, each
    twin's in its own library (torch multiplies with its own BLAS, which need not be NumPy's).
    """
    within = lambda v: 1 / 1.2 <= v <= 1.2  # noqa: E731
    ratio = (cost or {}).get("torch_over_scratch", {})
    alone = (cost or {}).get("in_run_over_apart", {})
    rows: list[tuple[str, float | None, str, Any]] = [
        ("torch/scratch in the run / trained apart", ratio["in_run"] / ratio["apart"] if ratio else None,
         "within 20 %", within),
        ("torch/scratch in the run / the bench's paired (float64, batch 100)",
         ratio["in_run"] / ratio["paired"] if ratio and ratio.get("paired") else None, "within 20 %", within),
        *((f"{twin} training in the run / alone", alone.get(twin), "within 20 %", within)
          for twin in ("scratch", "torch")),
        ("default run wall / the same work written plainly", (cost or {}).get("run_over_plain"), "at most 1.3",
         lambda v: v <= 1.3),
        *((f"{twin} evaluation / its forward products alone in its own library (float64)",
           evaluation[f"{twin}_over_{floor}"] if evaluation else None, "at most 1.5", lambda v: v <= 1.5)
          for twin, floor in (("scratch", "floor"), ("torch", "torch_floor")))]
    return [{"name": name, "value": v, "target": target, "met": None if v is None else bool(test(v))}
            for name, v, target, test in rows]
