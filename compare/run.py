"""One comparison run, end to end: data, twins, gradient check, lockstep training, test, outputs.

Writes ``metrics.json`` (strict JSON), ``report.html`` (self-contained), ``report.md`` with its PNG
figures, and the bridge lesson (``lesson.html``, ``lesson.md``) into the output folder, each
atomically. Every phase is timed (``metrics["timing"]["phases"]``) so the cost of the comparison
itself can be read next to the cost of training.
"""

from __future__ import annotations

import platform
import time
import traceback
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from threadpoolctl import threadpool_info

import scratch.losses

from . import plots
from .config import RunConfig
from .data import CLASS_NAMES, Dataset, gradient_check_batch, label_counts, load_dataset
from .dtype_rerun import dtype_row, history_max_diff, other_dtype, rerun_in_other_dtype, stopped_row
from .errors import ERROR_LOG, UserError
from .gradcheck import check_gradients
from .health import training_health
from .html import render_html
from .io import prepare_out_dir, save_figure, write_atomic, write_json
from .lockstep import TorchData, TrainingStopped, Twins, lockstep_train, make_twins, predict_test_set
from .markdown import render_markdown_page
from .report import build_report, summarise_test_set
from .threads import same_threads
from .weights import save_weights as save_weights_files


def versions() -> dict[str, str]:
    import matplotlib
    import torchvision

    return {"python": platform.python_version(), "numpy": np.__version__, "torch": torch.__version__,
            "torchvision": torchvision.__version__, "matplotlib": matplotlib.__version__,
            "platform": platform.platform()}


class PhaseTimer:
    """Wall seconds per named phase, in the order they ran."""

    def __init__(self):
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str):
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start


def run_comparison(config: RunConfig, out: Path, overwrite: bool = False, progress=None,
                   compare_dtypes: bool = False, save_weights: bool = False) -> dict:
    """Run the comparison described by ``config`` and write its outputs into ``out``; returns the metrics.

    ``progress(dtype, epoch)`` is called after each finished epoch, of the first run and of the rerun.
    ``compare_dtypes``: train the same twins a second time in the other float type (float32 beside
    float64), so the report can show how far apart the twins drift in each. ``save_weights``: write
    both twins' final weights (``scratch.npz``, ``torch.pt``).

    A run that diverges or is interrupted (Ctrl-C) still writes its outputs for the finished epochs;
    ``metrics["status"]`` is then ``"diverged"`` or ``"interrupted"`` and ``metrics["stopped"]``
    says why, where and, for a divergence, which twin went first. A rerun (``compare_dtypes``) that
    diverges or is interrupted never costs the first run: its row in ``metrics["dtype_comparison"]``
    says so, and everything of the first run is written. A bug (any exception but a ``UserError``)
    in a folder that already holds outputs leaves its traceback in ``error.log`` there.
    """
    created = not Path(out).exists()
    out = prepare_out_dir(out, overwrite)
    (out / ERROR_LOG).unlink(missing_ok=True)  # an earlier run's log would be read as this run's
    try:
        return _run(config, out, progress, compare_dtypes, save_weights)
    except BaseException as e:
        if created and not any(out.iterdir()):  # failed before writing anything: leave no trace
            out.rmdir()
        elif isinstance(e, Exception) and not isinstance(e, UserError):
            write_atomic(out / ERROR_LOG, traceback.format_exc())
        raise


def _run(config: RunConfig, out: Path, progress, compare_dtypes: bool, save_weights: bool) -> dict:
    phase = PhaseTimer()
    threads = config.effective_threads
    stopped = preds = rerun_bug = None
    with same_threads(threads):
        blas_threads = max((p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"), default=None)
        dtype = np.dtype(config.dtype)
        with phase("load data"):
            data = load_dataset(config.dataset, config.data_dir, config.valid_size, config.seed, dtype)
        with phase("build twins"):
            sizes = config.sizes(data.n_features, data.num_classes)
            twins = make_twins(sizes, config.activation, config.loss, config.seed, dtype, config.lr, config.device)
            tdata = TorchData.from_dataset(data, twins.device)
        with phase("gradient check"):
            n_check = min(config.batch_size, len(data.y_train))
            check = gradient_check_batch(data.y_train, n_check, config.seed, data.num_classes)
            gradient_check = check_gradients(twins.scratch, data.X_train[check], data.y_train[check])
        with phase("lockstep training"), recording_step_losses(twins) as step_loss:
            try:
                result = lockstep_train(twins, data, config.epochs, config.batch_size, config.seed,
                                        progress=progress and (lambda epoch: progress(config.dtype, epoch)),
                                        tdata=tdata)
            except TrainingStopped as e:
                stopped, result = e, e.result
        if stopped is None:
            with phase("test set"):
                preds = predict_test_set(twins, data, tdata)
            if compare_dtypes:
                with phase("dtype comparison"):
                    dtype_comparison = {config.dtype: dtype_row(result, preds)}
                    try:
                        dtype_comparison.update(rerun_in_other_dtype(config, sizes, progress))
                    except Exception as e:  # a bug: write the first run, then let it surface
                        rerun_bug = e
                        dtype_comparison.update({other_dtype(config.dtype): stopped_row(
                            "failed", f"{type(e).__name__}: {' '.join(str(e).split())}")})
        with phase("health check"):
            health = (training_health(twins.scratch, result.history["scratch"], data.X_valid, data.y_train, config.lr)
                      if stopped is None or stopped.reason == "interrupted" else None)

    metrics = {
        "status": stopped.reason if stopped else "complete",
        "epochs_done": result.epochs_done,
        "config": config.as_dict(),
        "sizes": sizes,
        "dataset": data.summary(),
        "gradient_check_batch": n_check,
        "gradient_check": {**gradient_check.as_dict(),
                           "batch_labels": label_counts(data.y_train[check], data.num_classes)},
        "history": result.history,
        "history_max_diff": history_max_diff(result.history),
        "max_weight_diff": result.max_weight_diff,
        "threads": {"numpy": blas_threads, "torch": threads},
        "timing": timing_summary(result, phase),
        "versions": versions(),
        "class_names": CLASS_NAMES[data.name],
        "class_counts": {split: np.bincount(y, minlength=data.num_classes).tolist()
                         for split, y in (("train", data.y_train), ("valid", data.y_valid), ("test", data.y_test))},
    }
    if stopped is not None:
        metrics["stopped"] = {"reason": stopped.reason, "message": str(stopped), **stopped.detail}
    if health is not None:
        metrics["health"] = health
    if preds is not None:
        metrics["test_acc"] = {twin: float(np.mean(p == data.y_test)) for twin, p in preds.items()}
        metrics["test_set"] = summarise_test_set(data.y_test, preds, data.num_classes)
        metrics["test_disagreements"] = metrics["test_set"]["disagreements"]["count"]
    # The finished epochs' steps come first; a stopped epoch (and its replay) may have added more.
    steps = result.epochs_done * (len(data.y_train) // config.batch_size)
    if steps and min(len(v) for v in step_loss.values()) >= steps:
        step_loss = {twin: v[:steps] for twin, v in step_loss.items()}
        diff = np.abs(np.subtract(step_loss["scratch"], step_loss["torch"]))
        metrics["step_loss"] = {"steps": steps, "steps_per_epoch": steps // result.epochs_done,
                                "max_abs_diff": float(diff.max()), "identical": int(np.sum(diff == 0))}
    else:
        step_loss = None  # fewer losses than steps trained: better no plot than a wrong one
    if preds is not None and compare_dtypes:
        metrics["dtype_comparison"] = dtype_comparison
    if save_weights and metrics["status"] != "diverged":  # diverged weights are NaN: nothing worth keeping
        metrics["weights"] = save_weights_files(twins.scratch, twins.net, out)
    write_json(out / "metrics.json", metrics)  # the numbers first: they survive a failure in the pages
    with phase("write outputs"):
        write_outputs(metrics, out, data, step_loss)
    metrics["timing"]["total_s"] = sum(phase.seconds.values())  # now with the time the outputs took
    write_json(out / "metrics.json", metrics)
    if rerun_bug is not None:
        raise rerun_bug
    return metrics


def timing_summary(result, phase: PhaseTimer) -> dict:
    """Seconds per twin (training and evaluation, total and per epoch), their ratio, and every phase."""
    epochs = result.epochs_done
    timing: dict = {twin: {**t, "train_s_per_epoch": t["train_s"] / epochs if epochs else 0.0,
                           "eval_s_per_epoch": t["eval_s"] / epochs if epochs else 0.0}
                    for twin, t in result.timing.items()}
    if epochs:
        timing["torch_over_scratch"] = timing["torch"]["train_s"] / timing["scratch"]["train_s"]
    else:  # nothing finished, nothing to compare
        del timing["scratch"], timing["torch"]
    timing["phases"] = phase.seconds
    return timing


@contextmanager
def recording_step_losses(twins: Twins):
    """Record each twin's loss L on every training batch, before its update, while the block runs.

    Cheap, so it can ride along with the timed training: the scratch loss is computed from the
    output its step's forward pass already made (a (B, C) reduction), and the torch loss is the
    tensor its step already computes, kept detached (no per-step ``.item()`` synchronisation).
    Yields ``{"scratch": [float, ...], "torch": [float, ...]}``, filled in when the block ends.
    """
    model, loss_fn = twins.scratch, twins.loss_fn
    value = scratch.losses.VALUES[model.loss_name]
    recorded: dict[str, list] = {"scratch": [], "torch": []}

    def backward(out, activations, y):  # (B, C) outputs, as MLP.gradients passes them
        recorded["scratch"].append(value(out, y))
        return type(model).backward(model, out, activations, y)

    def recording_loss(output, target):
        loss = loss_fn(output, target)
        recorded["torch"].append(loss.detach())
        return loss

    model.backward, twins.loss_fn = backward, recording_loss
    try:
        yield recorded
    finally:
        del model.backward
        twins.loss_fn = loss_fn
        recorded["torch"] = torch.stack(recorded["torch"]).tolist() if recorded["torch"] else []


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


def write_outputs(metrics: dict, out: Path, data: Dataset | None = None, step_loss: dict | None = None) -> None:
    """The run's files: the figures, report.md, the self-contained report.html and the lesson.

    ``data`` (the run's dataset) gives the images of the sample grid and the galleries, and
    ``step_loss`` each twin's loss per training step; without them those figures are left out.
    """
    from .bridge import write_lesson  # the lesson trains small demos: only import it when writing

    out = Path(out)
    metrics["timing"].setdefault("total_s", sum(metrics["timing"]["phases"].values()))
    images = {name: save_figure(fig, out / name) for name, fig in render_figures(metrics, data, step_loss).items()}
    write_atomic(out / "report.md", render_markdown_page(build_report(metrics, str(out), "lesson.md", set(images))))
    page = build_report(metrics, str(out), "lesson.html", set(images))
    write_atomic(out / "report.html", render_html(page, images))
    write_lesson(out, data)
