"""``summary.html`` of ``mlp-compare check DIR``: one row per learner's file, linking that file's own report.

The rows are ``compare.learner.folder.Row``; the page is a ``compare.report.html.Page``, so it is one
self-contained file like every other report, and a file name can never inject markup.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from urllib.parse import quote

from ..files import write_atomic
from ..learner.folder import CANNOT_LOAD, CRASHED, FAIL, PASS, TIMED_OUT, Row
from .html import Link, Note, Page, Section, Table, render_html

ORDER = (PASS, FAIL, CANNOT_LOAD, TIMED_OUT, CRASHED)
SHOWN = {PASS: "pass", FAIL: "**FAIL**", CANNOT_LOAD: "**cannot load**", TIMED_OUT: "**timed out**",
         CRASHED: "**crashed**"}


def tally(rows: list[Row]) -> str:
    """``"20 files: 12 pass, 6 FAIL, 1 cannot load, 1 timed out"`` (verdicts that occur, in a fixed order)."""
    counts = Counter(r.verdict for r in rows)
    parts = [f"{counts[v]} {v}" for v in ORDER if counts[v]]
    return f"{len(rows)} file{'s' if len(rows) != 1 else ''}: " + ", ".join(parts)


def build_summary_page(rows: list[Row], folder: str, settings: str, wall_seconds: float) -> Page:
    """The page: the tally, one table row per file (its report linked when it was written), what was run."""
    cells: list[list] = [  # the last cell a link (html.inline renders a list of strings and Links)
        [f"`{r.file}`", f"`{r.class_name}`" if r.class_name else "-", SHOWN[r.verdict], r.finding or "-",
         f"{r.seconds:.1f}", [Link("report.html", f"{quote(r.folder)}/report.html")] if r.has_report
         else [Link("output.txt", f"{quote(r.folder)}/output.txt")]] for r in rows]
    table = Table(["file", "class", "verdict", "first finding", "seconds", "report"], cells, align="llllrl")
    ok = bool(rows) and all(r.verdict == PASS for r in rows)
    intro = [Note(f"**{tally(rows)}.** Checked in {wall_seconds:.1f} s, each file in its own process.",
                  "ok" if ok else "warn")]
    how = [f"Folder `{folder}`; each file checked as `mlp-compare check FILE {settings}`.",
           "A file that does not finish within the time limit, ends the interpreter or runs out of memory is "
           "stopped and gets its own row; the others are unaffected. Each row's folder holds the file's "
           "`report.html` (when the check got that far) and `output.txt`, what the check printed."]
    return Page(title="Submissions checked against the PyTorch twin", intro=intro,
                sections=[Section("Files", [table]), Section("What was run", how)], toc=False)


def write_summary_html(rows: list[Row], out: Path, folder: str, settings: str, wall_seconds: float) -> Path:
    path = Path(out) / "summary.html"
    write_atomic(path, render_html(build_summary_page(rows, folder, settings, wall_seconds)))
    return path
