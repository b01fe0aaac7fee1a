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
    files = sorted((ROOT / package).glob("*.py"))
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


def test_twin_file_names_are_symmetric():
    assert (ROOT / "scratch" / "mlp.py").is_file() and (ROOT / "torch_impl" / "model.py").is_file()
    assert (ROOT / "scratch" / "train.py").is_file() and (ROOT / "torch_impl" / "train.py").is_file()
