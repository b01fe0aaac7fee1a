"""Is the backward under test the learner's own? Read from their source, never from what their code says.

A ``backward`` that is inherited from, or calls into, this project's reference answer (``scratch``,
``torch_impl``, ``compare``) or an autograd library (``torch``, ``jax``, ``tensorflow``) would pass every
check without being a NumPy backward at all; a ``forward`` that calls an autograd library is no NumPy
forward either. The file's AST says which modules each local name comes from, what the class inherits,
and which names its methods (and the module's functions they call) use. Subclassing ``scratch.NeuralNetMLP``
for its ``forward``, as the exercise notebook does, is fine while ``backward`` is the learner's own.
``allow`` names modules a teacher permits (``--allow-import torch``).

Lesson: the exercise is to write ``backward`` by hand.
"""

from __future__ import annotations

import ast
from pathlib import Path

from ..gradcheck.diagnosis import Finding
from .source import CannotCheck, parse_text, read_source

AUTOGRAD = {"torch": "autograd", "jax": "autograd", "tensorflow": "autograd"}
DYNAMIC = {"__import__", "importlib", "exec", "eval", "compile", "__builtins__"}
REFERENCE = {"scratch": "this project's scratch package, the reference answer",
             "torch_impl": "this project's torch_impl package, the twin",
             "compare": "this project's compare package, the checker"}


def _origins(tree: ast.Module) -> dict[str, str]:
    """``{local name: dotted module it comes from}`` for every import in the file."""
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                names[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module:
            for a in node.names:   # a relative import keeps its dots: "." + module, a file of the submission
                names[a.asname or a.name] = f"{'.' * node.level}{node.module}.{a.name}"
    return names


def _used(fn: ast.AST, functions: dict[str, ast.AST], seen: set[str]) -> set[str]:
    """Names ``fn`` uses, with those of the module's functions and the class's methods (``self.name``) it
    calls, each followed once; ``functions`` holds both, methods under ``"self.<name>"``."""
    used = {n.id for n in ast.walk(fn) if isinstance(n, ast.Name)}
    used |= {f"self.{n.attr}" for n in ast.walk(fn) if isinstance(n, ast.Attribute)
             and isinstance(n.value, ast.Name) and n.value.id == "self"}
    for n in ast.walk(fn):   # an import inside the method counts as a use of what it imports
        if isinstance(n, ast.Import):
            used |= {a.asname or a.name.split(".")[0] for a in n.names}
        elif isinstance(n, ast.ImportFrom) and n.module:
            used.add(f"@{n.module}")
    for name in sorted(used & set(functions) - seen):
        seen.add(name)
        used |= _used(functions[name], functions, seen)
    return used


def _spelled(fn: ast.AST, functions: dict[str, ast.AST], name: str, origins: dict[str, str]) -> str:
    """How the code spells its use of ``name``: the longest attribute chain on it (``torch.autograd.grad``),
    with the module it was imported from when that differs."""
    if name.startswith("@"):
        return name.lstrip("@")
    chains = [ast.unparse(n) for f in (fn, *functions.values()) for n in ast.walk(f)
              if isinstance(n, ast.Attribute) and ast.unparse(n).split(".")[0] == name]
    dotted = [c for c in chains if c.replace(".", "").replace("_", "").isalnum()]   # no calls, no indexing
    # the autograd call, where there is one, says most; otherwise the longest name
    spelled = max(dotted, key=lambda c: ("grad" in c, len(c)), default=name)
    origin = origins.get(name, name)
    return spelled if origin == name else f"{spelled} ({origin})"


def _root(module: str) -> str:
    return module.lstrip("@").lstrip(".").split(".")[0]


def _helper_hit(folder: Path | None, origin: str, forbidden: dict[str, str],
                depth: int = 0) -> tuple[str, str] | None:
    """What a function imported from a file beside the learner's (``helper.grads``) uses of ``forbidden``:
    ``(the spelled use, its module's root)``, or None. Followed through helpers of helpers, a few deep."""
    module, _, name = origin.lstrip(".").rpartition(".")
    path = folder / (module.replace(".", "/") + ".py") if folder is not None and module else None
    if path is None or depth > 3 or not path.is_file():
        return None
    try:
        tree = parse_text(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return None
    origins = _origins(tree)
    functions: dict[str, ast.AST] = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    if name not in functions:
        return None
    for used in sorted(_used(functions[name], functions, {name})):
        origin_of = origins.get(used, used)
        if _root(origin_of) in forbidden and (used in origins or used.startswith("@")):
            return f"{_spelled(functions[name], functions, used, origins)}, in {path.name}", _root(origin_of)
        if used in origins and (hit := _helper_hit(folder, origin_of, forbidden, depth + 1)):
            return hit
    return None


def borrowed(source: str, class_name: str, allow: tuple[str, ...] = (), folder: Path | None = None) -> list[Finding]:
    """Findings for ``class_name``'s ``backward`` and ``forward`` in ``source`` that are not NumPy code of the
    learner's own; empty when the source cannot be parsed. ``folder``: where the file lies, so functions
    it imports from files beside it (a submission of several files) are read too."""
    try:
        tree = parse_text(source)
    except SyntaxError:
        return []
    cls = next((n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == class_name), None)
    if cls is None:
        return [Finding("borrowed", f"class {class_name} is not defined at the top level of your file, where the "
                        f"check reads its backward from: define it there (not inside an if, a function or exec)", [])]
    origins = _origins(tree)
    for node in tree.body:   # Base = scratch.NeuralNetMLP: an alias is what it names
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            root = ast.unparse(node.value).split(".")[0].split("(")[0]
            if root in origins:
                origins[node.targets[0].id] = origins[root] + ast.unparse(node.value)[len(root):]
    functions: dict[str, ast.AST] = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    functions.update({n.targets[0].id: n.value for n in tree.body if isinstance(n, ast.Assign)   # g = lambda ...
                      and len(n.targets) == 1 and isinstance(n.targets[0], ast.Name) and isinstance(n.value, ast.Lambda)})
    methods = {n.name: n for n in cls.body if isinstance(n, ast.FunctionDef)}
    findings = []
    bound = {t.id for n in cls.body if isinstance(n, (ast.Assign, ast.AnnAssign))
             for t in (n.targets if isinstance(n, ast.Assign) else [n.target]) if isinstance(t, ast.Name)}
    for method in sorted(bound & {"forward", "backward"} - set(methods)):
        findings.append(Finding("borrowed", f"your {method} is assigned in the class body, not written as a method: "
                                f"the check is for a {method} you wrote (def {method}(self, ...))", []))
    for method, forbidden in (("backward", {**AUTOGRAD, **REFERENCE}), ("forward", AUTOGRAD)):
        forbidden = {k: v for k, v in forbidden.items() if k not in allow}
        if method not in methods:
            bases = [ast.unparse(b) for b in cls.bases]
            base = next((b for b in bases if _root(origins.get(b.split(".")[0], b)) in forbidden), None)
            if base is not None:
                root = _root(origins.get(base.split(".")[0], base))
                findings.append(Finding("borrowed", f"your {method} is inherited from {base} ({forbidden[root]}): the "
                                        f"check is for a {method} you wrote in NumPy; write {method} in {class_name} "
                                        f"(--allow-import {root} permits it)", []))
            continue
        reachable = {**functions, **{f"self.{name}": m for name, m in methods.items()}}
        used = _used(methods[method], reachable, {f"self.{method}"})
        dynamic = sorted(used & DYNAMIC)
        if dynamic:
            findings.append(Finding("borrowed", f"your {method} uses {dynamic[0]}, which imports or runs code by name: "
                                    f"the check cannot tell whose code that is; write {method} with plain imports",
                                    []))
            continue
        hits = sorted({(_root(origins.get(u, u)), u) for u in used
                       if _root(origins.get(u, u)) in forbidden and (u in origins or u.startswith("@"))})
        if not hits:   # through a function from a file beside theirs: helper.py's grads calling torch
            helper = next((h for u in sorted(used) if u in origins
                           and (h := _helper_hit(folder, origins[u], forbidden))), None)
            if helper is not None:
                findings.append(Finding("borrowed", f"your {method} calls {helper[0]}: the check is for a NumPy "
                                        f"{method} computed by your own code (--allow-import {helper[1]} permits it)",
                                        []))
        if hits:
            root, name = hits[0]
            what = _spelled(methods[method], reachable, name, origins)
            doer = "autograd" if root in AUTOGRAD else forbidden[root]
            findings.append(Finding("borrowed", f"your {method} calls {what}: the check is for a NumPy {method} "
                                    f"computed by your own code, not by {doer} (--allow-import {root} permits it)", []))
    return findings


def defined_elsewhere(description: dict, allow: tuple[str, ...] = ()) -> list[Finding]:
    """The worker's word on where ``backward`` was defined, as a cross-check of the source (the worker is
    the learner's process and may lie, so this can only add a finding, never clear one)."""
    own, where = str(description.get("module", "")), str(description.get("defined_in", {}).get("backward", ""))
    root = where.split(".")[0]
    if not own or not where or where == own or root in allow:
        return []
    return [Finding("borrowed", f"your backward is defined in {where}, not in your file: the check is for a "
                    f"backward you wrote (--allow-import {root} permits it)", [])]


def fail_borrowed(report, file: str | None, allow: tuple[str, ...] = (), description: dict | None = None) -> None:
    """Add the ``borrowed`` findings for ``report``'s class in ``file`` (and, from a worker, its
    ``description``) and fail the check each belongs to (a backward's: gradients; a forward's: forward).
    Without a file (a class at a prompt) there is no source to read."""
    if file is None:
        return
    try:
        source = read_source(file).text
    except CannotCheck:
        return
    found = borrowed(source, report.class_name, tuple(allow), Path(file).parent)
    if not found and description is not None:
        found = defined_elsewhere(description, tuple(allow))
    for finding in found:
        report.findings.append(finding)
        stage_name = "gradients" if finding.message.startswith("your backward") else "forward"
        for stage in report.stages:
            if stage.name == stage_name:
                stage.status, stage.summary = "FAIL", finding.message
