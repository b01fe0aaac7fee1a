"""The class, not the script: from a learner's file, only the class and the definitions it uses are run.

A chapter's script downloads MNIST, plots and trains at import; the check needs none of that. From the
file's source (never run here) this keeps the top-level statements the class needs, found by name:

- the class itself (the named one, or every class that writes ``forward`` or ``backward``);
- each function, class and import that binds a name the kept code reads, transitively (``symtable``
  tells a method's globals from its locals, so a parameter ``y`` is never mistaken for a script's ``y``);
- a module-level assignment (``minibatch_size = 100``) only when its right-hand side reads nothing but
  literals, builtins, functions and classes of the file, and names already kept: ``X, y =
  fetch_openml(...)`` is never run;
- a compound statement (``try``/``if``) only when it holds nothing but such definitions (``try: import
  cupy as np / except ImportError: import numpy as np``); ``from __future__`` imports always.

Everything else is blanked to empty lines (or ``pass`` where a line holds several statements), so every
line keeps its number and a traceback still points at the learner's line. A name the class reads that
only skipped code sets is a ``CannotCheck`` naming the name and its line, never a bare ``NameError``.
"""

from __future__ import annotations

import ast
import builtins
import symtable
from dataclasses import dataclass, field

from .blame import CannotCheck
from .source import LearnerSource

MAX_SOURCE = 4 << 20   # characters of a learner's file: a textbook chapter is about 30,000
BUILTINS = frozenset(dir(builtins)) | {"__file__", "__name__", "__doc__", "__builtins__", "__spec__"}


@dataclass
class Definitions:
    """What of the file is run: ``source`` (same lines, script code blanked) and the statements skipped."""

    source: str
    learner: LearnerSource
    skipped: list[ast.stmt] = field(default_factory=list)

    def summary(self) -> str:
        """One line: how much script code is not run, where, and its most telling example ("" when none)."""
        if not self.skipped:
            return ""
        first, last = self.skipped[0].lineno, max(s.end_lineno or s.lineno for s in self.skipped)
        telling = next((s for s in self.skipped if isinstance(s, ast.Assign) and _calls(s)),   # a download, a fit
                       next((s for s in self.skipped if _calls(s)), self.skipped[0]))
        text = self.learner.text.splitlines()[telling.lineno - 1].strip()
        example = text if len(text) <= 60 else text[:57].rstrip() + "…"
        n, where = len(self.skipped), self.learner
        return (f"not run: {n} statement{'s' * (n != 1)} of script code, {where.span(first, last)} outside the "
                f"class, e.g. {where.line(telling.lineno)} `{example}` (--run-file runs it all)")


def _calls(stmt: ast.stmt) -> bool:
    return any(isinstance(n, ast.Call) for n in ast.walk(stmt))


def parse(learner: LearnerSource) -> ast.Module:
    """The file's AST; a ``CannotCheck`` at the learner's line when it is not Python."""
    text, where = learner.text, learner.at
    if len(text) > MAX_SOURCE:
        raise CannotCheck(f"{where(1)}: the file holds {len(text):,} characters, over the {MAX_SOURCE:,} a class "
                          f"and its helpers need; check the file that holds only your class")
    try:
        return ast.parse(text)
    except SyntaxError as e:
        raise CannotCheck(f"{where(e.lineno or 1)}: {type(e).__name__}: {e.msg}; fix it, then check again") from None
    except (RecursionError, MemoryError, ValueError) as e:   # nesting past the parser's limits, a NUL byte
        raise CannotCheck(f"{where(1)}: the file cannot be parsed as Python ({type(e).__name__}); fix it, then "
                          f"check again") from None


def _bound(stmt: ast.stmt) -> set[str]:
    """The module-level names ``stmt`` binds (for a compound statement, anywhere in its blocks)."""
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {stmt.name}
    if isinstance(stmt, ast.Import):
        return {(a.asname or a.name).split(".")[0] for a in stmt.names}
    if isinstance(stmt, ast.ImportFrom):
        return {a.asname or a.name for a in stmt.names if a.name != "*"}
    if isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    targets = [stmt.target] if isinstance(stmt, ast.For) else [
        i.optional_vars for i in stmt.items if i.optional_vars] if isinstance(stmt, ast.With) else []
    names = {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    return names.union(*(_bound(s) for block in _blocks(stmt) for s in block))


def _blocks(stmt: ast.stmt) -> list[list[ast.stmt]]:
    if isinstance(stmt, ast.Try):
        return [stmt.body, *(h.body for h in stmt.handlers), stmt.orelse, stmt.finalbody]
    if isinstance(stmt, (ast.If, ast.For, ast.While)):
        return [stmt.body, stmt.orelse]
    if isinstance(stmt, ast.With):
        return [stmt.body]
    return []


def _is_definition(stmt: ast.stmt) -> bool:
    """A statement that runs nothing of the script: a def, a class, an import, or a try/if made only of them."""
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom, ast.Pass)):
        return True
    if isinstance(stmt, (ast.Try, ast.If)) and not _calls_in_tests(stmt):   # never a loop or a with
        return all(_is_definition(s) or _is_literal_assign(s) for block in _blocks(stmt) for s in block)
    return False


def _calls_in_tests(stmt: ast.stmt) -> bool:
    tests = [stmt.test] if isinstance(stmt, ast.If) else [h.type for h in getattr(stmt, "handlers", []) if h.type]
    return any(_calls(ast.Expr(t)) for t in tests)


def _is_literal_assign(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.Assign) and not _reads(stmt.value)


def _reads(node: ast.AST | None) -> set[str]:
    """The names an expression reads (an over-estimate inside comprehensions and lambdas: safe here)."""
    if node is None:
        return set()
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _globals_of(table: symtable.SymbolTable) -> set[str]:
    """The module-level names a function's or class's body reads, through every scope nested in it."""
    names = {s.get_name() for s in table.get_symbols() if s.is_global() and s.is_referenced()}
    for child in table.get_children():
        names |= _globals_of(child)
    return names


def _outer_reads(stmt: ast.stmt) -> set[str]:
    """Names a def or class reads where it is defined: decorators, bases, defaults, annotations."""
    if isinstance(stmt, ast.ClassDef):
        parts: list = [*stmt.decorator_list, *stmt.bases, *(k.value for k in stmt.keywords)]
    elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
        a = stmt.args
        parts = [*stmt.decorator_list, *a.defaults, *(d for d in a.kw_defaults if d is not None), stmt.returns,
                 *(x.annotation for x in [*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg] if x)]
    else:
        return set()
    return set().union(*(_reads(p) for p in parts if p is not None))


def definitions(learner: LearnerSource, class_name: str | None, in_package: bool = False) -> Definitions:
    """The learner's text with only ``class_name`` (or every class writing ``forward``/``backward``) and what
    it needs left to run. ``in_package``: the file is a module of their package, whose other modules may
    import any of its functions, classes and constants: all of those are kept, only script code is not."""
    text = learner.text
    tree = parse(learner)
    body = tree.body
    tables = {(t.get_name(), t.get_lineno()): t for t in symtable.symtable(text, "<learner>", "exec").get_children()}

    def reads(stmt: ast.stmt) -> set[str]:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            table = tables.get((stmt.name, stmt.lineno))
            return _outer_reads(stmt) | (_globals_of(table) if table is not None else set())
        if isinstance(stmt, (ast.Try, ast.If)):
            tests = _reads(stmt.test) if isinstance(stmt, ast.If) else set()
            return tests.union(*(reads(s) for block in _blocks(stmt) for s in block)) - _bound(stmt)
        if isinstance(stmt, ast.AugAssign):
            return _reads(stmt.value) | _bound(stmt)
        return _reads(getattr(stmt, "value", None))

    classes = [s for s in body if isinstance(s, ast.ClassDef)]
    writes = [s for s in classes if any(isinstance(f, ast.FunctionDef) and f.name in ("forward", "backward")
                                        for f in s.body)]
    roots: list[ast.stmt] = [s for s in classes if s.name == class_name] if class_name else [*(writes or classes)]
    if in_package:
        roots = [s for s in body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
    binders: dict[str, list[int]] = {}
    for i, s in enumerate(body):
        for name in _bound(s):
            binders.setdefault(name, []).append(i)
    kept = {i for i, s in enumerate(body) if isinstance(s, ast.ImportFrom) and s.module == "__future__"}
    kept |= {body.index(r) for r in roots}
    needed = set().union(*(reads(r) for r in roots))
    settled: set[str] = set()
    changed = True
    while changed:   # keep until nothing more is needed; assignments wait until what they read is kept
        changed = False
        if in_package:   # its constants too, where they can run
            for i, s in enumerate(body):
                if i not in kept and isinstance(s, (ast.Assign, ast.AnnAssign)) and _keepable(
                        s, reads(s), body, binders, kept):
                    kept.add(i)
                    needed |= reads(s)
                    changed = True
        for name in sorted(needed - settled):
            where_bound = binders.get(name, [])
            definers = [i for i in where_bound if _is_definition(body[i])]
            assigns = [i for i in where_bound if isinstance(body[i], (ast.Assign, ast.AnnAssign, ast.AugAssign))
                       and _keepable(body[i], reads(body[i]), body, binders, kept)]
            chosen = definers or assigns
            if chosen or (not where_bound and name in BUILTINS):
                settled.add(name)
                for i in chosen:
                    if i not in kept:
                        kept.add(i)
                        needed |= reads(body[i])
                changed = True
    missing = sorted((body[binders[n][0]].lineno, n) for n in needed - settled if binders.get(n))
    if missing:
        line, name = missing[0]
        raise CannotCheck(f"{learner.at(line)}: your class uses `{name}`, set at {learner.line(line)} by script "
                          f"code that check does not run: pass it to the constructor or make it a constant "
                          f"(--run-file runs the whole file)")
    if any(isinstance(s, ast.ImportFrom) and any(a.name == "*" for a in s.names) for s in body) and needed - settled:
        kept |= {i for i, s in enumerate(body) if isinstance(s, ast.ImportFrom) and any(a.name == "*" for a in s.names)}
    skipped = [s for i, s in enumerate(body) if i not in kept and not _is_docstring(s, i)
               and not isinstance(s, ast.Pass)]   # a notebook's magic lines are passes already: nothing to skip
    return Definitions(_blank(text, skipped), learner, skipped)


def _keepable(stmt: ast.stmt, reads: set[str], body: list[ast.stmt], binders: dict[str, list[int]],
              kept: set[int]) -> bool:
    """An assignment runs only when all it reads is a builtin, a function or class of the file, or kept."""
    for name in reads:
        where_bound = binders.get(name, [])
        if not where_bound:
            if name not in BUILTINS:
                return False
        elif not any(i in kept or isinstance(body[i], (ast.FunctionDef, ast.ClassDef)) for i in where_bound):
            return False
    return True


def _is_docstring(stmt: ast.stmt, index: int) -> bool:
    return index == 0 and isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)


def _blank(text: str, skipped: list[ast.stmt]) -> str:
    """``text`` with each skipped statement made empty lines (``pass`` where its lines hold other statements)."""
    lines = [line.encode("utf-8") for line in text.splitlines(keepends=True)]
    for stmt in reversed(skipped):   # later first: an earlier statement's columns stay valid
        start = min([stmt.lineno, *(d.lineno for d in getattr(stmt, "decorator_list", []))])
        end = stmt.end_lineno or stmt.lineno
        head = lines[start - 1][:stmt.col_offset] if start == stmt.lineno else b""
        tail = lines[end - 1][stmt.end_col_offset or 0:]
        if head.strip() or tail.strip():
            lines[start - 1] = head + b"pass" + tail
        else:
            lines[start - 1] = b"\n"
        for k in range(start, end):
            lines[k] = b"\n"
    out = b"".join(lines).decode("utf-8")
    ast.parse(out)   # blanking whole top-level statements keeps a module valid; a failure here is our bug
    return out
