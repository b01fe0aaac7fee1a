"""The twins never see each other: scratch is NumPy only, torch_impl knows neither scratch nor compare."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {"scratch": {"torch", "torchvision", "compare", "torch_impl"},
             "torch_impl": {"scratch", "compare"}}


def imported_top_level_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_source_never_imports_the_other_side(package):
    files = sorted((ROOT / package).rglob("*.py"))  # subpackages too
    assert files, f"no sources found in {package}/"
    for path in files:
        bad = imported_top_level_modules(path) & FORBIDDEN[package]
        assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_importing_a_twin_loads_nothing_forbidden(package):
    code = (f"import sys, {package}; "
            f"print(sorted(m for m in sys.modules if m.split('.')[0] in {sorted(FORBIDDEN[package])!r}))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", f"importing {package} loaded {out.stdout.strip()}"


def defined_names(path: Path) -> set[str]:
    return {node.name for node in ast.parse(path.read_text()).body
            if isinstance(node, (ast.FunctionDef, ast.ClassDef))}


# Each scratch file and its twin's file: what a reader puts side by side (lockstep pairs these names).
TWIN_FILES = [("scratch/mlp.py", {"MLP"}, "torch_impl/model.py", {"build_model", "loss_function"}),
              ("scratch/train.py", {"train_epoch", "evaluate", "history_row"},
               "torch_impl/train.py", {"train_epoch", "evaluate", "history_row"})]


@pytest.mark.parametrize("ours, our_names, theirs, their_names", TWIN_FILES, ids=[t[0] for t in TWIN_FILES])
def test_twin_files_are_symmetric_and_hold_their_counterparts(ours, our_names, theirs, their_names):
    assert our_names <= defined_names(ROOT / ours), f"{ours} lost {sorted(our_names - defined_names(ROOT / ours))}"
    assert their_names <= defined_names(ROOT / theirs), \
        f"{theirs} lost {sorted(their_names - defined_names(ROOT / theirs))}"


def test_an_install_carries_every_package():
    """A wheel holds what setuptools finds with pyproject's patterns: every package on disk must be among them
    (listing only the top-level packages once shipped compare/ without its rooms)."""
    tomllib = pytest.importorskip("tomllib")
    setuptools = pytest.importorskip("setuptools")
    find = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]
    found = set(setuptools.find_packages(str(ROOT), include=find["include"]))
    on_disk = {".".join(p.parent.relative_to(ROOT).parts) for pkg in ("scratch", "torch_impl", "compare")
               for p in (ROOT / pkg).rglob("__init__.py")}
    assert on_disk - found == set()
