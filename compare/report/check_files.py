"""The check's files: ``report.html`` (self-contained), ``report.md`` with its figures, ``check.json``.

Training is handed to the run report's pieces in the shape of a run's ``metrics.json`` (``run_metrics``):
``compare.report.build_report`` draws its training, drift and test-set sections and ``compare.plots``
its figures, with the learner's class on the "scratch" side.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..data.load import CLASS_NAMES, Dataset
from ..files import save_figure, write_atomic, write_json
from ..learner.result import CheckReport
from . import plots
from .check_page import build_check_page
from .html import render_html
from .markdown import render_markdown_page
from .run_page import summarise_test_set


def _history_max_diff(history: dict[str, list[dict]]) -> float:
    diffs = [abs(s[k] - t[k]) for s, t in zip(history["scratch"], history["torch"]) for k in s if k != "epoch"]
    return float(max(diffs, default=0.0))


def settings(report: CheckReport) -> dict:
    t = report.training
    return {"epochs": t.epochs if t else 0, "batch_size": t.batch_size if t else "-", "lr": t.lr if t else "-",
            "seed": report.seed, "dtype": report.dtype, "activation": "sigmoid", "loss": "mse", "device": "cpu"}


def run_metrics(report: CheckReport, data: Dataset) -> dict | None:
    """Training in the shape of a run's metrics, for ``build_report``; None when nothing was trained."""
    t = report.training
    if t is None or not t.history["scratch"]:
        return None
    gc = report.gradient_check.as_dict() if report.gradient_check else {"params": [], "passed": False}
    m: dict[str, Any] = {
        "status": "complete" if t.predictions is not None else "diverged", "epochs_done": t.epochs_done,
        "config": settings(report), "sizes": list(report.sizes), "dataset": data.summary(), "gradient_check": gc,
        "gradient_check_batch": 0, "history": t.history, "history_max_diff": _history_max_diff(t.history),
        "max_weight_diff": t.max_weight_diff, "threads": {"numpy": "-", "torch": "-"}, "timing": {"phases": {}},
        "versions": {}, "class_names": CLASS_NAMES[data.name]}
    if t.stopped:
        m["stopped"] = {"message": t.stopped}
    if t.predictions is not None:
        m["test_acc"] = {side: float(np.mean(p == data.y_test)) for side, p in t.predictions.items()}
        m["test_set"] = summarise_test_set(data.y_test, t.predictions, data.num_classes)
        m["test_disagreements"] = m["test_set"]["disagreements"]["count"]
    steps = t.epochs_done * t.steps_per_epoch
    if steps and min(len(v) for v in t.step_loss.values()) >= steps:
        diff = np.abs(np.subtract(t.step_loss["scratch"][:steps], t.step_loss["torch"][:steps]))
        m["step_loss"] = {"steps": steps, "steps_per_epoch": t.steps_per_epoch, "max_abs_diff": float(diff.max()),
                          "identical": int(np.sum(diff == 0))}
    return m


def render_figures(report: CheckReport, m: dict, data: Dataset) -> dict:
    """``{file name: Figure}``: the run report's training figures for the check's training."""
    t = report.training
    assert t is not None  # run_metrics made m from it
    figs = {"training.png": plots.plot_training(
        m["history"], m["max_weight_diff"], "mse",
        title=f"your {report.class_name} (solid) and the twin (dashed): {' → '.join(map(str, report.sizes))}, "
              f"{report.dtype}"),
        "drift.png": plots.plot_drift({report.dtype: m["max_weight_diff"]})}
    if "step_loss" in m:
        steps = m["step_loss"]["steps"]
        figs["steps.png"] = plots.plot_step_losses({k: v[:steps] for k, v in t.step_loss.items()}, t.steps_per_epoch)
    ts = m.get("test_set")
    if ts is None:
        return figs
    names = m["class_names"]
    images = lambda idx: data.X_test[idx].reshape(-1, *data.image_shape)  # noqa: E731  (n, D) -> (n, h, w)
    figs["confusion.png"] = plots.plot_confusion({k: np.asarray(v) for k, v in ts["confusion"].items()}, names)
    for side, mis in ts["misclassified"].items():
        idx = np.asarray(mis["first"], dtype=np.int64)
        figs[f"misclassified_{side}.png"] = plots.plot_misclassified(
            images(idx), data.y_test[idx], np.asarray(mis["pred"]), names, plots.LABELS[side])
    dis = ts["disagreements"]
    if dis["count"]:
        idx = np.asarray(dis["first"], dtype=np.int64)
        figs["disagreements.png"] = plots.plot_disagreements(
            images(idx), data.y_test[idx], {k: np.asarray(dis[k]) for k in ("scratch", "torch")}, names)
    return figs


def write_report(report: CheckReport, out: Path, data: Dataset, cls: type | None = None) -> None:
    """Write ``check.json``, the figures, ``report.md`` and ``report.html`` into the folder ``out``."""
    out = Path(out)
    m = run_metrics(report, data)
    images = {} if m is None else {name: save_figure(fig, out / name)
                                   for name, fig in render_figures(report, m, data).items()}
    write_json(out / "check.json", report.as_dict())
    page = lambda: build_check_page(report, settings(report), m, set(images), cls)  # noqa: E731  (one per writer)
    write_atomic(out / "report.md", render_markdown_page(page()))
    write_atomic(out / "report.html", render_html(page(), images))
