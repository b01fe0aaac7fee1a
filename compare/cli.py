"""``mlp-compare`` (also ``python -m compare``): the command line.

User errors (bad flags, missing or corrupt data, an unusable output folder) print one line,
``mlp-compare: error: <message>``, and exit 2. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

PROG = "mlp-compare"


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {value}")
    return value


def hidden_sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(t) for t in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated widths like 50 or 50,30, got {text!r}") from None
    if any(s < 1 for s in sizes):
        raise argparse.ArgumentTypeError(f"every hidden width must be >= 1, got {text!r}")
    return sizes


def learning_rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number like 0.1, got {text!r}") from None
    if not (value > 0 and value != float("inf")):
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description="Compare a from-scratch NumPy MLP with its PyTorch twin.")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="train both twins in lockstep and write metrics.json, training.png, report.md",
                         formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    run.add_argument("--dataset", choices=["mnist-5k", "mnist", "fashion-mnist"], default="mnist-5k",
                     help="mnist-5k is embedded (offline); the full sets need --data-dir or a download")
    run.add_argument("--data-dir", type=Path, help="folder holding the four IDX files (raw or .gz)")
    run.add_argument("--valid-size", type=positive_int, help="validation examples (default 500 for mnist-5k, 5000 otherwise)")
    run.add_argument("--hidden", type=hidden_sizes, default=(50,), help="hidden widths, comma-separated, e.g. 50,30")
    run.add_argument("--activation", choices=["sigmoid", "tanh", "relu"], default="sigmoid")
    run.add_argument("--loss", choices=["mse", "cross_entropy"], default="mse")
    run.add_argument("--epochs", type=positive_int, default=50)
    run.add_argument("--batch-size", type=positive_int, default=100)
    run.add_argument("--lr", type=learning_rate, default=0.1)
    run.add_argument("--seed", type=int, default=123)
    run.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    run.add_argument("--device", default="cpu", help="the torch twin's device: cpu or cuda")
    run.add_argument("--threads", type=int, default=0, help="threads for NumPy's BLAS and for torch (0: all cores)")
    run.add_argument("--out", type=Path, help="output folder (default: runs/run-YYYYmmdd-HHMMSS)")
    run.add_argument("--overwrite", action="store_true", help="allow writing into a folder that already holds files")
    return parser


def cmd_run(args) -> int:
    from tqdm import tqdm

    from .config import RunConfig
    from .run import run_comparison

    config = RunConfig(dataset=args.dataset, data_dir=str(args.data_dir) if args.data_dir else None,
                       valid_size=args.valid_size, hidden=args.hidden, activation=args.activation,
                       loss=args.loss, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                       seed=args.seed, dtype=args.dtype, device=args.device, threads=args.threads)
    out = args.out or Path("runs") / time.strftime("run-%Y%m%d-%H%M%S")
    # disable=None: the bar shows on a terminal and stays silent when stderr is redirected.
    with tqdm(total=config.epochs, desc="epochs", unit="epoch", disable=None, file=sys.stderr) as bar:
        m = run_comparison(config, out, overwrite=args.overwrite, progress=lambda epoch: bar.update(1))
    gc, ta = m["gradient_check"], m["test_acc"]
    worst = max(r["max_rel_diff"] for r in gc["params"])
    print(f"dataset {m['dataset']['name']}: {m['dataset']['n_train']} train / {m['dataset']['n_valid']} valid / "
          f"{m['dataset']['n_test']} test; network {' -> '.join(map(str, m['sizes']))}, {config.dtype}")
    print(f"gradient check: {'passed' if gc['passed'] else 'FAILED'} (max rel diff {worst:.2e})")
    print(f"after {m['epochs_done']} epochs: histories differ by at most {m['history_max_diff']:.2e}, "
          f"weights by {m['max_weight_diff'][-1]:.2e}")
    print(f"test accuracy: scratch {ta['scratch']:.4f}, torch {ta['torch']:.4f} "
          f"({m['test_disagreements']} test images labelled differently)")
    print(f"training time torch/scratch: {m['timing']['torch_over_scratch']:.2f}x; wrote {out}/report.md")
    return 0 if gc["passed"] else 1


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return {"run": cmd_run}[args.command](args)
    except (ValueError, FileNotFoundError) as e:
        # Our validation raises ValueError (DataError is one) with a message written for the user.
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
