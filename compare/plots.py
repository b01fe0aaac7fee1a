"""Figures of both twins on the same axes. Every function returns a ``matplotlib.figure.Figure``.

Figures are built with ``Figure()`` directly (no pyplot), so no GUI backend is ever touched and
the Agg canvas renders them. Scratch is drawn solid, torch dashed, in one colour-blind-safe
palette (Okabe-Ito) used throughout the report.
"""

from __future__ import annotations

from matplotlib.figure import Figure

# Okabe-Ito: distinguishable with every common colour-vision deficiency.
COLORS = {"scratch": "#0072B2", "torch": "#D55E00", "gap": "#009E73"}
STYLES = {"scratch": dict(linestyle="-", linewidth=2.0), "torch": dict(linestyle="--", linewidth=2.0)}
LABELS = {"scratch": "scratch (NumPy)", "torch": "torch (nn.Sequential)"}


def _twin_lines(ax, history: dict[str, list[dict]], key: str) -> None:
    for twin in ("scratch", "torch"):
        rows = history[twin]
        ax.plot([r["epoch"] for r in rows], [r[key] for r in rows], color=COLORS[twin],
                label=LABELS[twin], **STYLES[twin])


def plot_training(history: dict[str, list[dict]], max_weight_diff: list[float], loss: str = "mse",
                  title: str = "") -> Figure:
    """Loss L, train accuracy, validation accuracy and max |W_scratch - W_torch| per epoch."""
    fig = Figure(figsize=(11, 8), layout="constrained")
    axes = fig.subplots(2, 2)
    loss_title = {"mse": "squared error summed over classes", "cross_entropy": "cross-entropy"}[loss]
    panels = [("loss", f"training loss L ({loss_title})", "loss L"),
              ("train_acc", "training accuracy", "accuracy (fraction)"),
              ("valid_acc", "validation accuracy", "accuracy (fraction)")]
    for ax, (key, heading, ylabel) in zip(axes.flat, panels):
        _twin_lines(ax, history, key)
        ax.set(title=heading, xlabel="epoch", ylabel=ylabel)
        ax.grid(alpha=0.3)
        ax.legend()
    ax = axes.flat[3]
    epochs = list(range(1, len(max_weight_diff) + 1))
    # A difference of exactly 0 cannot sit on a log axis; show it at the smallest positive double.
    ax.semilogy(epochs, [max(d, 5e-324) for d in max_weight_diff], color=COLORS["gap"], marker="o",
                markersize=3, label="max |W_scratch - W_torch|")
    ax.set(title="how far apart the twins drift", xlabel="epoch", ylabel="max abs weight difference (log scale)")
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    if title:
        fig.suptitle(title)
    return fig

