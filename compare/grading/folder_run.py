"""``mlp-compare check DIR``: every learner's file in a worker of its own, every verdict made here.

The checker imports torch once and loads the data once; each file gets a ``compare.worker`` process (a
private copy of that file only, limits, ``--timeout`` for all it is asked, a PID namespace where the
machine allows it), so a file that loops, ends its interpreter or allocates without bound costs its own
row. Nothing a worker writes is read back: its rows stay in this process's memory, and the checker writes
each file's ``report.html``, ``check.json`` and ``output.txt`` (the table, then the tail of what the
learner's code printed) and, at the end, ``summary.csv``; every write is atomic.

Up to ``jobs`` files are checked at once, in threads of this process; the report pages, drawn with
matplotlib, are written one at a time.
"""

from __future__ import annotations

import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from ..data.load import load_dataset
from ..files import write_atomic, write_json
from ..learner import CannotCheck, check_backprop
from ..learner.folder import CANNOT_LOAD, CRASHED, FAIL, PASS, TIMED_OUT, Row, first_finding, subfolders
from ..learner.load import load_in_worker
from ..report.check_files import write_report
from ..worker.client import Worker, WorkerDied

DRAWING = threading.Lock()   # matplotlib's figure machinery is not for two threads at once


def check_folder(files: list[Path], out: Path, *, epochs: int, batch_size: int, lr: float, seed: int, dtype: str,
                 timeout: float = 120, jobs: int = 1, memory_gib: float = 4, allow_imports: tuple[str, ...] = (),
                 on_row=None) -> list[Row]:
    """Check each file in a worker of its own; the rows come back in the order of ``files``.

    ``on_row(row)`` is called as each file finishes (for progress lines).
    """
    data = load_dataset("mnist-5k", seed=seed, dtype=np.dtype(dtype))
    settings = dict(epochs=epochs, batch_size=batch_size, lr=lr, seed=seed, dtype=dtype, data=data,
                    allow_imports=allow_imports)

    def one(file: Path, name: str) -> Row:
        row = _check_one(file, Path(out) / name, settings, timeout, memory_gib)
        if on_row is not None:
            on_row(row)
        return row

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = [pool.submit(one, f, n) for f, n in zip(files, subfolders(files))]
        return [f.result() for f in futures]


def _check_one(file: Path, folder: Path, settings: dict, timeout: float, memory_gib: float) -> Row:
    """One file's row; its files are written once its worker (and all it started) has ended."""
    folder.mkdir(parents=True, exist_ok=True)
    for stale in ("check.json", "report.html"):  # from an earlier batch (--overwrite): never read as this one's
        (folder / stale).unlink(missing_ok=True)
    started = time.monotonic()
    row = Row(file.name, folder.name, "", CRASHED, "", 0.0, False)
    report = target = None
    printed, loaded = "", False
    # Only the file itself: a folder of submissions is no package, and a neighbour's file is not its own.
    with Worker(file, timeout=timeout, memory_gib=memory_gib) as worker:
        try:
            target = load_in_worker(worker, str(file), as_package=False)
            loaded = True
            report = check_backprop(target.cls, file=target.file, **settings)
        except CannotCheck as e:
            row.verdict, row.finding, printed = CANNOT_LOAD, str(e), f"mlp-compare: error: {e}"
        except WorkerDied as e:
            row.verdict = TIMED_OUT if e.kind == "timed out" else CRASHED if loaded else CANNOT_LOAD
            row.finding = (f"did not finish within the {timeout:g} s limit (--timeout) and was stopped: an endless "
                           f"loop, or a check slower than the limit" if e.kind == "timed out" else str(e))
            printed = f"mlp-compare: {e.kind}: {e}"
        except Exception as e:   # one file's trouble, whoever's it is, never costs the batch its summary
            row.finding = f"the check stopped with an internal error: {type(e).__name__}: {' '.join(str(e).split())}"
            printed = f"mlp-compare: internal error: {traceback.format_exc()}"
        tail = worker.output()
    if report is not None and target is not None:
        row.class_name, row.verdict = report.class_name, PASS if report.passed else FAIL
        row.finding = "" if report.passed else first_finding(report.as_dict())
        with DRAWING:
            write_report(report, folder, settings["data"], target.cls)
        write_json(folder / "check.json", report.as_dict())
        row.has_report, printed = True, report.table()
    write_atomic(folder / "output.txt", printed + (f"\n\nwhat your code printed (its last lines):\n{tail}"
                                                   if tail.strip() else "") + "\n")
    row.seconds = time.monotonic() - started
    return row
