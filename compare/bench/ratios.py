"""The numbers derived from a cell's times (medians, GFLOP/s, paired ratios) and the speed targets.

Every derived number is computed from the ``times`` and ``flops`` stored in the same result, so the
JSON can be checked against itself.
"""

from __future__ import annotations

import statistics
from typing import Any

RATIOS = (("scratch", "floor"), ("torch", "floor"), ("torch", "scratch"), ("lean", "floor"), ("scratch", "lean"),
          ("torch", "torch_floor"), ("torch_floor", "floor"))  # torch_floor: torch's own products (evaluation)


def per_round_ratios(a: list[float], b: list[float]) -> list[float]:
    """``a[i] / b[i]`` for each round: the two were timed moments apart in the same round."""
    return [x / y for x, y in zip(a, b)]


def paired_ratio(a: list[float], b: list[float]) -> float:
    """Median over rounds of ``a[i] / b[i]``: the two were timed moments apart in the same round, so a
    drift of the machine's speed between rounds cancels in each ratio (a ratio of medians can pair one
    member's fast round with the other's slow one)."""
    return statistics.median(per_round_ratios(a, b))


def ratio_range(a: list[float], b: list[float]) -> list[float]:
    """The least and the greatest of the per-round ratios ``a[i] / b[i]`` whose median ``paired_ratio`` is:
    how far the machine's changes of speed moved the ratio itself from round to round."""
    ratios = per_round_ratios(a, b)
    return [min(ratios), max(ratios)]


def derived(cell: dict[str, Any]) -> dict[str, Any]:
    """Medians, GFLOP/s and ratios of one cell, all computed from its ``times`` and ``flops``."""
    t: dict[str, list[float]] = cell["times"]
    s = {name: statistics.median(v) for name, v in t.items()}
    return {**{f"{name}_s": v for name, v in s.items()},
            **{f"{name}_gflops": cell["flops"] / v / 1e9 for name, v in s.items()},
            **{f"{a}_over_{b}": paired_ratio(t[a], t[b]) for a, b in RATIOS if a in t and b in t},
            "spread": {name: max(v) / min(v) for name, v in t.items()}}  # slowest / fastest round


def checks(cost: dict[str, Any] | None, evaluation: dict[str, Any] | None,
           folder: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The speed targets with their values from this run (``None`` where it did not measure them).

    ``cost`` is ``run_cost.run_cost``'s result, ``evaluation`` the float64 ``evaluation.evaluation_cell``.
    Each twin's time in the run must be its own: torch/scratch in the run within 20 % of the same twins
    trained apart and of the bench's paired ratio, each twin within 20 % of its time alone, both for the
    run's child processes (timed seconds to minutes away from the twins apart) and for the run's lockstep
    loop timed in pairs with them in this process. The default run at most 1.3x its work written plainly.
    Evaluating at most 1.5x its forward products at the bench's BLAS rate (NumPy's); torch's against its
    own BLAS's products too, which need not be as fast as NumPy's. ``check DIR`` (``folder_cost.folder_cost``)
    at most 0.35x a single ``check FILE`` per file.
    """
    within = lambda v: 1 / 1.2 <= v <= 1.2  # noqa: E731
    at_most = lambda limit: lambda v: v <= limit  # noqa: E731
    cost = cost or {}
    r = cost.get("torch_over_scratch", {})
    over = lambda a, b: r[a] / r[b] if r.get(a) and r.get(b) else None  # noqa: E731
    rows: list[tuple[str, float | None, str, Any]] = [
        ("torch/scratch in the run / trained apart", over("run", "apart"), "within 20 %", within),
        ("torch/scratch in the run / the bench's paired (float64, batch 100)", over("run", "paired"), "within 20 %",
         within),
        ("torch/scratch in the lockstep loop / trained apart (timed in pairs)", over("lockstep", "apart"),
         "within 20 %", within),
        *((f"{twin} training in the run / alone", cost.get("run_over_apart", {}).get(twin), "within 20 %", within)
          for twin in ("scratch", "torch")),
        *((f"{twin} training in the lockstep loop / alone (timed in pairs)",
           cost.get("lockstep_over_apart", {}).get(twin), "within 20 %", within) for twin in ("scratch", "torch")),
        ("default run wall / the same work written plainly", cost.get("run_over_plain"), "at most 1.3", at_most(1.3)),
        *((f"{twin} evaluation / its forward products in NumPy (float64)",
           evaluation[f"{twin}_over_floor"] if evaluation else None, "at most 1.5", at_most(1.5))
          for twin in ("scratch", "torch")),
        ("torch evaluation / its forward products in torch (float64)",
         evaluation["torch_over_torch_floor"] if evaluation else None, "at most 1.5", at_most(1.5)),
        ("check DIR per file / check FILE alone", folder["per_file_over_single"] if folder else None, "at most 0.35",
         at_most(0.35))]
    return [{"name": name, "value": v, "target": target, "met": None if v is None else bool(test(v))}
            for name, v, target, test in rows]
