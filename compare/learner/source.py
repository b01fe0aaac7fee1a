"""A learner's source as Python text, and its lines named as the learner knows them.

A ``.py`` file is its text; a notebook (``.ipynb``, read with nbformat) is its code cells joined in order,
each IPython magic (``%matplotlib inline``) or shell line (``!pip install ...``) made a ``pass`` at its
indentation and each cell magic (``%%time``) cell left out, so that every line keeps its place. A line is
then named ``my_mlp.py:57`` or ``chapter.ipynb, code cell 7 [In 5], line 12``: the position among the
code cells, counting from 1, with the execution count where the notebook has one.
"""

from __future__ import annotations

import ast
import functools
import io
import os
import re
import threading
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import UserError

MAGIC = re.compile(r"^(\s*)[%!]")


# CPython 3.11 keeps the AST constructor's recursion depth per interpreter, not per thread: a parse while
# another thread compiles (a class folder's files, checked side by side; a library that generates code on
# first use) can fail with "SystemError: AST constructor recursion depth mismatch". Parses of a learner's
# source hold this lock, and a parse that still meets another thread's compile is made again.
PARSING = threading.Lock()
PARSE_TRIES = 5


def compiling(compile_fn, *args):
    """``compile_fn(*args)`` (``ast.parse``, ``symtable.symtable``) one thread at a time (``PARSING``), made
    again when another thread's compile upset it (that ``SystemError`` is nothing of the text's own)."""
    for attempt in range(PARSE_TRIES):
        try:
            with PARSING:
                return compile_fn(*args)
        except SystemError as e:
            if "recursion depth mismatch" not in str(e) or attempt == PARSE_TRIES - 1:
                raise
    raise AssertionError("unreachable")


def parse_text(text: str) -> ast.Module:
    """``ast.parse(text)``, safely beside other threads (``compiling``)."""
    return compiling(ast.parse, text)


class CannotCheck(UserError):
    """The learner's file or class cannot be loaded or adapted; the message is one line for them (exit 2).

    A ``UserError``, so the command line's handler of user errors prints it as one line too.
    """


def shown(path) -> str:
    """``path`` as a learner reads it: relative to the working folder when it lies below it."""
    p = Path(path).resolve()
    try:
        return str(p.relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(p)


def at(file: str | Path, line: int | str) -> str:
    """``my_mlp.py:57``, or ``chapter.ipynb, code cell 7 [In 5], line 12`` for a line of a notebook's code."""
    if not str(file).endswith(".ipynb"):
        return f"{shown(file)}:{line}"
    try:
        stat = os.stat(file)
        return _cached_notebook(str(file), stat.st_mtime_ns, stat.st_size).at(line)
    except (OSError, CannotCheck):
        return f"{shown(file)}, line {line} of its code cells joined"


@functools.lru_cache(maxsize=64)
def _cached_notebook(path: str, mtime_ns: int, size: int) -> LearnerSource:
    return _notebook(Path(path))


@dataclass(frozen=True)
class Cell:
    first: int          # its first line in the joined text, counting from 1
    number: int         # its place among the notebook's code cells, counting from 1
    count: int | None   # its execution count, where the notebook was run


@dataclass(frozen=True)
class LearnerSource:
    """The Python text of a learner's file; ``cells`` is empty for a ``.py`` file."""

    path: str
    text: str
    cells: tuple[Cell, ...] = field(default=())
    encoding: str = "utf-8"   # what the worker's copy is written in, as the original was

    @property
    def is_notebook(self) -> bool:
        return self.path.endswith(".ipynb")

    def _cell(self, line: int) -> tuple[Cell, int]:
        cell = [c for c in self.cells if c.first <= line][-1] if self.cells and line >= self.cells[0].first \
            else self.cells[0]
        return cell, line - cell.first + 1

    def line(self, line: int) -> str:
        """``line 12``, or ``code cell 7 [In 5], line 12`` in a notebook."""
        if not self.is_notebook or not self.cells:
            return f"line {line}"
        cell, at = self._cell(line)
        count = f" [In {cell.count}]" if cell.count is not None else ""
        return f"code cell {cell.number}{count}, line {at}"

    def at(self, line: int | str) -> str:
        """The learner's file and line, for the start of a one-line message."""
        if not str(line).isdigit():
            return shown(self.path)
        return f"{shown(self.path)}:{line}" if not self.is_notebook else f"{shown(self.path)}, {self.line(int(line))}"

    def span(self, first: int, last: int) -> str:
        """``lines 4–557``, or ``code cells 1–9`` in a notebook."""
        if not self.is_notebook or not self.cells:
            return f"line {first}" if first == last else f"lines {first}–{last}"
        a, b = self._cell(first)[0].number, self._cell(last)[0].number
        return f"code cell {a}" if a == b else f"code cells {a}–{b}"


def lines_of(text: str) -> list[str]:
    """``text``'s lines as Python counts them (``\\n``, ``\\r\\n``, ``\\r``; not form feeds or ``\\u2028``, which
    ``str.splitlines`` also splits at), each with its line break."""
    return [line.decode("utf-8") for line in text.encode("utf-8").splitlines(keepends=True)]


def read_source(path: str | Path) -> LearnerSource:
    """The learner's file as Python text (decoded as Python would: a coding line, a byte-order mark);
    ``CannotCheck`` when it cannot be read (or is no notebook)."""
    path = Path(path)
    try:
        if path.suffix != ".ipynb":
            with tokenize.open(path) as f:
                return LearnerSource(str(path), f.read(), encoding=f.encoding)
        return _notebook(path)
    except (OSError, UnicodeDecodeError, SyntaxError) as e:   # tokenize: an unknown or wrong coding line
        raise CannotCheck(f"{shown(path)}: cannot be read: {type(e).__name__}: {e}") from None


def _notebook(path: Path) -> LearnerSource:
    import nbformat

    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as e:   # nbformat raises JSON, validation and version errors of several kinds
        raise CannotCheck(f"{shown(path)}: not a notebook nbformat can read ({type(e).__name__}: "
                          f"{' '.join(str(e).split())[:200]}); save it again from Jupyter") from None
    lines: list[str] = []
    cells: list[Cell] = []
    for number, cell in enumerate((c for c in nb.cells if c.get("cell_type") == "code"), start=1):
        source = cell.get("source", "")
        code = [line.rstrip("\r\n") for line in lines_of(source)] if not source.lstrip().startswith("%%") else []
        cells.append(Cell(len(lines) + 1, number, cell.get("execution_count")))
        lines += _without_magics(code)
        lines.append("")   # a cell's last statement ends with its cell
    return LearnerSource(str(path), "\n".join(lines) + "\n", tuple(cells))


def _without_magics(code: list[str]) -> list[str]:
    """A cell's lines with each line magic or shell line that starts a statement made a ``pass`` (a ``%`` or
    ``!`` inside a bracket, a string or a continued line is Python's own); at the top of a cell, unindented,
    as IPython runs it."""
    out: list[str] = []
    pending = ""   # the statement so far, while it continues over lines
    for line in code:
        if not pending and MAGIC.match(line):
            indent = MAGIC.match(line).group(1) if any(o.strip() for o in out) else ""   # type: ignore[union-attr]
            out.append(f"{indent}pass  # {line.strip()[1:]}")
            continue
        out.append(line)
        pending += line + "\n"
        try:
            list(tokenize.generate_tokens(io.StringIO(pending).readline))
            pending = ""
        except (tokenize.TokenError, IndentationError, SyntaxError):   # open bracket, string or continuation
            pass
    return out
