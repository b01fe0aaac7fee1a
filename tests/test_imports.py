"""The import graph, read from the source: no cycles, and no room imports a room above it.

Every ``import`` and ``from ... import`` anywhere in a module counts, inside functions too: a lazy
import is still a dependency, it only moves the cost. The layering (``RANK``) is the one the README's
"Layout" section draws: a module may import its own room or a lower one, never a higher one.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("scratch", "torch_impl", "compare")
THIRD_PARTY = {"scratch": {"numpy"}, "torch_impl": {"torch", "torchvision", "numpy"}}
# compare's rooms, lowest first; a room may import rooms of equal or lower rank (without a cycle).
# config is a frozen dataclass of settings (it reads data's dataset names and twins' thread helper):
# it sits with the twins, so the rerun in the other dtype (twins.rerun) can take a whole RunConfig.
RANK = {"compare.files": 0, "compare.errors": 0, "compare.thread_pools": 0, "compare.data": 1, "compare.agreement": 1, "compare.worker": 1, "compare.twins": 2, "compare.config": 2,
        "compare.gradcheck": 2, "compare.learner": 3, "compare.report": 4, "compare.lesson": 4, "compare.bench": 4, "compare.grading": 5,
        "compare.run": 5, "compare": 5, "compare.cli": 6, "compare.__main__": 6}
STDLIB = set(sys.stdlib_module_names)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def resolve(node: ast.ImportFrom, importer: str, is_package: bool) -> str:
    if node.level == 0:
        return node.module or ""
    base = importer.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports_of(path: Path) -> set[str]:
    """Every module ``path`` imports, as full dotted names (``from pkg import mod`` counts as pkg.mod when
    pkg.mod is a module of ours)."""
    importer, is_package = module_name(path), path.name == "__init__.py"
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            target = resolve(node, importer, is_package)
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                found.add(sub if sub in MODULES else target)
    return found


def source_files() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))


MODULES = {module_name(p) for p in source_files()}


def graph() -> dict[str, set[str]]:
    ours = lambda name: name.split(".")[0] in PACKAGES  # noqa: E731
    return {module_name(p): {m for m in imports_of(p) if ours(m) and m in MODULES or m in PACKAGES}
            for p in source_files()}


def room(name: str) -> str:
    """The room a compare module lives in: its subpackage, or itself at the top level."""
    parts = name.split(".")
    return ".".join(parts[:2])


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def layering_breaks(edges: dict[str, set[str]]) -> list[str]:
    breaks = []
    for importer, targets in edges.items():
        for target in targets:
            top, top_target = importer.split(".")[0], target.split(".")[0]
            if top != "compare" and top_target != top:
                breaks.append(f"{importer} imports {target}: {top}/ must not know {top_target}/")
            elif top == "compare" and top_target == "compare" and target != "compare":
                if RANK[room(target)] > RANK[room(importer)]:
                    breaks.append(f"{importer} (rank {RANK[room(importer)]}) imports {target} "
                                  f"(rank {RANK[room(target)]}): a lower room imports a higher one")
    return breaks


def test_every_compare_module_has_a_room():
    missing = {room(m) for m in MODULES if m.startswith("compare")} - set(RANK)
    assert not missing, f"modules outside the layering: {sorted(missing)}; add their room to RANK"


def test_no_import_cycle():
    assert find_cycle(graph()) is None, f"import cycle: {' -> '.join(find_cycle(graph()) or [])}"


def room_graph(edges: dict[str, set[str]]) -> dict[str, set[str]]:
    """Which rooms of compare/ import which other rooms (a room importing itself is not an edge)."""
    rooms: dict[str, set[str]] = {}
    for importer, targets in edges.items():
        if importer.startswith("compare"):
            rooms.setdefault(room(importer), set()).update(
                room(t) for t in targets if t.startswith("compare") and room(t) != room(importer))
    return rooms


def test_no_two_rooms_import_each_other_even_through_others():
    cycle = find_cycle(room_graph(graph()))
    assert cycle is None, f"rooms import each other in a circle: {' -> '.join(cycle or [])}"


def test_no_room_imports_a_higher_one():
    assert layering_breaks(graph()) == []


@pytest.mark.parametrize("package", sorted(THIRD_PARTY))
def test_twins_import_only_their_own_library(package):
    for path in (ROOT / package).rglob("*.py"):
        outside = {m.split(".")[0] for m in imports_of(path)} - STDLIB - {package} - THIRD_PARTY[package]
        assert not outside, f"{path.relative_to(ROOT)} imports {sorted(outside)}"


def test_the_checker_sees_a_planted_cycle_and_a_layering_break():
    edges = graph()
    edges["compare.data.load"] = edges.get("compare.data.load", set()) | {"compare.run"}
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert any("compare.data.load" in b for b in layering_breaks(edges))


def test_import_compare_loads_neither_torch_nor_matplotlib():
    code = "import sys, compare; print(sorted(m for m in ('torch', 'matplotlib') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
