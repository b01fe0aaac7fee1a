"""The class, not the script: from a learner's file, only the class and the definitions it uses are run.

A chapter's script downloads MNIST, plots and trains at import; the check needs none of that. From the
file's source (parsed, never run, here) this keeps the top-level statements the class needs, found by name:

- the class itself (the named one; else every class that writes ``forward`` or ``backward``, and the
  file's subclasses of those);
- each function, class and import that binds a name kept code reads, transitively (``symtable`` tells a
  method's globals from its locals, so a parameter ``y`` is never mistaken for a script's ``y``);
- a module-level assignment (``minibatch_size = 100``, ``DTYPE = np.float32``, ``LABELS = [str(i) for i
  in range(10)]``) when its right-hand side calls nothing but builtins and reads only names that can be
  kept: ``X, y = fetch_openml(...)``, ``y = np.load(...)`` and ``rng = np.random.default_rng(1)`` are
  script code;
- an assignment onto a kept class (``NeuralNetMLP.backward = my_backward``) of the same kind;
- a ``try``/``if`` made of such statements (``try: import cupy as np / except ImportError: import numpy as
  np``); ``from __future__`` imports always.

Everything else is blanked to empty lines (or ``pass`` where a line holds several statements), so every
line keeps its number and a traceback still points at the learner's line. A name the class reads that
only skipped code sets is a ``CannotCheck`` naming the name and its line, never a bare ``NameError``.
"""

from __future__ import annotations

import ast
import builtins
import symtable
from dataclasses import dataclass, field

from .source import CannotCheck, LearnerSource, compiling, lines_of, parse_text

MAX_SOURCE = 4 << 20   # characters of a learner's file: a textbook chapter is about 30,000
BUILTINS = frozenset(dir(builtins)) | {"__file__", "__name__", "__doc__", "__builtins__", "__spec__"}
FUNCS = (ast.FunctionDef, ast.AsyncFunctionDef)
ASSIGNS = (ast.Assign, ast.AnnAssign, ast.AugAssign)
COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)


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
        text = lines_of(self.learner.text)[telling.lineno - 1].strip()
        example = text if len(text) <= 60 else text[:57].rstrip() + "…"
        n, where = len(self.skipped), self.learner
        return (f"not run: {n} statement{'s' * (n != 1)} of script code, {where.span(first, last)} outside the "
                f"class, e.g. {where.line(telling.lineno)} `{example}` (--run-file runs it all)")


def _calls(node: ast.AST | None) -> bool:
    return node is not None and any(isinstance(n, ast.Call) for n in ast.walk(node))


def _runs_code(node: ast.AST | None) -> bool:
    """Whether evaluating ``node`` calls anything but a builtin by its own name (``range(10)``, ``str(i)``):
    ``np.load(...)``, ``fetch_openml(...)`` and ``model.fit()`` are script code, whatever they read."""
    if node is None or isinstance(node, ast.Lambda):   # a lambda's body runs when it is called, not here
        return False
    if isinstance(node, ast.Call) and not (isinstance(node.func, ast.Name) and node.func.id in BUILTINS):
        return True
    return any(_runs_code(child) for child in ast.iter_child_nodes(node))


def parse(learner: LearnerSource) -> tuple[ast.Module, symtable.SymbolTable]:
    """The file's AST and symbol table; a ``CannotCheck`` at the learner's line when it is not Python."""
    text, where = learner.text, learner.at
    if len(text) > MAX_SOURCE:
        raise CannotCheck(f"{where(1)}: the file holds {len(text):,} characters, over the {MAX_SOURCE:,} a class "
                          f"and its helpers need; check the file that holds only your class")
    try:   # symtable finds what the parser lets through: a global after its use, a repeated argument
        return parse_text(text), compiling(symtable.symtable, text, "<learner>", "exec")
    except SyntaxError as e:
        raise CannotCheck(f"{where(e.lineno or 1)}: {type(e).__name__}: {e.msg}; fix it, then check again") from None
    except (RecursionError, MemoryError, ValueError) as e:   # nesting past the parser's limits, a NUL byte
        raise CannotCheck(f"{where(1)}: the file cannot be parsed as Python ({type(e).__name__}); fix it, then "
                          f"check again") from None


def _stored(target: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(target) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}


def _bound(stmt: ast.stmt) -> set[str]:
    """The module-level names ``stmt`` binds (for a compound statement, anywhere in its blocks)."""
    if isinstance(stmt, (*FUNCS, ast.ClassDef)):
        return {stmt.name}
    if isinstance(stmt, ast.Import):
        return {(a.asname or a.name).split(".")[0] for a in stmt.names}
    if isinstance(stmt, ast.ImportFrom):
        return {a.asname or a.name for a in stmt.names if a.name != "*"}
    if isinstance(stmt, ast.Assign):
        return set().union(*map(_stored, stmt.targets))
    if isinstance(stmt, (ast.AnnAssign, ast.AugAssign)):   # an annotation alone binds nothing
        return _stored(stmt.target) if not isinstance(stmt, ast.AnnAssign) or stmt.value is not None else set()
    targets = [stmt.target] if isinstance(stmt, ast.For) else [
        i.optional_vars for i in stmt.items if i.optional_vars] if isinstance(stmt, ast.With) else []
    return set().union(*map(_stored, targets), *(_bound(s) for block in _blocks(stmt) for s in block))


def _blocks(stmt: ast.stmt) -> list[list[ast.stmt]]:
    if isinstance(stmt, ast.Try):
        return [stmt.body, *(h.body for h in stmt.handlers), stmt.orelse, stmt.finalbody]
    if isinstance(stmt, (ast.If, ast.For, ast.While)):
        return [stmt.body, stmt.orelse]
    if isinstance(stmt, ast.With):
        return [stmt.body]
    return []


def _is_definition(stmt: ast.stmt) -> bool:
    """A statement that runs nothing of the script: a def, a class, an import, or a try/if made only of them
    and of assignments that call nothing."""
    if isinstance(stmt, (*FUNCS, ast.ClassDef, ast.Import, ast.ImportFrom, ast.Pass)):
        return True
    if isinstance(stmt, (ast.Try, ast.If)):   # never a loop or a with
        tests = [stmt.test] if isinstance(stmt, ast.If) else [h.type for h in stmt.handlers if h.type]
        return not any(map(_calls, tests)) and all(
            _is_definition(s) or isinstance(s, ASSIGNS) and not _runs_code(s.value) for b in _blocks(stmt) for s in b)
    return False


def _reads(node: ast.AST | None, bound: frozenset[str] = frozenset()) -> set[str]:
    """The names an expression reads from outside it: a lambda's parameters and a comprehension's targets
    are its own."""
    if node is None:
        return set()
    if isinstance(node, ast.Name):
        return {node.id} - bound if isinstance(node.ctx, ast.Load) else set()
    if isinstance(node, ast.Lambda):
        a = node.args
        own = {x.arg for x in [*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg] if x}
        return set().union(*(_reads(d, bound) for d in [*a.defaults, *a.kw_defaults] if d),
                           _reads(node.body, bound | own))
    if isinstance(node, COMPREHENSIONS):
        inner = bound | set().union(*(_stored(g.target) for g in node.generators))
        first = _reads(node.generators[0].iter, bound)   # evaluated outside the comprehension
        rest = [g.iter for g in node.generators[1:]] + [c for g in node.generators for c in g.ifs]
        parts = [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]
        return first.union(*(_reads(p, inner) for p in rest + parts))
    return set().union(*(_reads(child, bound) for child in ast.iter_child_nodes(node)))


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
    elif isinstance(stmt, FUNCS):
        a = stmt.args
        parts = [*stmt.decorator_list, *a.defaults, *(d for d in a.kw_defaults if d is not None), stmt.returns,
                 *(x.annotation for x in [*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg] if x)]
    else:
        return set()
    return set().union(*(_reads(p) for p in parts if p is not None))


def _root_name(target: ast.AST) -> str | None:
    while isinstance(target, (ast.Attribute, ast.Subscript)):
        target = target.value
    return target.id if isinstance(target, ast.Name) else None


def definitions(learner: LearnerSource, class_name: str | None, in_package: bool = False) -> Definitions:
    """The learner's text with only ``class_name`` (or the classes writing ``forward``/``backward``) and what
    it needs left to run. ``in_package``: the file is a module of their package, whose other modules may
    import any of its functions, classes and constants: those are kept (constants that call nothing), only
    script code is not."""
    tree, table = parse(learner)
    body = tree.body
    tables = {(t.get_name(), t.get_lineno()): t for t in table.get_children()}
    postponed = any(isinstance(s, ast.ImportFrom) and s.module == "__future__" and
                    any(a.name == "annotations" for a in s.names) for s in body)

    def reads(stmt: ast.stmt) -> set[str]:
        if isinstance(stmt, (*FUNCS, ast.ClassDef)):
            scope = tables.get((stmt.name, stmt.lineno))
            return _outer_reads(stmt) | (_globals_of(scope) if scope is not None else set())
        if isinstance(stmt, (ast.Try, ast.If)):
            tests = _reads(stmt.test) if isinstance(stmt, ast.If) else set()
            return tests.union(*(reads(s) for block in _blocks(stmt) for s in block)) - _bound(stmt)
        extra = _stored(stmt.target) if isinstance(stmt, ast.AugAssign) else \
            _reads(stmt.annotation) if isinstance(stmt, ast.AnnAssign) and not postponed else set()
        return _reads(getattr(stmt, "value", None)) | extra

    binders: dict[str, list[int]] = {}
    for i, s in enumerate(body):
        for name in _bound(s):
            binders.setdefault(name, []).append(i)
    kept = {i for i, s in enumerate(body) if isinstance(s, ast.ImportFrom) and s.module == "__future__"}

    def available(name: str, seen: frozenset[int]) -> bool:
        """Whether ``name`` can be read once kept statements run: a builtin, a kept binding, a definition,
        or an assignment that can itself be kept."""
        where = binders.get(name, [])
        if not where:
            return name in BUILTINS
        return any(i in kept or _is_definition(body[i]) or
                   i not in seen and isinstance(body[i], ASSIGNS) and keepable(i, seen | {i}) for i in where)

    def keepable(i: int, seen: frozenset[int] = frozenset()) -> bool:
        """An assignment that runs no code of the script and reads only what can be kept."""
        stmt = body[i]
        value = getattr(stmt, "value", None)
        return value is not None and not _runs_code(value) and all(available(n, seen) for n in reads(stmt))

    classes = [s for s in body if isinstance(s, ast.ClassDef)]
    roots: list[ast.stmt]
    if class_name:
        roots = [s for s in classes if s.name == class_name]
    else:
        roots = [s for s in classes if any(isinstance(f, FUNCS) and f.name in ("forward", "backward") for f in s.body)]
        for s in classes:   # their subclasses in the file, which may add only __init__
            if s not in roots and _outer_reads(s) & {r.name for r in roots if isinstance(r, ast.ClassDef)}:
                roots.append(s)
        roots = roots or list(classes)
    if in_package:
        roots = [s for s in body if isinstance(s, (*FUNCS, ast.ClassDef))]
    kept |= {body.index(r) for r in roots}
    needed = set().union(*(reads(r) for r in roots))
    changed = True
    while changed:   # keep until nothing more is needed; an assignment waits until what it reads can be kept
        changed = False
        for i, s in enumerate(body):
            if i in kept:
                continue
            binds_needed = bool(_bound(s) & needed)
            patch = isinstance(s, ast.Assign) and not _bound(s) and not _runs_code(s.value) and all(
                any(j in kept and isinstance(body[j], ast.ClassDef) for j in binders.get(_root_name(t) or "", []))
                for t in s.targets)   # NeuralNetMLP.backward = my_backward
            constant = in_package and isinstance(s, (ast.Assign, ast.AnnAssign)) and not _runs_code(s.value)
            if patch or (binds_needed or constant) and (_is_definition(s) or isinstance(s, ASSIGNS) and keepable(i)):
                kept.add(i)
                needed |= reads(s)
                changed = True
    missing = sorted((body[binders[n][0]].lineno, n) for n in needed
                     if binders.get(n) and not any(i in kept for i in binders[n]))
    if missing:
        line, name = missing[0]
        raise CannotCheck(f"{learner.at(line)}: your class uses `{name}`, set at {learner.line(line)} by script "
                          f"code that check does not run: pass it to the constructor or make it a constant "
                          f"(--run-file runs the whole file)")
    unbound = {n for n in needed if n not in binders and n not in BUILTINS}
    if unbound:   # what a star import may bring
        kept |= {i for i, s in enumerate(body) if isinstance(s, ast.ImportFrom) and any(a.name == "*" for a in s.names)}
    skipped = [s for i, s in enumerate(body) if i not in kept and not _is_docstring(s, i)
               and not isinstance(s, ast.Pass)]   # a notebook's magic lines are passes already: nothing to skip
    return Definitions(_blank(learner.text, skipped), learner, skipped)


def _is_docstring(stmt: ast.stmt, index: int) -> bool:
    return index == 0 and isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)


def _blank(text: str, skipped: list[ast.stmt]) -> str:
    """``text`` with each skipped statement made empty lines (``pass`` where its lines hold other statements)."""
    lines = [line.encode("utf-8") for line in lines_of(text)]
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
    try:
        parse_text(out)
    except SyntaxError as e:   # blanking whole top-level statements keeps a module valid: this is our bug
        raise RuntimeError(f"blanking script code left invalid Python at line {e.lineno}") from None
    return out
