"""The report's dtype comparison (``--compare-dtypes``): one row per dtype, and what became of a rerun
that stopped early (it diverged, was interrupted or skipped; the first run is always whole); and how to read
a difference of 1e-16 beside a gradient table."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .html import Note, Table


def dtype_comparison_blocks(m: dict, sci: Callable[[float], str]) -> list:
    """The blocks closing the drift section; ``sci`` formats a difference (``compare.report.sci``)."""
    dc = m.get("dtype_comparison")
    if not dc:
        return [Note("Run with `--compare-dtypes` to train the same twins in float32 beside float64 and see "
                     "~1e-15 against ~1e-7 here.")]
    blocks: list = ["The same run (same seed, data and batches) in both dtypes:",
                    Table(["dtype", "epochs", "max |ΔW| after epoch 1", "after the last epoch", "histories differ by",
                           "test images labelled differently", "torch / scratch time"],
                          [dtype_comparison_row(name, r, sci) for name, r in dc.items()])]
    return blocks + [Note(f"**The `{name}` rerun {r['status']}:** {r['message']}. The `{m['config']['dtype']}` run "
                          f"is complete; the `{name}` row holds the {r['epochs_done']} of {m['config']['epochs']} "
                          f"epochs the rerun finished.", "warn")
                     for name, r in dc.items() if r.get("status", "complete") != "complete"]


def dtype_comparison_row(name: str, r: dict, sci: Callable[[float], str]) -> list[str]:
    """One dtype's row; a rerun that stopped early shows "—" where it has no number."""
    gap = r["max_weight_diff"]

    def cell(key: str, fmt: Callable) -> str:
        return fmt(r[key]) if key in r else "—"

    status = "" if r.get("status", "complete") == "complete" else f" ({r['status']})"
    return [f"`{name}`", f"{r.get('epochs_done', len(gap))}{status}", sci(gap[0]) if gap else "—",
            sci(gap[-1]) if gap else "—", cell("history_max_diff", sci), cell("test_disagreements", str),
            cell("torch_over_scratch", lambda x: f"{x:.2f}×")]


def reading_differences(dtype: str) -> Note:
    """The sentence beside a gradient table: what a difference near the dtype's last bit means."""
    eps = float(np.finfo(np.dtype(dtype)).eps)
    tiny = "1e-16" if np.dtype(dtype) == np.float64 else "1e-7"
    return Note(f"How to read {tiny}: {dtype}'s last bit is {eps:.2g} of the value (`np.finfo({dtype}).eps`), so a "
                f"difference of {tiny} is rounding, the two sides computing the same numbers in another order. A real "
                f"mistake is off by far more: 1e-3 and up, often a whole factor (2, 10, the batch size). Every "
                f"\"rel\" column means max |manual − reference| / max |reference| over what that opinion compares "
                f"(entries, sampled coordinates, random directions), so a factor c reads |c − 1| in each; the "
                f"tolerance in brackets is in the same units.")
