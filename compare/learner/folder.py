"""A folder of learners' files: which files, and one ``Row`` per file (``mlp-compare check DIR``).

Every ``.py`` file or notebook directly in the folder is one learner's submission, and so is every
sub-folder that holds one (one learner's files, their class in one of them); ``compare.grading.folder_run``
checks each in a worker of its own and makes its row here. ``write_csv`` writes ``summary.csv`` (the HTML is
``compare.report.summary_page``).
"""

from __future__ import annotations

import ast
import csv
import io
from dataclasses import dataclass
from pathlib import Path

from ..files import write_atomic
from . import definitions
from .load import LEARNER_SUFFIXES
from .source import CannotCheck, read_source, shown

# A row's verdict: the check's own (pass, FAIL, cannot load) or what became of its process.
PASS, FAIL, CANNOT_LOAD, TIMED_OUT, CRASHED = "pass", "FAIL", "cannot load", "timed out", "crashed"
CSV_COLUMNS = ("file", "class", "verdict", "first finding", "seconds")


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
    """The submissions directly inside ``folder``, sorted by name: each ``.py`` file and notebook, and each
    sub-folder that holds one (one learner's files). Hidden ones, ``__init__.py`` (it would make the
    folder a package run before every file) and ``__pycache__`` are left out."""
    found = []
    for p in sorted(Path(folder).iterdir()):
        if p.name.startswith((".", "__")):
            continue
        if p.is_file() and p.suffix in LEARNER_SUFFIXES or p.is_dir() and _sources(p):
            found.append(p)
    return found


def _sources(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix in LEARNER_SUFFIXES and p.is_file()
                  and not p.name.startswith((".", "__")))


def class_file(folder: Path) -> Path:
    """The file of one learner's folder that holds their class: the one whose source (never run) defines a
    class with ``forward`` or ``backward``; ``CannotCheck`` when none or several do."""
    holding = []
    for path in _sources(folder):
        try:
            tree, _ = definitions.parse(read_source(path))
        except CannotCheck:
            continue
        if any(isinstance(c, ast.ClassDef) and any(isinstance(f, ast.FunctionDef) and f.name in ("forward", "backward")
                                                   for f in c.body) for c in tree.body):
            holding.append(path)
    if len(holding) == 1:
        return holding[0]
    names = ", ".join(p.name for p in holding)
    raise CannotCheck(f"{shown(folder)}: {'several files hold' if holding else 'no file holds'} a class with forward "
                      f"or backward{f' ({names})' if holding else ''}; expected one such file in a learner's folder")


def exit_code(rows: list[Row]) -> int:
    """0 when every file passes, 2 when none could be loaded, 1 otherwise."""
    if rows and all(r.verdict == PASS for r in rows):
        return 0
    if all(r.verdict == CANNOT_LOAD for r in rows):
        return 2
    return 1


def subfolders(files: list[Path]) -> list[str]:
    """One subfolder name per file: its stem ("summary" and repeats get a suffix, never clash)."""
    names: list[str] = []
    for f in files:
        name, n = f.stem, 1
        while name in names or name.startswith("summary"):
            n += 1
            name = f"{f.stem}-{n}"
        names.append(name)
    return names


def first_finding(result: dict) -> str:
    """The first thing a failed check's JSON says is wrong, one line."""
    if result.get("findings"):
        return str(result["findings"][0].get("message", ""))
    if result.get("raised"):
        return str(result["raised"])
    failed = [s for s in result.get("stages", []) if s.get("status") == "FAIL"]
    return f"{failed[0]['name']}: {failed[0]['summary']}" if failed else "the check failed"


def _cell(text: str) -> str:
    """Text from a submission as a spreadsheet reads it: never a formula (a leading =, +, - or @ is quoted)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def write_csv(rows: list[Row], path: Path) -> None:
    """``summary.csv``: file, class, verdict, first finding, seconds; one row per file."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(CSV_COLUMNS)
    for r in rows:
        w.writerow([_cell(r.file), _cell(r.class_name), r.verdict, _cell(r.finding), f"{r.seconds:.1f}"])
    write_atomic(path, buf.getvalue())
