"""Figures of both twins on the same axes. Every function returns a ``matplotlib.figure.Figure``.

Figures are built with ``Figure()`` directly (no pyplot), so no GUI backend is ever touched and
the Agg canvas renders them. Scratch is drawn solid, torch dashed, in one colour-blind-safe
palette (Okabe-Ito) used throughout the report. Image grids are drawn as one mosaic in one axes
(not one axes per digit): the report stays cheap to render next to training.

Lesson: the misclassified gallery is the book's, "True: t / Predicted: p" over the first 25 errors.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

# What each loss name means, for the titles (the names are scratch's and torch_impl's).
LOSS_TITLES = {"mse": "squared error summed over classes", "cross_entropy": "cross-entropy",
               "softmax_mse": "squared error on softmax outputs"}

# Okabe-Ito: distinguishable with every common colour-vision deficiency.
COLORS = {"scratch": "#0072B2", "torch": "#D55E00", "gap": "#009E73",
          "float64": "#009E73", "float32": "#CC79A7", "grey": "#666666"}
STYLES = {"scratch": dict(linestyle="-", linewidth=2.0), "torch": dict(linestyle="--", linewidth=2.0)}
LABELS = {"scratch": "scratch (NumPy)", "torch": "torch (nn.Sequential)"}
HEATMAP = "Blues"  # one hue, lightness only: reads the same with any colour-vision deficiency
TINY = 1e-300      # where an exact 0 must sit on a log axis
# Line figures use fixed margins: constrained layout costs half of each save, and the report must
# stay cheap next to training.
FIXED = dict(left=0.08, right=0.985, bottom=0.07)


def axes_title(ax, text: str, **style) -> None:
    """``ax.set_title`` at the top of the axes. With the tick labels below, that is where matplotlib's
    automatic placement leaves a title anyway (the PNG is byte for byte the same), and fixing it skips the
    layout of every y tick label that placement does on each save: 15 to 20 % of the report's figures."""
    ax.set_title(text, y=1.0, **style)


def _twin_lines(ax, history: dict[str, list[dict]], key: str, label_suffix: str = "", **extra) -> None:
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
    for twin in ("scratch", "torch"):
        rows = history[twin]
        ax.plot([r["epoch"] for r in rows], [r[key] for r in rows], color=COLORS[twin],
                label=LABELS[twin] + label_suffix, **{**STYLES[twin], **extra})


def plot_training(history: dict[str, list[dict]], max_weight_diff: list[float], loss: str = "mse",
                  title: str = "") -> Figure:
    """Loss L with the printed MSE, train accuracy, validation accuracy and max |W_scratch - W_torch| per epoch.

    On the log axis of the first panel the lesson's printed MSE sits exactly one decade (C = 10
    classes) below L: the 10x trap, visible.
    """
    fig = Figure(figsize=(11, 7.5))
    fig.subplots_adjust(**FIXED, hspace=0.32, wspace=0.3, top=0.91 if title else 0.95)
    axes = fig.subplots(2, 2)
    ax = axes.flat[0]
    loss_title = LOSS_TITLES[loss]
    _twin_lines(ax, history, "loss", ": loss L")
    _twin_lines(ax, history, "mse", ": printed MSE", marker="o", markersize=3, linewidth=1.2)
    ax.set_yscale("log")
    axes_title(ax, f"training loss L ({loss_title}) and printed MSE")
    ax.set(xlabel="epoch", ylabel="loss on the training set (log scale)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize="small")
    for ax, (key, heading) in zip(axes.flat[1:3], [("train_acc", "training accuracy"),
                                                   ("valid_acc", "validation accuracy")]):
        _twin_lines(ax, history, key)
        axes_title(ax, heading)
        ax.set(xlabel="epoch", ylabel="accuracy (fraction correct)")
        ax.grid(alpha=0.3)
        ax.legend()
    _gap_axes(axes.flat[3], {"": max_weight_diff})
    if title:
        fig.suptitle(title)
    return fig


def _gap_axes(ax, gaps: dict[str, Sequence[float]]) -> None:
    """max |W_scratch - W_torch| per epoch on a log axis, one line per dtype (key "" for a single run)."""
    for dtype, gap in gaps.items():
        label = f"max |W_scratch - W_torch|{', ' + dtype if dtype else ''}"
        ax.semilogy(range(1, len(gap) + 1), [max(d, TINY) for d in gap], marker="o", markersize=3,
                    color=COLORS.get(dtype, COLORS["gap"]), label=label)
        if dtype:
            # Machine epsilon: the spacing of numbers near 1 in that dtype, a natural floor for the gap.
            eps = float(np.finfo(dtype).eps)
            ax.axhline(eps, color=COLORS[dtype], linestyle=":", linewidth=1.2, label=f"{dtype} machine epsilon {eps:.1e}")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes_title(ax, "how far apart the twins drift")
    ax.set(xlabel="epoch", ylabel="max abs weight difference (log scale)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize="small")


def plot_drift(gaps: dict[str, Sequence[float]], title: str = "") -> Figure:
    """max |W_scratch - W_torch| after each epoch, log scale; one line per dtype ({"float64": [...], ...})."""
    fig = Figure(figsize=(9, 4.2))
    fig.subplots_adjust(**{**FIXED, "left": 0.115, "bottom": 0.12}, top=0.84 if title else 0.9)
    _gap_axes(fig.subplots(), gaps)
    if title:
        fig.suptitle(title)
    return fig


def plot_step_losses(step_loss: dict[str, Sequence[float]], steps_per_epoch: int) -> Figure:
    """Each twin's loss L on every training batch (before its update) and their absolute difference.

    Steps where the two losses are identical to the last bit cannot sit on the log axis; the panel
    says how many there were.
    """
    s, t = (np.asarray(step_loss[k], dtype=np.float64) for k in ("scratch", "torch"))
    steps = np.arange(1, len(s) + 1)
    fig = Figure(figsize=(11, 4))
    fig.subplots_adjust(**{**FIXED, "bottom": 0.13}, top=0.9, wspace=0.3)
    ax, dax = fig.subplots(1, 2)
    # Batch losses are noisy: drawn raw (faint) they hide the line styles, so each twin's mean over
    # the last epoch's worth of steps is drawn on top, solid and dashed.
    ax.plot(steps, s, color=COLORS["grey"], linewidth=0.5, alpha=0.35, label="each batch (both twins)")
    window = max(1, min(steps_per_epoch, len(s)))
    for twin, values in (("scratch", s), ("torch", t)):
        mean = np.convolve(values, np.ones(window) / window, mode="valid")
        ax.plot(steps[window - 1:], mean, color=COLORS[twin], label=f"{LABELS[twin]}, mean of {window} steps",
                **STYLES[twin])
    ax.set_yscale("log")
    axes_title(ax, "loss L on each mini-batch")
    ax.set(xlabel=f"training step ({steps_per_epoch} per epoch)", ylabel="batch loss L (log scale)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize="small")
    diff = np.abs(s - t)
    nonzero = diff > 0
    dax.semilogy(steps[nonzero], diff[nonzero], linestyle="none", marker=".", markersize=3, color=COLORS["gap"],
                 label=f"|L_scratch - L_torch|; {int(np.sum(~nonzero))} of {len(diff)} steps\nidentical to the last bit "
                       "(not shown)")
    axes_title(dax, "their difference on each mini-batch")
    dax.set(xlabel=f"training step ({steps_per_epoch} per epoch)", ylabel="absolute difference (log scale)")
    dax.grid(alpha=0.3, which="both")
    dax.legend()
    return fig


def _mosaic(images: np.ndarray, ncols: int, pad: int = 2) -> np.ndarray:
    """Tile images (n, h, w) into one (rows * (h + pad), ncols * (w + pad)) array; gaps are NaN (drawn white)."""
    n, h, w = images.shape
    nrows = max(1, -(-n // ncols))
    out = np.full((nrows * (h + pad), ncols * (w + pad)), np.nan)
    for i, img in enumerate(images):
        r, c = divmod(i, ncols)
        out[r * (h + pad):r * (h + pad) + h, c * (w + pad):c * (w + pad) + w] = img
    return out


def plot_image_grid(images: np.ndarray, captions: Sequence[str], title: str, ncols: int = 5,
                    cell_inches: float = 1.25, caption_lines: int = 2) -> Figure:
    """Images (n, h, w) in a grid, each with a caption above it (the book's gallery style).

    Pixels in [-1, 1] (or any range) are drawn with the book's ``cmap="Greys"``: ink is dark.
    Cells widen for long captions (Fashion-MNIST's "T-shirt/top") so neighbours never overlap.
    """
    images = np.asarray(images, dtype=np.float64)
    n, h, w = images.shape
    nrows = max(1, -(-n // ncols))
    longest = max((len(line) for c in captions for line in c.split("\n")), default=0)
    cell = max(cell_inches, 0.075 * longest + 0.1)    # ~0.07 in per character at 9 pt
    cap = caption_lines * 0.19                         # inches of caption above each image
    height = nrows * (cell_inches + cap) + 0.45
    fig = Figure(figsize=(ncols * cell, height))
    # Margins by hand, as for the line figures: the title's 0.45 in on top, the mosaic below. Constrained
    # layout would draw the whole figure once more on every save to find the same margins.
    fig.subplots_adjust(left=0.005, right=0.995, bottom=0.005, top=1 - 0.34 / height)
    ax = fig.subplots()
    pad_y = int(round(w * cap / cell_inches)) + 2      # the caption's room in pixels (cells are w wide)
    pad_x = int(round(w * (cell - cell_inches) / cell_inches)) + 2
    tiles = np.full((n, h + pad_y, w + pad_x - 2), np.nan)
    tiles[:, pad_y:, (pad_x - 2) // 2:(pad_x - 2) // 2 + w] = images
    ax.imshow(np.ma.masked_invalid(_mosaic(tiles, ncols, pad=2)), cmap="Greys", interpolation="nearest",
              vmin=np.nanmin(images) if n else 0, vmax=np.nanmax(images) if n else 1)
    cw, ch = w + pad_x, h + pad_y + 2
    for i, text in enumerate(captions):
        r, c = divmod(i, ncols)
        ax.text(c * cw + (cw - 2) / 2, r * ch + pad_y - 1, text, ha="center", va="bottom", fontsize=9,
                linespacing=1.1)
    ax.set_axis_off()
    fig.suptitle(title, y=1 - 0.05 / height, va="top")
    return fig


def plot_samples(images: np.ndarray, labels: np.ndarray, class_names: Sequence[str], per_class: int = 2) -> Figure:
    """The first ``per_class`` training images of every class, one column per class."""
    classes = range(len(class_names))
    picks = [np.flatnonzero(labels == c)[:per_class] for c in classes]
    order = [p[k] for k in range(per_class) for p in picks if k < len(p)]
    captions = [class_names[labels[i]] for i in order]
    return plot_image_grid(images[order], captions, f"training examples, {per_class} per class",
                           ncols=len(class_names), cell_inches=1.0, caption_lines=1)


def plot_confusion(matrices: dict[str, np.ndarray], class_names: Sequence[str]) -> Figure:
    """The confusion matrix of each twin side by side: rows true class, columns predicted, cells counts.

    Colour is the fraction of the true class (row), so errors in small classes still show. The
    layout is fixed by hand: a colorbar under constrained layout moves a little at every save, and
    the PNG bytes must not.
    """
    fig = Figure(figsize=(12, 5.8))
    grid = fig.add_gridspec(1, len(matrices) + 1, width_ratios=[1] * len(matrices) + [0.04],
                            left=0.08, right=0.94, bottom=0.17, top=0.93, wspace=0.3)
    short = [name if len(name) <= 8 else name[:7] + "." for name in class_names]
    for k, (twin, m) in enumerate(matrices.items()):
        ax = fig.add_subplot(grid[0, k])
        m = np.asarray(m)
        frac = m / np.maximum(m.sum(axis=1, keepdims=True), 1)
        im = ax.imshow(frac, cmap=HEATMAP, vmin=0, vmax=1)
        for (i, j), count in np.ndenumerate(m):
            if count:
                ax.text(j, i, str(count), ha="center", va="center", fontsize=7,
                        color="white" if frac[i, j] > 0.6 else "black")
        ticks = range(len(class_names))
        ax.set_xticks(ticks, short, rotation=45 if len(max(short, key=len)) > 2 else 0, ha="right", fontsize=8)
        ax.set_yticks(ticks, short, fontsize=8)
        axes_title(ax, f"{LABELS[twin]}: {int(np.trace(m))} of {int(m.sum())} correct")
        ax.set(xlabel="predicted class", ylabel="true class")
    fig.colorbar(im, cax=fig.add_subplot(grid[0, -1]), label="fraction of the true class")
    return fig


def plot_misclassified(images: np.ndarray, true: np.ndarray, pred: np.ndarray, class_names: Sequence[str],
                       who: str, limit: int = 25) -> Figure:
    """The first ``limit`` misclassified images (n, h, w) in the book's style, "k) True: t / Predicted: p"."""
    n = min(limit, len(images))
    captions = [f"{k + 1}) True: {class_names[t]}\nPredicted: {class_names[p]}"
                for k, (t, p) in enumerate(zip(true[:n], pred[:n]))]
    return plot_image_grid(images[:n], captions, f"{who}: the first {n} misclassified test images")


def plot_disagreements(images: np.ndarray, true: np.ndarray, preds: dict[str, np.ndarray],
                       class_names: Sequence[str], limit: int = 25) -> Figure:
    """Test images the twins label differently: the true class and each twin's prediction."""
    n = min(limit, len(images))
    captions = [f"True: {class_names[true[k]]}\nscratch: {class_names[preds['scratch'][k]]}\n"
                f"torch: {class_names[preds['torch'][k]]}" for k in range(n)]
    return plot_image_grid(images[:n], captions, f"the first {n} test images the twins label differently",
                           caption_lines=3)
