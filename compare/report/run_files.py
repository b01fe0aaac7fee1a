"""The run's report files: its figures, ``report.md`` and the self-contained ``report.html``.

Everything here is drawn from ``metrics.json``'s numbers (plus, when given, the run's dataset for the
image galleries and each twin's per-step losses), so a report can be written again from saved metrics.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..data.load import Dataset
from ..files import save_figure, write_atomic
from . import plots
from .html import render_html
from .markdown import render_markdown_page
from .run_page import build_report
from .slides import slide_figures

FIGURES_NEED_DATA = ("samples.png", "confusion.png", "misclassified_scratch.png", "misclassified_torch.png",
                     "disagreements.png")


def render_figures(metrics: dict, data: Dataset | None, step_loss: dict | None) -> dict:
    """``{file name: Figure}`` for every figure this run's numbers (and images, given ``data``) allow."""
    c = metrics["config"]
    figs = {"training.png": plots.plot_training(
        metrics["history"], metrics["max_weight_diff"], c["loss"],
        title=f"{metrics['dataset']['name']}: {' → '.join(map(str, metrics['sizes']))}, "
              f"{c['activation']}, {c['loss']}, {c['dtype']}")}
    gaps = {name: row["max_weight_diff"] for name, row in metrics.get("dtype_comparison", {}).items()
            if row["max_weight_diff"]}  # a rerun stopped before its first epoch has no curve
    figs["drift.png"] = plots.plot_drift(gaps or {c["dtype"]: metrics["max_weight_diff"]})
    if step_loss:
        figs["steps.png"] = plots.plot_step_losses(step_loss, metrics["step_loss"]["steps_per_epoch"])
    ts = metrics.get("test_set")
    if data is None or ts is None:
        return figs
    names = metrics["class_names"]
    images = lambda X, idx: X[idx].reshape(-1, *data.image_shape)  # noqa: E731  (n, D) rows -> (n, h, w)
    figs["samples.png"] = plots.plot_samples(data.X_train.reshape(-1, *data.image_shape), data.y_train, names)
    figs["confusion.png"] = plots.plot_confusion({t: np.asarray(m) for t, m in ts["confusion"].items()}, names)
    for twin, mis in ts["misclassified"].items():
        idx = np.asarray(mis["first"], dtype=np.int64)
        figs[f"misclassified_{twin}.png"] = plots.plot_misclassified(
            images(data.X_test, idx), data.y_test[idx], np.asarray(mis["pred"]), names, plots.LABELS[twin])
    dis = ts["disagreements"]
    if dis["count"]:
        idx = np.asarray(dis["first"], dtype=np.int64)
        figs["disagreements.png"] = plots.plot_disagreements(
            images(data.X_test, idx), data.y_test[idx], {t: np.asarray(dis[t]) for t in ("scratch", "torch")}, names)
    return figs


def write_outputs(metrics: dict, out: Path, data: Dataset | None = None, step_loss: dict | None = None,
                  slides: bool = False) -> None:
    """The run's report files: the figures, report.md and the self-contained report.html (they link to the lesson).

    ``data`` (the run's dataset) gives the images of the sample grid and the galleries, and
    ``step_loss`` each twin's loss per training step; without them those figures are left out.
    ``slides``: also write each panel of ``training.png`` alone at slide size into ``out/slides/``.
    """
    out = Path(out)
    metrics["timing"].setdefault("total_s", sum(metrics["timing"]["phases"].values()))
    images = {name: save_figure(fig, out / name) for name, fig in render_figures(metrics, data, step_loss).items()}
    if slides:
        (out / "slides").mkdir(exist_ok=True)
        for name, fig in slide_figures(metrics).items():
            save_figure(fig, out / name)
    write_atomic(out / "report.md", render_markdown_page(build_report(metrics, str(out), "lesson.md", set(images))))
    page = build_report(metrics, str(out), "lesson.html", set(images))
    write_atomic(out / "report.html", render_html(page, images))
