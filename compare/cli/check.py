"""``mlp-compare check PATH.py[:NAME]``: prove a learner's own NumPy MLP against its PyTorch twin.

Exit 0 when forward, gradients, purity and training agree with the twin; 1 when they do not (with the
diagnosis; also when the learner's code raises: one line with their file and line); 2 when the file or
class cannot be loaded or adapted (one line, no traceback).

The learner's file runs in a worker process (``compare.worker``) and only data crosses; the verdict is
made here. ``mlp-compare check DIR``: every ``*.py`` in the folder, each in a worker of its own, judged in
this process (``compare.grading.folder_run``); ``summary.csv`` and ``summary.html``
(``compare.report.summary_page``).
Exit 0 when every file passes, 2 when none could be loaded, 1 otherwise.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from pathlib import Path

from .args import DTYPE_CHOICES, PROG, learning_rate, positive_int, seed_value, whole_number

DESCRIPTION = """Check your own NumPy MLP, written as the book's NeuralNetMLP (weight_h, bias_h, weight_out,
bias_out; forward(x) -> (a_h, a_out); backward(x, a_h, a_out, y) -> (d_w_out, d_b_out, d_w_h, d_b_h)), against
its PyTorch twin: forward, every intermediate, the gradients three ways, purity, and training in lockstep with
optim.SGD on mnist-5k. A .py file or a notebook (.ipynb) runs in a worker process of its own, never in the
checker: only its class and the definitions the class uses, not its script code (downloads, plots, training
loops; --run-file runs it all), beside the helper modules of its folder."""

EPILOG = """exit codes: 0 your class agrees with the twin; 1 it does not (the findings say why; also when your
code raises); 2 the file or class cannot be loaded or adapted. Example: mlp-compare check my_mlp.py:NeuralNetMLP.
A folder (mlp-compare check submissions/ --epochs 1) checks every .py and .ipynb in it, and every sub-folder of
one learner's files, each in its own process with a time
limit (--timeout) and a memory limit (--memory-limit, the process's address space), --jobs at a time, and writes
summary.csv, summary.html and one subfolder per file with its report.html; exit 0 when every file passes, 1 when
any fails, times out or crashes, 2 when none could be loaded."""


def epoch_count(text: str) -> int:
    return whole_number(text, 0, " (0 skips training)")


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("check", help="check your own NumPy MLP (the book's NeuralNetMLP) against its PyTorch twin",
                       description=DESCRIPTION, epilog=EPILOG, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("target", metavar="PATH.py[:NAME]",
                   help="your file or notebook (or an importable MODULE, imported here), and the class in it when "
                        "it holds several. A folder: every .py and .ipynb in it, each a learner's file, and every "
                        "sub-folder, one learner's files")
    p.add_argument("--run-file", action="store_true",
                   help="run the whole file in its worker, script code included, not only the class and what it uses")
    p.add_argument("--epochs", type=epoch_count, default=5, help="lockstep training after the checks; 0 skips it")
    p.add_argument("--batch-size", type=positive_int, default=100, help="training batch size")
    p.add_argument("--lr", type=learning_rate, default=0.1, help="learning rate of both sides")
    p.add_argument("--seed", type=seed_value, default=123,
                   help="your constructor's random_seed, the checked batch, the split and the batch order")
    p.add_argument("--dtype", choices=DTYPE_CHOICES, default="float64",
                   help="float32 casts the inputs and your weights and uses float32 tolerances")
    p.add_argument("--l2", type=penalty, default=0.0, metavar="LAMBDA",
                   help="add LAMBDA * ||W||^2 over the weights (not the biases) to the twin's loss, to check a "
                        "class whose backward adds the gradient of that penalty, 2 * LAMBDA * W")
    p.add_argument("--out", type=Path, default=argparse.SUPPRESS,
                   help="output folder for report.html, report.md, check.json; for a folder of files, summary.csv, "
                        "summary.html and a subfolder per file (default: runs/check-YYYYmmdd-HHMMSS)")
    p.add_argument("--overwrite", action="store_true", help="allow writing into a folder that already holds files")
    p.add_argument("--json", type=Path, help="also write the results as JSON to this file")
    p.add_argument("--allow-import", action="append", default=argparse.SUPPRESS, metavar="NAME",
                   help="let backward use this module (torch, jax, tensorflow, scratch, torch_impl, compare); by "
                        "default a backward that is not NumPy code of the learner's own fails (none allowed); "
                        "repeatable")
    folder = p.add_argument_group("the worker process that runs a learner's file (one per file of a folder)")
    folder.add_argument("--timeout", type=seconds, default=120,
                        help="seconds a file's worker may take for everything it is asked; then it is stopped and "
                             "the verdict says so")
    folder.add_argument("--memory-limit", type=gibibytes, default=4, metavar="GIB",
                        help="address space of the process running one file, in GiB (RLIMIT_AS)")
    folder.add_argument("--jobs", type=positive_int, default=argparse.SUPPRESS,
                        help="for a folder: files checked at once (default: the number of cores)")
    return p


def penalty(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected an L2 penalty λ >= 0, like 1e-4, got {text!r}")
    return value


def seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds like 120, got {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number of seconds > 0, got {text!r}")
    return value


def gibibytes(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 1 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a memory limit of at least 1 (GiB), like 4, got {text!r}")
    return value


def main(args) -> int:
    from ..files import check_file_target
    from ..learner.load import is_path, split_target

    check_file_target(args.json)
    if Path(args.target).is_dir():
        return check_folder(args)
    source, _ = split_target(args.target)
    if not is_path(source):   # an importable module: imported here, as pytest would
        from ..learner import load_target

        return _check(args, lambda: load_target(args.target), lambda: None)
    from ..learner import check_backprop  # noqa: F401  (torch loads now, not on the worker's clock)
    from ..learner.load import load_in_worker, prepare
    from ..worker.client import Worker

    with contextlib.ExitStack() as stack:
        started: list[Worker] = []

        def load():
            prepared = prepare(args.target, run_file=args.run_file)
            started.append(stack.enter_context(Worker(prepared.submission, timeout=args.timeout,
                                                      memory_gib=args.memory_limit, texts=prepared.texts)))
            return load_in_worker(started[0], prepared)

        def done() -> None:
            for worker in started:
                worker.close()

        return _check(args, load, done)


def _check(args, load, done) -> int:
    """Load the class with ``load()``, run every check, call ``done()`` (which ends a worker and all it
    started), then write the report and the JSON: nothing the learner's code could still touch; the exit code."""
    import numpy as np

    from ..data.load import load_dataset
    from ..files import prepare_out_dir, write_json
    from ..learner import CannotCheck, check_backprop
    from ..report.check_files import write_report
    from ..worker.client import WorkerDied

    try:
        target = load()
    except (CannotCheck, WorkerDied) as e:   # a worker that ended or hung while its file loaded: cannot load
        done()
        why = str(e) if isinstance(e, CannotCheck) else f"{args.target}: the file cannot be loaded: {e}"
        if args.json is not None:   # whatever a file may have put there, the checker's word is the last
            write_json(args.json, {"passed": False, "exit_code": 2, "error": why})
        print(f"{PROG}: error: {why}{_tail(e) if isinstance(e, WorkerDied) else ''}", file=sys.stderr)
        return 2
    out = getattr(args, "out", None) or Path("runs") / time.strftime("check-%Y%m%d-%H%M%S")
    created = not out.exists()
    out = prepare_out_dir(out, args.overwrite)  # a bad --out fails before any check runs
    try:
        data = load_dataset("mnist-5k", seed=args.seed, dtype=np.dtype(args.dtype))
        report = check_backprop(target.cls, file=target.file, epochs=args.epochs, batch_size=args.batch_size,
                                lr=args.lr, seed=args.seed, dtype=args.dtype, data=data,
                                allow_imports=tuple(getattr(args, "allow_import", ())), l2=args.l2)
        report.not_run = target.not_run
        done()
    except WorkerDied as e:
        done()
        if created and not any(out.iterdir()):
            out.rmdir()
        if args.json is not None:
            write_json(args.json, {"passed": False, "exit_code": 1, "error": f"{e.kind}: {e}"})
        print(f"{PROG}: {e.kind}: {args.target}: {e}{_tail(e)}", file=sys.stderr)
        return 1
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
    print(f"wrote {out}/report.html: open it in a browser")
    return report.exit_code


def _tail(e) -> str:
    """The last lines the worker printed, indented, when it printed anything."""
    lines = [line for line in e.tail.splitlines() if line.strip()][-5:]
    return "".join(f"\n  | {line}" for line in lines)


def check_folder(args) -> int:
    """Every ``*.py`` in ``args.target``, each in a worker of its own; the summary files; the exit code."""
    from ..errors import UserError
    from ..files import prepare_out_dir, write_json
    from ..grading.folder_run import FolderInterrupted
    from ..grading.folder_run import check_folder as run_folder
    from ..learner import folder
    from ..report.summary_page import tally, write_summary_html

    files = folder.learner_files(args.target)
    if not files:
        raise UserError(f"{args.target} holds no .py files, notebooks or folders of them; pass a folder of "
                        f"learners' files or one file")
    args.out = out = prepare_out_dir(getattr(args, "out", None) or Path("runs") / time.strftime("check-%Y%m%d-%H%M%S"),
                                     args.overwrite)
    passed = ["--epochs", str(args.epochs), "--batch-size", str(args.batch_size), "--lr", str(args.lr),
              "--seed", str(args.seed), "--dtype", args.dtype]
    print(f"checking {len(files)} files in {args.target}, each in a worker process of its own (limit "
          f"{args.timeout:g} s)")
    started, interrupted = time.perf_counter(), None
    try:
        rows = run_folder(files, out, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, seed=args.seed,
                          dtype=args.dtype, allow_imports=tuple(getattr(args, "allow_import", ())),
                          timeout=args.timeout, jobs=getattr(args, "jobs", None) or os.cpu_count() or 1,
                          run_file=args.run_file, l2=args.l2,
                          memory_gib=args.memory_limit,
                          on_row=lambda r: print(f"  {r.file}: {r.verdict} ({r.seconds:.1f} s)", flush=True))
    except FolderInterrupted as e:   # the summary of what finished is still written
        rows, interrupted = e.rows, e
    wall = time.perf_counter() - started
    folder.write_csv(rows, out / "summary.csv")
    write_summary_html(rows, out, str(args.target), " ".join(passed), wall)
    if args.json is not None:
        write_json(args.json, {"files": [r.as_dict() for r in rows], "seconds": wall,
                               "interrupted": interrupted is not None})
    print(f"{tally(rows)}; {wall:.1f} s in all")
    print(f"wrote {out}/summary.html (one row per file, each linking its report.html) and {out}/summary.csv")
    if interrupted is not None:
        print(f"{PROG}: interrupted: {interrupted}; the summary lists those", file=sys.stderr)
        return 130
    return folder.exit_code(rows)
