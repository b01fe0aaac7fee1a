"""``mlp-compare lesson``: write the bridge lesson (``lesson.html``, ``lesson.md``, ``lesson.ipynb``) or its exercise.

The last line names the files to open: ``lesson.html`` and ``lesson.ipynb``, or ``exercise.ipynb``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from ..errors import UserError
from .args import seed_value


def add_parser(sub) -> argparse.ArgumentParser:
    lesson = sub.add_parser("lesson", help="write the bridge lesson (NumPy beside PyTorch, step by step): "
                                           "lesson.html, lesson.md and lesson.ipynb; or the exercise notebook",
                            description="The lesson's network in NumPy and in PyTorch, step by step, side by side: "
                                        "the real source of both, the shapes, and their agreement measured on the "
                                        "embedded mnist-5k digits; then the 10x trap in real numbers. lesson.ipynb "
                                        "is the same lesson as cells to run.")
    lesson.add_argument("--out", type=Path, help="output folder (default: runs/lesson-YYYYmmdd-HHMMSS)")
    lesson.add_argument("--seed", type=seed_value, default=123,
                        help="initial weights, the split and the batch order (default: 123)")
    lesson.add_argument("--overwrite", action="store_true", help="allow writing into a folder that already holds files")
    which = lesson.add_mutually_exclusive_group()
    which.add_argument("--exercise", action="store_true",
                       help="write only exercise.ipynb: backward and the update left to you, each checked")
    which.add_argument("--solution", action="store_true",
                       help="write only exercise.ipynb with the reference answers filled in (for teachers)")
    which.add_argument("--verify", type=Path, metavar="PATH",
                       help="write nothing: read the notebooks written earlier (a folder holding lesson.ipynb or "
                            "exercise.ipynb, or one .ipynb) and name every cell whose quoted source no longer "
                            "matches the code; exit 1 if any")
    lesson.add_argument("--execute", action="store_true",
                        help="write the notebook executed, outputs included (needs the 'notebook' extra: "
                             "nbclient, ipykernel)")
    return lesson


def verify(path: Path) -> int:
    """``--verify``: one line per notebook (and per stale cell); 0 when every quoting cell matches, 1 otherwise."""
    from ..lesson.notebook import KEY, read_notebook, stale_cells

    names = ("lesson.ipynb", "exercise.ipynb")
    if path.is_dir():
        notebooks = [path / n for n in names if (path / n).is_file()]
        if not notebooks:
            raise UserError(f"{path} holds neither {' nor '.join(names)}: give the folder mlp-compare lesson or "
                            f"mlp-compare run wrote, or a notebook")
    elif path.suffix == ".ipynb" and path.is_file():
        notebooks = [path]
    else:
        raise UserError(f"{path} is not a folder or an .ipynb file; give the folder the lesson was written to")
    stale_total = 0
    for nb_path in notebooks:
        try:
            nb = read_notebook(nb_path)
        except Exception as e:  # nbformat raises its own errors and JSON's for a file that is not a notebook
            raise UserError(f"{nb_path} cannot be read as a notebook ({type(e).__name__}: {e})") from None
        quoting = sum(1 for c in nb.cells if KEY in c.get("metadata", {}))
        stale = stale_cells(nb)
        stale_total += len(stale)
        print(f"{nb_path}: {quoting - len(stale)} of {quoting} quoting cells match the code"
              + "".join(f"\n  {line}" for line in stale))
    return 1 if stale_total else 0


def main(args) -> int:
    from ..files import prepare_out_dir
    from ..lesson.execute import require_nbclient

    if args.verify is not None:
        if args.execute or args.out is not None:
            raise UserError("--verify reads notebooks and writes nothing: leave out --execute and --out")
        return verify(args.verify)
    if args.execute and args.exercise:
        raise UserError("--execute with --exercise would stop at the first check cell, which fails until you fill "
                        "in the exercise; use --solution --execute, or leave out --execute")
    if args.execute:
        require_nbclient()  # before anything is written or measured
    out = prepare_out_dir(args.out or Path("runs") / time.strftime("lesson-%Y%m%d-%H%M%S"), args.overwrite)
    if args.exercise or args.solution:
        from ..lesson.exercise_notebook import exercise_notebook
        nb, name = exercise_notebook(solution=args.solution, seed=args.seed), "exercise.ipynb"
    else:
        from ..data.load import load_dataset
        from ..lesson.lesson_notebook import lesson_notebook
        from ..lesson.pages import write_lesson

        page = write_lesson(out, load_dataset("mnist-5k", seed=args.seed), seed=args.seed, report=None)
        print(f"the lesson: {len(page.sections)} sections, measured on mnist-5k (lesson.md holds the same)")
        nb, name = lesson_notebook(seed=args.seed), "lesson.ipynb"
    _write(nb, out / name, args.execute)
    executed = " (executed)" if args.execute else ""
    if name == "lesson.ipynb":
        print(f"wrote {out}/lesson.html: open it in a browser; and {out}/lesson.ipynb{executed}: open it with "
              f"jupyter lab")
    else:
        print(f"wrote {out}/{name}{executed}: open it with jupyter lab")
    return 0


def _write(nb, path: Path, execute: bool) -> None:
    from ..lesson.notebook import write_notebook

    if execute:
        from ..lesson.execute import execute as run_cells

        started = time.perf_counter()
        run_cells(nb, path.parent)
        print(f"executed {path.name} in {time.perf_counter() - started:.1f} s")
    write_notebook(nb, path)
