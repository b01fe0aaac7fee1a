"""The training figure's panels, one figure each, at slide size: 16:9, every text at least 14 pt.

``training.png`` packs four panels into one page-sized figure; projected, its labels are too small to read
from the back of a room. Each function here draws one of those panels alone on a 12.8 x 7.2 in figure,
which ``compare.files.save_figure`` (100 dpi) writes as 1280 x 720 px: shown 1280 px wide, a 14 pt text is
14 pt. Same colours, line styles and labels as ``compare.report.plots``.
"""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .plots import LOSS_TITLES, _gap_axes, _twin_lines, axes_title

SLIDE_INCHES = (12.8, 7.2)   # 16:9; 1280 x 720 px at the 100 dpi every figure is saved with
MIN_PT = 14                  # the smallest text a slide may hold
SIZES = {"title": 22, "label": 18, "ticks": 16, "legend": 16}


def _slide() -> tuple[Figure, Axes]:
    fig = Figure(figsize=SLIDE_INCHES)
    fig.subplots_adjust(left=0.1, right=0.97, bottom=0.13, top=0.9)
    return fig, fig.add_subplot()


def _readable(ax, heading: str, xlabel: str, ylabel: str) -> None:
    """Slide-size title, labels, tick labels (major and minor, offset text too) and legend."""
    axes_title(ax, heading, fontsize=SIZES["title"])
    ax.set_xlabel(xlabel, fontsize=SIZES["label"])
    ax.set_ylabel(ylabel, fontsize=SIZES["label"])
    ax.tick_params(which="both", labelsize=SIZES["ticks"])
    for axis in (ax.xaxis, ax.yaxis):
        axis.get_offset_text().set_fontsize(SIZES["ticks"])
    ax.legend(fontsize=SIZES["legend"])   # drawn again: the shared helpers draw theirs "small"


def slide_loss(history: dict[str, list[dict]], loss: str = "mse") -> Figure:
    """Loss L and the printed MSE per epoch, both twins, log scale (the training figure's first panel)."""
    fig, ax = _slide()
    _twin_lines(ax, history, "loss", ": loss L", linewidth=3)
    _twin_lines(ax, history, "mse", ": printed MSE", marker="o", markersize=5, linewidth=2)
    ax.set_yscale("log")
    ax.grid(alpha=0.3, which="both")
    what = LOSS_TITLES[loss]
    _readable(ax, f"training loss L ({what}) and printed MSE", "epoch", "loss on the training set (log scale)")
    return fig


def slide_accuracy(history: dict[str, list[dict]], key: str) -> Figure:
    """Accuracy per epoch of both twins, ``key`` "train_acc" or "valid_acc"."""
    fig, ax = _slide()
    _twin_lines(ax, history, key, linewidth=3)
    ax.grid(alpha=0.3)
    heading = {"train_acc": "training accuracy", "valid_acc": "validation accuracy"}[key]
    _readable(ax, heading, "epoch", "accuracy (fraction correct)")
    return fig


def slide_drift(gaps: dict[str, Sequence[float]]) -> Figure:
    """max |W_scratch - W_torch| per epoch, log scale; one line per dtype ("" for a single run)."""
    fig, ax = _slide()
    _gap_axes(ax, gaps)
    _readable(ax, "how far apart the twins drift", "epoch", "max abs weight difference (log scale)")
    return fig


def slide_figures(metrics: dict) -> dict[str, Figure]:
    """``{"slides/<name>.png": Figure}``: one per panel of ``training.png``, from ``metrics.json``'s numbers."""
    history = metrics["history"]
    gaps = {name: row["max_weight_diff"] for name, row in metrics.get("dtype_comparison", {}).items()
            if row["max_weight_diff"]}   # as drift.png: a rerun stopped before its first epoch has no curve
    return {"slides/loss.png": slide_loss(history, metrics["config"]["loss"]),
            "slides/train_accuracy.png": slide_accuracy(history, "train_acc"),
            "slides/valid_accuracy.png": slide_accuracy(history, "valid_acc"),
            "slides/drift.png": slide_drift(gaps or {metrics["config"]["dtype"]: metrics["max_weight_diff"]})}
