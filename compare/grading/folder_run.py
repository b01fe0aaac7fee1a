"""``mlp-compare check DIR``: every learner's file in a worker of its own, every verdict made here.

The checker imports torch once and loads the data once; each file gets a ``compare.worker`` process (a
private copy of that file only, limits, ``--timeout`` for all it is asked, a PID namespace where the
machine allows it), so a file that loops, ends its interpreter or allocates without bound costs its own
row. Nothing a worker writes is read back: its rows stay in this process's memory, and the checker writes
each file's ``report.html``, ``check.json`` and ``output.txt`` (the table, then the tail of what the
learner's code printed) and, at the end, ``summary.csv``; every write is atomic.

Up to ``jobs`` files are checked at once, in threads of this process. A checked file's figures are drawn in
one of ``jobs`` drawing processes of this tool's own (``compare.report.check_figures``: plain data in, PNG
bytes out), so drawing, half of a file's cost, runs beside the next file's check instead of holding this
process's interpreter.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import numpy as np

from ..data.load import load_dataset
from ..files import write_atomic
from ..learner import CannotCheck, check_backprop
from ..learner.folder import CANNOT_LOAD, CRASHED, FAIL, PASS, TIMED_OUT, Row, class_file, first_finding, subfolders
from ..learner.load import Prepared, load_in_worker, prepare
from ..report.check_figures import draw_pngs, start_drawing_process
from ..report.check_files import write_report
from ..twins.threads import same_threads
from ..worker.client import Worker, WorkerDied

Draw = Callable[[dict], dict[str, bytes]]
DRAWING_HERE = threading.Lock()   # matplotlib's figure machinery is not for two threads at once


class FolderInterrupted(KeyboardInterrupt):
    """Ctrl-C during ``check_folder``: ``rows`` holds the files finished before it, in the order of ``files``."""

    def __init__(self, rows: list[Row], total: int):
        super().__init__(f"{len(rows)} of {total} files checked")
        self.rows, self.total = rows, total


def check_folder(files: list[Path], out: Path, *, epochs: int, batch_size: int, lr: float, seed: int, dtype: str,
                 timeout: float = 120, jobs: int = 1, memory_gib: float = 4, allow_imports: tuple[str, ...] = (),
                 run_file: bool = False, l2: float = 0.0, on_row=None) -> list[Row]:
    """Check each file in a worker of its own; the rows come back in the order of ``files``.

    ``on_row(row)`` is called as each file finishes (for progress lines). Ctrl-C ends every worker at once
    and raises ``FolderInterrupted`` with the rows of the files finished by then (their files are written;
    a file cut short gets no row and no files).
    """
    data = load_dataset("mnist-5k", seed=seed, dtype=np.dtype(dtype))
    settings = dict(epochs=epochs, batch_size=batch_size, lr=lr, seed=seed, dtype=dtype, data=data,
                    allow_imports=allow_imports, l2=l2)
    jobs, running = max(1, jobs), _Running(timeout, memory_gib, run_file)
    # One thread each for both libraries, set here once: each file's check asks for it too, and setting it from
    # threads that run at once can leave OpenBLAS spinning (``same_threads``). torch's optimizer and autograd
    # are first used here too, in this thread: what they import and generate on first use then compiles no
    # code while the files' threads parse theirs (``learner.source.parse_text``).
    _warm_up()
    with same_threads(1), _drawing(jobs if len(files) > 1 else 0) as draw, \
            ThreadPoolExecutor(max_workers=jobs) as pool:
        def one(file: Path, name: str) -> Row | None:
            row = _check_one(file, Path(out) / name, settings, running, draw)
            if row is not None and on_row is not None:
                on_row(row)
            return row

        futures = [pool.submit(one, f, n) for f, n in zip(files, subfolders(files))]
        try:
            return [row for f in futures if (row := f.result()) is not None]
        except KeyboardInterrupt:
            running.stop()
            pool.shutdown(wait=True, cancel_futures=True)   # the files being checked end at once: no worker is left
            done = [f.result() for f in futures if f.done() and not f.cancelled() and f.exception() is None]
            raise FolderInterrupted([r for r in done if r is not None], len(files)) from None


class _Stopped(Exception):
    """No worker starts for this file: the batch was interrupted, or the file could not be prepared."""


class _Running:
    """The workers of the files being checked, so that Ctrl-C can end them all at once."""

    def __init__(self, timeout: float, memory_gib: float, run_file: bool):
        self.timeout, self.memory_gib, self.run_file = timeout, memory_gib, run_file
        self.stopping, self.lock, self.workers = threading.Event(), threading.Lock(), set[Worker]()

    def prepare(self, submission: Path) -> Prepared:
        """A file at the top of the class folder sees only itself; a learner's folder, its own files."""
        if submission.is_dir():
            return prepare(str(class_file(submission)), run_file=self.run_file, folder=submission)
        return prepare(str(submission), run_file=self.run_file, alone=True)

    @contextlib.contextmanager
    def worker(self, prepared: Prepared | None) -> Iterator[Worker]:
        """A started worker for a submission, ended on leaving; ``_Stopped`` once the batch was interrupted, or
        when there is nothing to start (the submission could not be prepared)."""
        if prepared is None or self.stopping.is_set():
            raise _Stopped
        with Worker(prepared.submission, timeout=self.timeout, memory_gib=self.memory_gib,
                    texts=prepared.texts) as worker:
            with self.lock:
                if self.stopping.is_set():
                    raise _Stopped
                self.workers.add(worker)
            try:
                yield worker
            finally:
                with self.lock:
                    self.workers.discard(worker)

    def stop(self) -> None:
        with self.lock:
            self.stopping.set()
            workers = list(self.workers)
        for worker in workers:
            worker.close()


@contextlib.contextmanager
def _drawing(processes: int) -> Iterator[Draw]:
    """``draw(inputs)`` in one of ``processes`` drawing processes (0: in this process, for a single file).

    Spawned, not forked: this process holds torch's threads, and a drawing process needs none of it.
    """
    if processes == 0:
        yield draw_pngs
        return
    # Started here, all at once, with Ctrl-C ignored meanwhile: a spawned process keeps that setting from
    # its start, so Ctrl-C can never end one half-started and break the pool for the files still drawing.
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if _main_thread() else None
    try:
        pool = ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=start_drawing_process)
        for _ in range(processes):   # each submit starts one more process, in this thread, before it returns
            pool.submit(int)
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)

    def draw(inputs: dict) -> dict[str, bytes]:
        try:
            return pool.submit(draw_pngs, inputs).result()
        except BrokenProcessPool:   # a drawing process died (memory?): this file's figures are drawn here
            with DRAWING_HERE:
                return draw_pngs(inputs)

    with pool:
        yield draw


def _warm_up() -> None:
    """One step of a tiny twin with ``optim.SGD``: torch's lazy imports and code generation, done once, here."""
    import torch

    from torch_impl import build_model, loss_function

    net = build_model([2, 2, 2], "sigmoid", "mse").double()
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
    loss_function("mse")(net(torch.zeros(1, 2, dtype=torch.float64)), torch.zeros(1, dtype=torch.long)).backward()
    optimizer.step()


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _check_one(file: Path, folder: Path, settings: dict, running: _Running, draw: Draw) -> Row | None:
    """One file's row; its files are written once its worker (and all it started) has ended. None when the
    batch was interrupted before the file's check finished."""
    if running.stopping.is_set():
        return None
    folder.mkdir(parents=True, exist_ok=True)
    for stale in ("check.json", "report.html", "output.txt"):  # an earlier batch's (--overwrite): never this one's
        (folder / stale).unlink(missing_ok=True)
    started, timeout = time.monotonic(), running.timeout
    row = Row(file.name + "/" * file.is_dir(), folder.name, "", CRASHED, "", 0.0, False)
    report = target = None
    printed, loaded, tail = "", False, ""
    prepared = None
    try:
        prepared = running.prepare(file)
    except CannotCheck as e:   # not Python, a class that reads what only script code sets, no class in a folder
        row.verdict, row.finding, printed = CANNOT_LOAD, str(e), f"mlp-compare: error: {e}"
    except Exception as e:   # our bug, on this file's text: its row says so, the batch goes on
        row.finding = f"the check stopped with an internal error: {type(e).__name__}: {' '.join(str(e).split())}"
        printed = f"mlp-compare: internal error: {traceback.format_exc()}"
    with contextlib.suppress(_Stopped), running.worker(prepared) as worker:
        try:
            assert prepared is not None   # a worker starts only for a prepared submission
            target = load_in_worker(worker, prepared)
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
    if running.stopping.is_set() and report is None and prepared is not None:
        return None   # cut short by Ctrl-C: no verdict of its own
    if report is not None and target is not None:
        report.not_run = target.not_run
        row.class_name, row.verdict = report.class_name, PASS if report.passed else FAIL
        row.finding = "" if report.passed else first_finding(report.as_dict())
        printed = report.table()
        try:
            write_report(report, folder, settings["data"], target.cls, draw)   # check.json with it
            row.has_report = True
        except Exception as e:   # a drawing process that died, a full disk: the verdict stands, the row says so
            row.finding = (row.finding + "; " if row.finding else "") + (
                f"its report could not be written: {type(e).__name__}: {' '.join(str(e).split())}")
    write_atomic(folder / "output.txt", printed + (f"\n\nwhat your code printed (its last lines):\n{tail}"
                                                   if tail.strip() else "") + "\n")
    row.seconds = time.monotonic() - started
    return row
