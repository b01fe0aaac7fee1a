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

from .config import RunConfig
from .data.load import CLASS_NAMES, Dataset, gradient_check_batch, label_counts, load_dataset
from .errors import ERROR_LOG, UserError
from .files import prepare_out_dir, save_figure, write_atomic, write_json
from .gradcheck.check import check_gradients
from .lesson.lesson_notebook import write_lesson_notebook
from .lesson.lesson_slides import lesson_slides
from .lesson.measure import measure_lesson
from .lesson.pages import write_lesson
from .report.run_files import write_outputs
from .report.run_page import summarise_test_set
from .thread_pools import spin_settings
from .twins.health import training_health
from .twins.lockstep import (
    LockstepResult,
    OptimizerFactory,
    TorchData,
    TrainingStopped,
    Twins,
    lockstep_train,
    make_twins,
    predict_test_set,
)
from .twins.numerics import numerics
from .twins.replay import training_agreement
from .twins.rerun import dtype_row, history_max_diff, other_dtype, rerun_in_other_dtype, stopped_row
from .twins.threads import same_threads
from .twins.weights import save_weights as save_weights_files


def versions() -> dict[str, str]:
    import matplotlib
    import torchvision

    return {"python": platform.python_version(), "numpy": np.__version__, "torch": torch.__version__,
            "torchvision": torchvision.__version__, "matplotlib": matplotlib.__version__,
            "platform": platform.platform()}


class PhaseTimer:
    """Wall seconds per named phase, in the order they ran."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str):
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start


def run_comparison(config: RunConfig, out: Path, overwrite: bool = False, progress=None,
                   compare_dtypes: bool = False, save_weights: bool = False, slides: bool = False,
                   optimizer: OptimizerFactory | None = None) -> dict:
    """Run the comparison described by ``config`` and write its outputs into ``out``; returns the metrics.

    ``progress(dtype, epoch)`` is called after each finished epoch, of the first run and of the rerun.
    ``compare_dtypes``: train the same twins a second time in the other float type (float32 beside
    float64), so the report can show how far apart the twins drift in each. ``save_weights``: write
    both twins' final weights (``scratch.npz``, ``torch.pt``). ``slides``: also write each panel of
    ``training.png`` alone at slide size (``slides/*.png``, 1280 x 720 px); ``metrics.json`` is the same.

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
        return _run(config, out, progress, compare_dtypes, save_weights, slides, optimizer)
    except BaseException as e:
        if created and not any(out.iterdir()):  # failed before writing anything: leave no trace
            out.rmdir()
        elif isinstance(e, Exception) and not isinstance(e, UserError):
            write_atomic(out / ERROR_LOG, traceback.format_exc())
        raise


def _run(config: RunConfig, out: Path, progress, compare_dtypes: bool, save_weights: bool,
         slides: bool = False, optimizer: OptimizerFactory | None = None) -> dict:
    phase = PhaseTimer()
    threads = config.effective_threads
    preds = dtype_comparison = rerun_bug = health = agreement = None
    with same_threads(threads):
        blas_threads = max((p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"), default=None)
        dtype = np.dtype(config.dtype)
        with phase("load data"):
            data = load_dataset(config.dataset, config.data_dir, config.valid_size, config.seed, dtype)
        with phase("build twins"):
            sizes = config.sizes(data.n_features, data.num_classes)
            def build() -> Twins:
                return make_twins(sizes, config.activation, config.loss, config.seed, dtype, config.lr, config.device,
                                  optimizer)

            twins = build()
            tdata = TorchData.from_dataset(data, twins.device)
        with phase("gradient check"):
            gradient_check = _check_gradients(config, data, twins)
        with phase("lockstep training"):
            result, stopped = _train(config, data, twins, tdata, progress)
        if result.epochs_done and stopped is None:
            with phase("agreement"):
                try:
                    agreement = training_agreement(build, data, result, config.batch_size, config.seed, config.lr)
                except KeyboardInterrupt:   # what finished is kept, as after Ctrl-C in training
                    stopped = TrainingStopped("interrupted", result, f"interrupted while judging the agreement of "
                                              f"{result.epochs_done} finished epochs")
        if stopped is None:
            with phase("test set"):
                preds = predict_test_set(twins, data, tdata)
            if compare_dtypes:
                with phase("dtype comparison"):
                    dtype_comparison, rerun_bug = _compare_dtypes(config, sizes, result, preds, progress)
        if stopped is None or stopped.reason == "interrupted":
            with phase("health check"):
                health = training_health(twins.scratch, result.history["scratch"], data.X_valid, data.y_train,
                                         config.lr)

    metrics = {
        "status": stopped.reason if stopped else "complete",
        "epochs_done": result.epochs_done,
        "config": config.as_dict(),
        "sizes": sizes,
        "dataset": data.summary(),
        "gradient_check_batch": sum(gradient_check["batch_labels"]),
        "gradient_check": gradient_check,
        "history": result.history,
        "history_max_diff": history_max_diff(result.history),
        "max_weight_diff": result.max_weight_diff,
        "threads": {"numpy": blas_threads, "torch": threads},
        "numerics": numerics(twins.device),
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
    if agreement is not None:
        metrics["agreement"] = agreement.as_dict()
    if preds is not None:
        metrics["test_acc"] = {twin: float(np.mean(p == data.y_test)) for twin, p in preds.items()}
        metrics["test_set"] = summarise_test_set(data.y_test, preds, data.num_classes)
        metrics["test_disagreements"] = metrics["test_set"]["disagreements"]["count"]
    step_loss = {twin: [loss for epoch in per_epoch for loss in epoch] for twin, per_epoch in result.step_losses.items()}
    if step_loss["scratch"]:
        metrics["step_loss"] = step_loss_summary(step_loss, result.epochs_done)
    if dtype_comparison is not None:
        metrics["dtype_comparison"] = dtype_comparison
    if save_weights and metrics["status"] != "diverged":  # diverged weights are NaN: nothing worth keeping
        metrics["weights"] = save_weights_files(twins.scratch, twins.net, out)
    write_json(out / "metrics.json", metrics)  # the numbers first: they survive a failure in the pages
    with phase("write report"):
        write_outputs(metrics, out, data, step_loss if step_loss["scratch"] else None, slides)
    with phase("write lesson"):   # the PyTorch column runs as shown in `mlp-compare lesson`, not here: 4 s more
        measured = measure_lesson(data, config.seed, run_script=False)
        write_lesson(out, data, measured=measured)
        if slides:   # the lesson's key moments: the 10x trap, the bridge, the update lines
            for name, fig in lesson_slides(measured).items():
                save_figure(fig, out / name)
        write_lesson_notebook(out)
    metrics["timing"]["total_s"] = sum(phase.seconds.values())  # now with the time the outputs took
    write_json(out / "metrics.json", metrics)
    if rerun_bug is not None:
        raise rerun_bug
    return metrics


def step_loss_summary(step_loss: dict[str, list[float]], epochs: int) -> dict:
    """How far apart the twins' per-step losses are: ``step_loss[twin]`` (steps,) for scratch and torch."""
    diff = np.abs(np.subtract(step_loss["scratch"], step_loss["torch"]))
    return {"steps": len(diff), "steps_per_epoch": len(diff) // epochs, "max_abs_diff": float(diff.max()),
            "identical": int(np.sum(diff == 0))}


def _check_gradients(config: RunConfig, data: Dataset, twins: Twins) -> dict:
    """The three-opinion check of the scratch twin on a stratified batch of ``batch_size`` training examples."""
    n_check = min(config.batch_size, len(data.y_train))
    check = gradient_check_batch(data.y_train, n_check, config.seed, data.num_classes)
    report = check_gradients(twins.scratch, data.X_train[check], data.y_train[check], seed=config.seed)
    return {**report.as_dict(), "batch_labels": label_counts(data.y_train[check], data.num_classes)}


def _train(config: RunConfig, data: Dataset, twins: Twins, tdata: TorchData, progress
           ) -> tuple[LockstepResult, TrainingStopped | None]:
    """Lockstep training; a divergence or Ctrl-C comes back as the ``TrainingStopped`` beside what finished."""
    try:
        return lockstep_train(twins, data, config.epochs, config.batch_size, config.seed,
                              progress=progress and (lambda epoch: progress(config.dtype, epoch)), tdata=tdata), None
    except TrainingStopped as e:
        return e.result, e


def _compare_dtypes(config: RunConfig, sizes: list[int], result: LockstepResult, preds: dict, progress
                    ) -> tuple[dict, Exception | None]:
    """``{dtype: row}`` for this run and its rerun in the other float type, and the rerun's bug if it had one.

    A bug in the rerun is kept, not raised, so that the first run is written whole before it surfaces.
    """
    rows = {config.dtype: dtype_row(result, preds)}
    try:
        rows.update(rerun_in_other_dtype(config, sizes, progress))
    except Exception as e:
        rows[other_dtype(config.dtype)] = stopped_row("failed", f"{type(e).__name__}: {' '.join(str(e).split())}")
        return rows, e
    return rows, None


def timing_summary(result, phase: PhaseTimer) -> dict:
    """Seconds per twin (training and evaluation, total and per epoch), their ratio, and every phase."""
    epochs = result.epochs_done
    timing: dict = {twin: {**t, "train_s_per_epoch": t["train_s"] / epochs if epochs else 0.0,
                           "eval_s_per_epoch": t["eval_s"] / epochs if epochs else 0.0}
                    for twin, t in result.timing.items()}
    if epochs:
        timing["torch_over_scratch"] = timing["torch"]["train_s"] / timing["scratch"]["train_s"]
        per_epoch = result.epoch_train_s
        for twin in ("scratch", "torch"):
            timing[twin]["train_s_epochs"] = per_epoch[twin]
        ratios = [t / s for s, t in zip(per_epoch["scratch"], per_epoch["torch"]) if s > 0]
        if ratios:   # each epoch's torch/scratch, timed back to back: the spread of the ratio above
            timing["epoch_ratios"] = {"median": float(np.median(ratios)), "min": min(ratios), "max": max(ratios),
                                      "epochs": len(ratios)}
    else:  # nothing finished, nothing to compare
        del timing["scratch"], timing["torch"]
    timing["phases"] = phase.seconds
    timing["thread_pools"] = spin_settings()  # the idle-thread spin limits the twins were timed under
    return timing
