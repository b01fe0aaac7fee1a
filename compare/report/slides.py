"""Slides of a run's key moments: 16:9, every text at least 14 pt and inside the canvas.

``training.png`` packs four panels into one page-sized figure; projected, its labels are too small to read
from the back of a room. Each function here draws one thing alone on a 12.8 x 7.2 in figure, which
``compare.files.save_figure`` (100 dpi) writes as 1280 x 720 px: shown 1280 px wide, a 14 pt text is 14 pt.
The training panels (same colours, line styles and labels as ``compare.report.plots``), the run's gradient
table and the confusion matrices come from ``metrics.json``; ``slide_table`` and ``slide_code`` also draw
the lesson's slides (``compare.lesson.lesson_slides``: the 10x trap, the intermediates bridge, the update lines).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .plots import HEATMAP, LOSS_TITLES, _gap_axes, _twin_lines, axes_title

SLIDE_INCHES = (12.8, 7.2)   # 16:9; 1280 x 720 px at the 100 dpi every figure is saved with
MIN_PT = 14                  # the smallest text a slide may hold
SIZES = {"title": 22, "label": 18, "ticks": 16, "legend": 16}


def _slide() -> tuple[Figure, Axes]:
    fig = Figure(figsize=SLIDE_INCHES)
    # room at the left for 16 pt tick labels like 1e-16 and the axis label beside them
    fig.subplots_adjust(left=0.13, right=0.97, bottom=0.13, top=0.9)
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


def _text_slide(heading: str) -> tuple[Figure, Axes]:
    fig = Figure(figsize=SLIDE_INCHES)
    ax = fig.add_axes((0.03, 0.03, 0.94, 0.82))
    ax.set_axis_off()
    fig.suptitle(heading, fontsize=SIZES["title"], y=0.95)
    return fig, ax


def slide_table(heading: str, header: Sequence[str], rows: Sequence[Sequence[str]], note: str = "") -> Figure:
    """A table at 16 pt, centred; ``note`` under it."""
    fig, ax = _text_slide(heading)
    table = ax.table(cellText=[list(r) for r in rows], colLabels=list(header), loc="upper center", cellLoc="left")
    table.auto_set_font_size(False)
    table.set_fontsize(SIZES["ticks"])
    table.scale(1, 2.2)
    table.auto_set_column_width(list(range(len(header))))
    for (row, _), cell in table.get_celld().items():
        if row == 0:
            cell.set_text_props(fontweight="bold")
    if note:
        ax.text(0.5, 0.0, note, ha="center", va="bottom", fontsize=SIZES["ticks"], transform=ax.transAxes, wrap=True)
    return fig


def slide_code(heading: str, columns: Sequence[tuple[str, str]], note: str = "") -> Figure:
    """Code side by side in monospace at 16 pt, each column under its heading and right of the one before
    it (placed by its drawn width); ``note`` under them."""
    fig, ax = _text_slide(heading)
    renderer = FigureCanvasAgg(fig).get_renderer()
    to_axes = ax.transAxes.inverted()
    x = 0.0
    for title, code in columns:
        texts = [ax.text(x, 0.95, title, fontsize=SIZES["label"], fontweight="bold", va="top", transform=ax.transAxes),
                 ax.text(x, 0.82, code.rstrip(), fontsize=SIZES["ticks"], family="monospace", va="top",
                         transform=ax.transAxes)]
        right = max(to_axes.transform(t.get_window_extent(renderer))[1][0] for t in texts)
        x = right + 0.05
    if note:
        ax.text(0.5, 0.0, note, ha="center", va="bottom", fontsize=SIZES["ticks"], transform=ax.transAxes, wrap=True)
    return fig


def slide_confusion(matrices: dict[str, np.ndarray], class_names: Sequence[str]) -> Figure:
    """Each twin's confusion matrix (rows true class, columns predicted), counts at 14 pt."""
    fig = Figure(figsize=SLIDE_INCHES)
    long = max(len(name) for name in class_names) > 2    # names, not digits: slanted, and room for them
    fig.subplots_adjust(left=0.1 if long else 0.07, right=0.98, bottom=0.2 if long else 0.14, top=0.86, wspace=0.3)
    short = [name if len(name) <= 7 else name[:6] + "." for name in class_names]
    for k, (twin, m) in enumerate(matrices.items()):
        ax = fig.add_subplot(1, len(matrices), k + 1)
        m = np.asarray(m)
        frac = m / np.maximum(m.sum(axis=1, keepdims=True), 1)
        ax.imshow(frac, cmap=HEATMAP, vmin=0, vmax=1)
        for (i, j), count in np.ndenumerate(m):
            if count:
                ax.text(j, i, str(count), ha="center", va="center", fontsize=MIN_PT,
                        color="white" if frac[i, j] > 0.6 else "black")
        ticks = range(len(class_names))
        ax.set_xticks(ticks, short, fontsize=MIN_PT, rotation=45 if long else 0, ha="right" if long else "center")
        ax.set_yticks(ticks, short, fontsize=MIN_PT)
        ax.set_xlabel("predicted class", fontsize=MIN_PT + 2)
        ax.set_ylabel("true class", fontsize=MIN_PT + 2)
        axes_title(ax, f"{twin}: {int(np.trace(m))} of {int(m.sum())} right", fontsize=SIZES["label"])
    return fig


def gradient_rows(params: Sequence[dict]) -> list[list[str]]:
    """The run's gradient check, one row per parameter: what a slide can show at 16 pt."""
    return [[p["label"], "×".join(map(str, p["shape"])), f"{p['max_rel_diff']:.1e}",
             "—" if p.get("fd_max_rel_diff") is None else f"{p['fd_max_rel_diff']:.1e}",
             f"{p['cosine']:.6f}", "agree" if p["passed"] else "DIFFER"] for p in params]


def slide_figures(metrics: dict) -> dict[str, Figure]:
    """``{"slides/<name>.png": Figure}``: one per panel of ``training.png``, the gradient table and the confusion
    matrices, from ``metrics.json``'s numbers."""
    history = metrics["history"]
    gaps = {name: row["max_weight_diff"] for name, row in metrics.get("dtype_comparison", {}).items()
            if row["max_weight_diff"]}   # as drift.png: a rerun stopped before its first epoch has no curve
    figs = {"slides/loss.png": slide_loss(history, metrics["config"]["loss"]),
            "slides/train_accuracy.png": slide_accuracy(history, "train_acc"),
            "slides/valid_accuracy.png": slide_accuracy(history, "valid_acc"),
            "slides/drift.png": slide_drift(gaps or {metrics["config"]["dtype"]: metrics["max_weight_diff"]})}
    gc = metrics.get("gradient_check")
    if gc and gc.get("params"):
        figs["slides/gradients.png"] = slide_table(
            "the scratch MLP's backward against autograd and finite differences",
            ["parameter", "shape", "vs autograd (rel)", "vs finite diff. (rel)", "cosine", "verdict"],
            gradient_rows(gc["params"]), f"{gc['dtype']}: a relative difference of 1e-16 is the last bit")
    ts = metrics.get("test_set")
    if ts and ts.get("confusion"):
        figs["slides/confusion.png"] = slide_confusion(ts["confusion"], metrics["class_names"])
    return figs
