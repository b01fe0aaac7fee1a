"""A folder of learners' files, each checked in a process of its own: ``mlp-compare check DIR``.

Every ``*.py`` directly in the folder is one learner's file. Each runs as ``python -m compare check FILE
--json ... --out DIR/<stem>/`` in its own process, so a file that loops forever, ends the interpreter
(``os._exit``, a segfault) or allocates without bound costs its own row and never the batch: the process
is killed after ``timeout`` seconds, and its address space is capped at ``memory_gib`` (``RLIMIT_AS``).
Up to ``jobs`` files run at once, each with one BLAS / OpenMP thread so that they share the cores.

The result is one ``Row`` per file; ``write_csv`` writes ``summary.csv`` (the HTML is
``compare.report.summary_page``).
"""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from ..files import write_atomic

# A row's verdict: the check's own (pass, FAIL, cannot load) or what became of its process.
PASS, FAIL, CANNOT_LOAD, TIMED_OUT, CRASHED = "pass", "FAIL", "cannot load", "timed out", "crashed"
CSV_COLUMNS = ("file", "class", "verdict", "first finding", "seconds")
ONE_THREAD = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
CANNOT_LOAD_PREFIX = "mlp-compare: error: "  # the one line a check that cannot load the file ends with
PROJECT_ROOT = Path(__file__).resolve().parents[2]  # the children import this copy of compare, not another


@dataclass
class Row:
    """What checking one file found: ``folder`` is its subfolder of the output (its report.html)."""

    file: str            # the file's name inside the checked folder
    folder: str          # its subfolder of the output folder
    class_name: str      # "" when no class was found
    verdict: str         # one of PASS, FAIL, CANNOT_LOAD, TIMED_OUT, CRASHED
    finding: str         # the first finding, one line ("" for a pass)
    seconds: float
    has_report: bool     # whether the check wrote report.html into the subfolder

    def as_dict(self) -> dict:
        return {"file": self.file, "folder": self.folder, "class": self.class_name, "verdict": self.verdict,
                "first_finding": self.finding, "seconds": round(self.seconds, 2), "report": self.has_report}


def learner_files(folder: Path) -> list[Path]:
    """The ``*.py`` files directly inside ``folder``, sorted by name (hidden files left out)."""
    return sorted(p for p in Path(folder).glob("*.py") if p.is_file() and not p.name.startswith("."))


def exit_code(rows: list[Row]) -> int:
    """0 when every file passes, 2 when none could be loaded, 1 otherwise."""
    if rows and all(r.verdict == PASS for r in rows):
        return 0
    if all(r.verdict == CANNOT_LOAD for r in rows):
        return 2
    return 1


def _subfolders(files: list[Path]) -> list[str]:
    """One subfolder name per file: its stem ("summary" and repeats get a suffix, never clash)."""
    names: list[str] = []
    for f in files:
        name, n = f.stem, 1
        while name in names or name.startswith("summary"):
            n += 1
            name = f"{f.stem}-{n}"
        names.append(name)
    return names


def _limit_memory(limit: int):
    def apply() -> None:  # runs in the child between fork and exec: a C call, no locks taken
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    return apply


@dataclass
class _Running:
    file: Path
    folder: Path
    process: subprocess.Popen
    started: float
    log: io.BufferedWriter


def check_folder(files: list[Path], out: Path, check_args: list[str], *, timeout: float = 120,
                 jobs: int | None = None, memory_gib: float = 4, on_row=None) -> list[Row]:
    """Check each file in its own process; the rows come back in the order of ``files``.

    ``check_args`` are passed to every file's check (``["--epochs", "1"]``); ``on_row(row)`` is called as
    each file finishes (for progress lines).
    """
    jobs = max(1, jobs or len(os.sched_getaffinity(0)))
    limit = int(memory_gib * 2**30)
    env = dict(os.environ, **ONE_THREAD, PYTHONPATH=os.pathsep.join(
        [str(PROJECT_ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    todo = list(zip(files, _subfolders(files)))[::-1]
    running: list[_Running] = []
    rows: dict[Path, Row] = {}
    while todo or running:
        while todo and len(running) < jobs:
            file, name = todo.pop()
            folder = Path(out) / name
            folder.mkdir(parents=True, exist_ok=True)
            for stale in ("check.json", "report.html"):  # from an earlier batch (--overwrite): never read as this one's
                (folder / stale).unlink(missing_ok=True)
            log = open(folder / "output.txt", "wb")
            cmd = [sys.executable, "-m", "compare", "check", str(file), "--out", str(folder), "--overwrite",
                   "--json", str(folder / "check.json"), *check_args]
            # A session of its own: a timeout kills whatever their code started too.
            process = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env,
                                       preexec_fn=_limit_memory(limit), start_new_session=True)
            running.append(_Running(file, folder, process, time.monotonic(), log))
        for r in list(running):
            rc, elapsed = r.process.poll(), time.monotonic() - r.started
            if rc is None and elapsed < timeout:
                continue
            if rc is None:
                _kill(r.process)
            r.log.close()
            running.remove(r)
            rows[r.file] = _collect(r, rc, elapsed, timeout)
            if on_row is not None:
                on_row(rows[r.file])
        if running:
            time.sleep(0.05)  # polling the children: their number is at most the core count
    return [rows[f] for f in files]


def _kill(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:  # it ended between the poll and the kill
        pass
    process.wait()


def _collect(r: _Running, rc: int | None, seconds: float, timeout: float) -> Row:
    """The row for one finished (or killed, ``rc`` None) check."""
    report = r.folder / "check.json"
    result = _read_json(report) if rc in (0, 1) else None
    output = (r.folder / "output.txt").read_text(errors="replace")
    has_report = (r.folder / "report.html").is_file()
    row = Row(r.file.name, r.folder.name, "", CRASHED, "", seconds, has_report)
    if rc is None:
        row.verdict, row.finding = TIMED_OUT, (f"did not finish within the {timeout:g} s limit (--timeout) and was "
                                               f"stopped: an endless loop, or a check slower than the limit")
    elif result is not None:
        row.class_name, row.verdict = result.get("class") or "", PASS if result.get("passed") else FAIL
        row.finding = "" if result.get("passed") else first_finding(result)
    elif rc == 2 and not has_report and _last_line(output).startswith(CANNOT_LOAD_PREFIX):
        row.verdict, row.finding = CANNOT_LOAD, _last_line(output).removeprefix(CANNOT_LOAD_PREFIX)
    else:
        row.finding = _crash_words(rc, output)
    return row


def first_finding(result: dict) -> str:
    """The first thing a failed check's JSON says is wrong, one line."""
    if result.get("findings"):
        return str(result["findings"][0].get("message", ""))
    if result.get("raised"):
        return str(result["raised"])
    failed = [s for s in result.get("stages", []) if s.get("status") == "FAIL"]
    return f"{failed[0]['name']}: {failed[0]['summary']}" if failed else "the check failed"


def _crash_words(rc: int, output: str) -> str:
    if rc < 0:
        try:
            name = signal.Signals(-rc).name
        except ValueError:
            name = f"signal {-rc}"
        how = f"the process was killed by {name}"
        if -rc == signal.SIGSEGV:
            how += " (a segmentation fault)"
    else:
        how = f"the process ended with exit code {rc} before writing its result"
    last = _last_line(output)
    if "MemoryError" in output:
        how += " (out of memory: the limit is --memory-limit)"
    return f"{how}; last output: {last}" if last else how


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def write_csv(rows: list[Row], path: Path) -> None:
    """``summary.csv``: file, class, verdict, first finding, seconds; one row per file."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(CSV_COLUMNS)
    for r in rows:
        w.writerow([r.file, r.class_name, r.verdict, r.finding, f"{r.seconds:.1f}"])
    write_atomic(path, buf.getvalue())
