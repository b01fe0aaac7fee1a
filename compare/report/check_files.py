"""The check's files: ``report.html`` (self-contained), ``report.md`` with its figures, ``check.json``.

Training is handed to the run report's pieces in the shape of a run's ``metrics.json`` (``run_metrics``):
``compare.report.build_report`` draws its training, drift and test-set sections and ``check_figures``
its figures, with the learner's class on the "scratch" side.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..data.load import CLASS_NAMES, Dataset
from ..files import write_atomic, write_json
from ..learner.result import CheckReport
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
            "seed": report.seed, "dtype": report.dtype, "activation": report.activation, "loss": report.loss,
            "device": "cpu"}


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


def figure_inputs(report: CheckReport, m: dict, data: Dataset) -> dict:
    """Everything the check's figures show, as plain data (lists, arrays, text) that a drawing process can
    take: ``check_figures.draw_pngs`` draws it."""
    t = report.training
    assert t is not None  # run_metrics made m from it
    inputs: dict[str, Any] = {
        "history": m["history"], "max_weight_diff": m["max_weight_diff"], "dtype": report.dtype,
        "title": f"your {report.class_name} (solid) and the twin (dashed): {' → '.join(map(str, report.sizes))}, "
                 f"{report.dtype}"}
    if "step_loss" in m:
        steps = m["step_loss"]["steps"]
        inputs["step_loss"] = ({k: v[:steps] for k, v in t.step_loss.items()}, t.steps_per_epoch)
    ts = m.get("test_set")
    if ts is not None:
        images = lambda idx: data.X_test[idx].reshape(-1, *data.image_shape)  # noqa: E731  (n, D) -> (n, h, w)
        inputs["class_names"], inputs["confusion"] = m["class_names"], ts["confusion"]
        inputs["misclassified"] = {}
        for side, mis in ts["misclassified"].items():
            idx = np.asarray(mis["first"], dtype=np.int64)
            inputs["misclassified"][side] = (images(idx), data.y_test[idx], np.asarray(mis["pred"]))
        dis = ts["disagreements"]
        if dis["count"]:
            idx = np.asarray(dis["first"], dtype=np.int64)
            inputs["disagreements"] = (images(idx), data.y_test[idx],
                                       {k: np.asarray(dis[k]) for k in ("scratch", "torch")})
    return inputs


def write_report(report: CheckReport, out: Path, data: Dataset, cls: type | None = None,
                 draw: Callable[[dict], dict[str, bytes]] | None = None) -> None:
    """Write ``check.json``, the figures, ``report.md`` and ``report.html`` into the folder ``out``.

    ``draw(figure_inputs(...))`` gives the figures' PNG bytes: ``check_figures.draw_pngs`` here by default;
    ``check DIR`` draws in processes of its own, beside the next file's check.
    """
    out = Path(out)
    if draw is None:
        from .check_figures import draw_pngs  # matplotlib, imported only where it draws
        draw = draw_pngs
    m = run_metrics(report, data)
    pngs = {} if m is None else draw(figure_inputs(report, m, data))
    for name, png in pngs.items():
        write_atomic(out / name, png)
    write_json(out / "check.json", report.as_dict())
    page = lambda: build_check_page(report, settings(report), m, set(pngs), cls)  # noqa: E731  (one per writer)
    write_atomic(out / "report.md", render_markdown_page(page()))
    write_atomic(out / "report.html", render_html(page(), pngs))
