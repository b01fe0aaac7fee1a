"""The check report's figures, drawn from plain data (``check_files.figure_inputs``).

This module imports NumPy, matplotlib and the figure functions only (never torch, never a learner's
class), so ``check DIR`` can draw a finished file's figures in a process of its own while the next file
is checked: what crosses is plain data one way and PNG bytes the other.
"""

from __future__ import annotations

import signal
from typing import Any

import numpy as np

from ..files import figure_png
from . import plots


def draw_figures(inputs: dict[str, Any]) -> dict[str, Any]:
    """``{file name: Figure}``: the run report's training figures for a check's training."""
    figs = {"training.png": plots.plot_training(inputs["history"], inputs["max_weight_diff"], "mse",
                                                title=inputs["title"]),
            "drift.png": plots.plot_drift({inputs["dtype"]: inputs["max_weight_diff"]})}
    if "step_loss" in inputs:
        figs["steps.png"] = plots.plot_step_losses(*inputs["step_loss"])
    if "confusion" not in inputs:
        return figs
    names = inputs["class_names"]
    figs["confusion.png"] = plots.plot_confusion({k: np.asarray(v) for k, v in inputs["confusion"].items()}, names)
    for side, (images, true, predicted) in inputs["misclassified"].items():
        figs[f"misclassified_{side}.png"] = plots.plot_misclassified(images, true, predicted, names,
                                                                     plots.LABELS[side])
    if "disagreements" in inputs:
        images, true, predicted = inputs["disagreements"]
        figs["disagreements.png"] = plots.plot_disagreements(images, true, predicted, names)
    return figs


def draw_pngs(inputs: dict[str, Any]) -> dict[str, bytes]:
    """``{file name: PNG bytes}`` of ``draw_figures(inputs)``."""
    return {name: figure_png(fig) for name, fig in draw_figures(inputs).items()}


def start_drawing_process() -> None:
    """The initializer of a drawing process: Ctrl-C is for the checking process, which decides what ends."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
