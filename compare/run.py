"""One comparison run, end to end: data, twins, gradient check, lockstep training, test, outputs.

Writes ``metrics.json``, ``training.png`` and ``report.md`` into the output folder, each atomically.
Every phase is timed (``metrics["timing"]["phases"]``) so the cost of the comparison itself can be
read next to the cost of training.
"""

from __future__ import annotations

import platform
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from threadpoolctl import threadpool_info, threadpool_limits

from .config import RunConfig
from .data import load_dataset
from .gradcheck import check_gradients
from .io import prepare_out_dir, save_figure, write_json
from .lockstep import TorchData, lockstep_train, make_twins, predict_test_set
from .plots import plot_training
from .report import write_markdown


def versions() -> dict[str, str]:
    import matplotlib
    import torchvision

    return {"python": platform.python_version(), "numpy": np.__version__, "torch": torch.__version__,
            "torchvision": torchvision.__version__, "matplotlib": matplotlib.__version__,
            "platform": platform.platform()}


def history_max_diff(history: dict[str, list[dict]]) -> float:
    """Largest |scratch - torch| over every numeric field of every epoch."""
    diffs = [abs(s[k] - t[k]) for s, t in zip(history["scratch"], history["torch"]) for k in s if k != "epoch"]
    return float(max(diffs, default=0.0))


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


def run_comparison(config: RunConfig, out: Path, overwrite: bool = False, progress=None) -> dict:
    """Run the comparison described by ``config`` and write its outputs into ``out``; returns the metrics."""
    phase = PhaseTimer()
    out = prepare_out_dir(out, overwrite)
    threads = config.effective_threads
    torch.set_num_threads(threads)
    with threadpool_limits(limits=threads, user_api="blas"):
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
            gradient_check = check_gradients(twins.scratch, data.X_train[:n_check], data.y_train[:n_check])
        with phase("lockstep training"):
            result = lockstep_train(twins, data, config.epochs, config.batch_size, config.seed,
                                    progress=progress, tdata=tdata)
        with phase("test set"):
            preds = predict_test_set(twins, data, tdata)

    timing = {twin: {**t, "train_s_per_epoch": t["train_s"] / result.epochs_done,
                     "eval_s_per_epoch": t["eval_s"] / result.epochs_done}
              for twin, t in result.timing.items()}
    timing["torch_over_scratch"] = timing["torch"]["train_s"] / timing["scratch"]["train_s"]
    timing["phases"] = phase.seconds
    metrics = {
        "status": "complete",
        "epochs_done": result.epochs_done,
        "config": config.as_dict(),
        "sizes": sizes,
        "dataset": data.summary(),
        "gradient_check_batch": n_check,
        "gradient_check": gradient_check.as_dict(),
        "history": result.history,
        "history_max_diff": history_max_diff(result.history),
        "max_weight_diff": result.max_weight_diff,
        "test_acc": {twin: float(np.mean(p == data.y_test)) for twin, p in preds.items()},
        "test_disagreements": int(np.sum(preds["scratch"] != preds["torch"])),
        "threads": {"numpy": blas_threads, "torch": threads},
        "timing": timing,
        "versions": versions(),
    }
    with phase("write outputs"):
        write_outputs(metrics, out)
    timing["total_s"] = sum(phase.seconds.values())
    write_json(out / "metrics.json", metrics)  # again, now with the time the outputs took
    return metrics


def write_outputs(metrics: dict, out: Path) -> None:
    """The run's files: the figure, the Markdown report and metrics.json."""
    c = metrics["config"]
    fig = plot_training(metrics["history"], metrics["max_weight_diff"], c["loss"],
                        title=f"{metrics['dataset']['name']}: {' → '.join(map(str, metrics['sizes']))}, "
                              f"{c['activation']}, {c['loss']}, {c['dtype']}")
    save_figure(fig, out / "training.png")
    metrics["timing"].setdefault("total_s", sum(metrics["timing"]["phases"].values()))
    write_markdown(metrics, out / "report.md")
    write_json(out / "metrics.json", metrics)
