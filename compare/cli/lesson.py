"""``mlp-compare lesson``: write the bridge lesson, ``lesson.html`` and ``lesson.md``, into a folder."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from .args import seed_value


def add_parser(sub) -> argparse.ArgumentParser:
    lesson = sub.add_parser("lesson", help="write the bridge lesson (NumPy beside PyTorch, step by step): "
                                           "lesson.html and lesson.md",
                            description="The lesson's network in NumPy and in PyTorch, step by step, side by side: "
                                        "the real source of both, the shapes, and their agreement measured on the "
                                        "embedded mnist-5k digits; then the 10x trap in real numbers.")
    lesson.add_argument("--out", type=Path, help="output folder (default: runs/lesson-YYYYmmdd-HHMMSS)")
    lesson.add_argument("--seed", type=seed_value, default=123,
                        help="initial weights, the split and the batch order (default: 123)")
    lesson.add_argument("--overwrite", action="store_true", help="allow writing into a folder that already holds files")
    return lesson


def main(args) -> int:
    from ..data.load import load_dataset
    from ..files import prepare_out_dir
    from ..lesson.pages import write_lesson

    out = prepare_out_dir(args.out or Path("runs") / time.strftime("lesson-%Y%m%d-%H%M%S"), args.overwrite)
    page = write_lesson(out, load_dataset("mnist-5k", seed=args.seed), seed=args.seed, report=None)
    print(f"wrote {out}/lesson.html and {out}/lesson.md: {len(page.sections)} sections, measured on mnist-5k")
    return 0
