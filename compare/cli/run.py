"""``mlp-compare run``: train both twins in lockstep and write metrics.json, report.html, lesson.html, the figures.

The summary's last line names the files to open: ``report.html`` and ``lesson.html``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from ..errors import UserError
from .args import (
    ACTIVATION_CHOICES,
    DATASET_CHOICES,
    DTYPE_CHOICES,
    LOSS_CHOICES,
    PROG,
    hidden_sizes,
    learning_rate,
    positive_int,
    seed_value,
)


def add_parser(sub) -> argparse.ArgumentParser:
    run = sub.add_parser("run", help="train both twins in lockstep; write metrics.json, report.html, report.md, "
                                     "lesson.html and the figures",
                         formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    run.add_argument("--dataset", choices=DATASET_CHOICES, default="mnist-5k",
                     help="mnist-5k is embedded (offline); the full sets need --data-dir or a download")
    run.add_argument("--data-dir", type=Path, default=argparse.SUPPRESS,
                     help="folder holding the four IDX files (raw or .gz)")
    run.add_argument("--valid-size", type=positive_int, default=argparse.SUPPRESS,
                     help="validation examples (default: 500 for mnist-5k, 5000 otherwise)")
    run.add_argument("--hidden", type=hidden_sizes, default=(50,), help="hidden widths, comma-separated, e.g. 50,30")
    run.add_argument("--activation", choices=ACTIVATION_CHOICES, default="sigmoid")
    run.add_argument("--loss", choices=LOSS_CHOICES, default="mse")
    run.add_argument("--epochs", type=positive_int, default=50)
    run.add_argument("--batch-size", type=positive_int, default=100)
    run.add_argument("--lr", type=learning_rate, default=0.1)
    run.add_argument("--seed", type=seed_value, default=123)
    run.add_argument("--dtype", choices=DTYPE_CHOICES, default="float64")
    run.add_argument("--device", default="cpu", help="the torch twin's device: cpu or cuda")
    run.add_argument("--threads", type=int, default=0, help="threads for NumPy's BLAS and for torch (0: all cores)")
    run.add_argument("--compare-dtypes", action="store_true",
                     help="also train the twins in the other float type and show both drifts in the report")
    run.add_argument("--out", type=Path, default=argparse.SUPPRESS,
                     help="output folder (default: runs/run-YYYYmmdd-HHMMSS)")
    run.add_argument("--save-weights", action="store_true",
                     help="write both twins' final weights: scratch.npz and torch.pt")
    run.add_argument("--slides", action="store_true",
                     help="also write each panel of training.png alone at slide size (16:9, 1280 x 720 px) into OUT/slides/")
    run.add_argument("--overwrite", action="store_true", help="allow writing into a folder that already holds files")
    run.add_argument("--progress", choices=["auto", "lines", "off"], default="auto",
                     help="auto: a progress bar on a terminal, nothing otherwise; lines: one line on stderr per "
                          "finished epoch, 'mlp-compare: float64: epoch 3/50' (for logs)")
    return run


class Progress:
    """``progress(dtype, epoch)`` for ``run_comparison``: a tqdm bar per dtype, plain lines, or nothing."""

    def __init__(self, mode: str, epochs: int):
        self.mode, self.epochs = mode, epochs
        self.bar: Any = None  # the tqdm bar of the dtype now training
        self.dtype: str | None = None

    def __call__(self, dtype: str, epoch: int) -> None:
        if self.mode == "lines":
            print(f"{PROG}: {dtype}: epoch {epoch}/{self.epochs}", file=sys.stderr, flush=True)
        elif self.mode == "auto":
            if dtype != self.dtype:  # the --compare-dtypes rerun gets a bar of its own
                from tqdm import tqdm

                self.close()
                # disable=None: the bar shows on a terminal and stays silent when stderr is redirected.
                self.bar = tqdm(total=self.epochs, desc=f"{dtype} epochs", unit="epoch", disable=None, file=sys.stderr)
                self.dtype = dtype
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def main(args) -> int:
    import torch_impl

    from ..config import RunConfig
    from ..run import run_comparison

    data_dir = getattr(args, "data_dir", None)
    config = RunConfig(dataset=args.dataset, data_dir=str(data_dir) if data_dir else None,
                       valid_size=getattr(args, "valid_size", None), hidden=args.hidden, activation=args.activation,
                       loss=args.loss, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                       seed=args.seed, dtype=args.dtype, device=args.device, threads=args.threads)
    try:
        torch_impl.resolve_device(config.device)
    except ValueError as e:  # torch_impl cannot know our error type; its message is written for the user
        raise UserError(str(e)) from None
    # The folder this command writes: the CLI points to an error.log the run leaves there.
    args.out = out = getattr(args, "out", None) or Path("runs") / time.strftime("run-%Y%m%d-%H%M%S")
    progress = Progress(args.progress, config.epochs)
    try:
        m = run_comparison(config, out, overwrite=args.overwrite, progress=progress,
                           compare_dtypes=args.compare_dtypes, save_weights=args.save_weights, slides=args.slides)
    finally:
        progress.close()
    return report_outcome(m, out)


def report_outcome(m: dict, out: Path) -> int:
    """Print a run's summary (stdout) and what went wrong (stderr, one line each); return the exit code."""
    from ..report.cost import ratio_spread
    if m["status"] == "interrupted":
        print(f"{PROG}: interrupted: {m['stopped']['message']}; wrote the partial report to {out}", file=sys.stderr)
        return 130
    if m["status"] == "diverged":
        print(f"{PROG}: diverged: {m['stopped']['message']}; kept the partial results in {out}", file=sys.stderr)
        return 1
    if m.get("health", {}).get("warning"):
        print(f"{PROG}: warning: {m['health']['warning']}", file=sys.stderr)
    gc, ta = m["gradient_check"], m["test_acc"]
    worst = max(r["max_rel_diff"] for r in gc["params"])
    print(f"dataset {m['dataset']['name']}: {m['dataset']['n_train']} train / {m['dataset']['n_valid']} valid / "
          f"{m['dataset']['n_test']} test; network {' -> '.join(map(str, m['sizes']))}, {m['config']['dtype']}")
    print(f"gradient check: {'passed' if gc['passed'] else 'FAILED'} (max rel diff {worst:.2e})")
    print(f"after {m['epochs_done']} epochs: histories differ by at most {m['history_max_diff']:.2e}, "
          f"weights by {m['max_weight_diff'][-1]:.2e}")
    agreement = m.get("agreement")
    if agreement is not None:
        print(f"training: {agreement['summary']}")
    print(f"test accuracy: scratch {ta['scratch']:.4f}, torch {ta['torch']:.4f} "
          f"({m['test_disagreements']} test images labelled differently)")
    spread = ratio_spread(m["timing"])
    print(f"training time torch/scratch: {m['timing']['torch_over_scratch']:.2f}x" + (f" ({spread})" if spread else ""))
    print(f"wrote {out}/report.html and {out}/lesson.html: open them in a browser (lesson.ipynb, beside them, in "
          f"Jupyter)")
    rerun = {d: r for d, r in m.get("dtype_comparison", {}).items() if r["status"] != "complete"}
    for dtype, row in rerun.items():  # the first run is whole; say what became of the rerun
        what, verb = {"interrupted": ("interrupted", "stopped"), "diverged": ("warning", "diverged")}.get(
            row["status"], ("warning", "was skipped"))
        print(f"{PROG}: {what}: the {dtype} rerun (--compare-dtypes) {verb}: {row['message']}; "
              f"the {m['config']['dtype']} run is complete and written to {out}", file=sys.stderr)
    if any(r["status"] == "interrupted" for r in rerun.values()):
        return 130
    if agreement is not None and not agreement["passed"]:
        print(f"{PROG}: the twins parted: {agreement['summary']}; see {out}/report.html", file=sys.stderr)
        return 1
    return 0 if gc["passed"] else 1
