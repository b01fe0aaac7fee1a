"""``mlp-compare check PATH.py[:NAME]``: prove a learner's own NumPy MLP against its PyTorch twin.

Exit 0 when forward, gradients, purity and training agree with the twin; 1 when they do not (with the
diagnosis; also when the learner's code raises: one line with their file and line); 2 when the file or
class cannot be loaded or adapted (one line, no traceback).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .args import DTYPE_CHOICES, PROG, learning_rate, positive_int, seed_value, whole_number

DESCRIPTION = """Check your own NumPy MLP, written as the book's NeuralNetMLP (weight_h, bias_h, weight_out,
bias_out; forward(x) -> (a_h, a_out); backward(x, a_h, a_out, y) -> (d_w_out, d_b_out, d_w_h, d_b_h)), against
its PyTorch twin: forward, every intermediate, the gradients three ways, purity, and training in lockstep with
optim.SGD on mnist-5k. Loading a file runs its code, as pytest does when it collects a test file: check only
code you trust."""

EPILOG = """exit codes: 0 your class agrees with the twin; 1 it does not (the findings say why; also when your
code raises); 2 the file or class cannot be loaded or adapted. Example: mlp-compare check my_mlp.py:NeuralNetMLP"""


def epoch_count(text: str) -> int:
    return whole_number(text, 0, " (0 skips training)")


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("check", help="check your own NumPy MLP (the book's NeuralNetMLP) against its PyTorch twin",
                       description=DESCRIPTION, epilog=EPILOG, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("target", metavar="PATH.py[:NAME]",
                   help="your file (or an importable MODULE), and the class in it when it holds several; "
                        "loading it runs its code")
    p.add_argument("--epochs", type=epoch_count, default=5, help="lockstep training after the checks; 0 skips it")
    p.add_argument("--batch-size", type=positive_int, default=100, help="training batch size")
    p.add_argument("--lr", type=learning_rate, default=0.1, help="learning rate of both sides")
    p.add_argument("--seed", type=seed_value, default=123,
                   help="your constructor's random_seed, the checked batch, the split and the batch order")
    p.add_argument("--dtype", choices=DTYPE_CHOICES, default="float64",
                   help="float32 casts the inputs and your weights and uses float32 tolerances")
    p.add_argument("--out", type=Path, default=argparse.SUPPRESS,
                   help="output folder for report.html, report.md, check.json (default: runs/check-YYYYmmdd-HHMMSS)")
    p.add_argument("--overwrite", action="store_true", help="allow writing into a folder that already holds files")
    p.add_argument("--json", type=Path, help="also write the results as JSON to this file")
    return p


def main(args) -> int:
    import numpy as np

    from ..data.load import load_dataset
    from ..files import check_file_target, prepare_out_dir, write_json
    from ..learner import CannotCheck, check_backprop, load_target
    from ..report.check_files import write_report

    check_file_target(args.json)
    try:
        target = load_target(args.target)
    except CannotCheck as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    out = getattr(args, "out", None) or Path("runs") / time.strftime("check-%Y%m%d-%H%M%S")
    created = not out.exists()
    out = prepare_out_dir(out, args.overwrite)  # a bad --out fails before any check runs
    try:
        data = load_dataset("mnist-5k", seed=args.seed, dtype=np.dtype(args.dtype))
        report = check_backprop(target.cls, file=target.file, epochs=args.epochs, batch_size=args.batch_size,
                                lr=args.lr, seed=args.seed, dtype=args.dtype, data=data)
    except BaseException as e:
        if created and not any(out.iterdir()):  # nothing written yet: leave no trace
            out.rmdir()
        if isinstance(e, CannotCheck):
            print(f"{PROG}: error: {e}", file=sys.stderr)
            return 2
        raise
    write_report(report, out, data, target.cls)
    if args.json is not None:
        write_json(args.json, report.as_dict())
    print(report.table())
    print(f"wrote {out}/report.html")
    return report.exit_code
