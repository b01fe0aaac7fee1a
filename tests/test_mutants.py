"""Every mutant in the gallery is caught, with the diagnosis that names its mistake."""

import subprocess
import sys
from pathlib import Path

import json

import pytest

from compare.data import gradient_check_batch
from compare.gradcheck import check_gradients
from compare.mutants import MUTANTS, TeachingMLP, build

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def gallery_batch(mnist5k):
    batch = gradient_check_batch(mnist5k.y_train, 16, seed=123, num_classes=10)  # every class present
    return mnist5k.X_train[batch], mnist5k.y_train[batch]


def test_gallery_has_at_least_ten_documented_mutants():
    assert len(MUTANTS) >= 10 and len(set(MUTANTS)) == len(MUTANTS)
    for m in MUTANTS:
        assert m.__doc__ and m.expected


def test_the_unmutated_teaching_network_passes(gallery_batch):
    assert check_gradients(build(TeachingMLP), *gallery_batch).passed


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.__name__)
def test_mutant_is_caught_with_its_diagnosis(mutant, gallery_batch):
    report = check_gradients(build(mutant), *gallery_batch)
    assert not report.passed, f"{mutant.__name__} slipped through"
    kinds = [f.kind for f in report.diagnosis]
    assert mutant.expected in kinds, f"{mutant.__name__}: expected {mutant.expected}, got {kinds}"
    assert kinds[0] == mutant.expected, f"{mutant.__name__}: the most specific finding comes first: {kinds}"


def test_cli_mutants_prints_caught_n_of_n(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "compare", "gradcheck", "--mutants", "--batch-size", "16",
                           "--json", str(tmp_path / "m.json")], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == f"caught {len(MUTANTS)}/{len(MUTANTS)}"
    data = json.loads((tmp_path / "m.json").read_text())
    assert data["caught"] == data["total"] == len(MUTANTS)


@pytest.mark.parametrize("args, code, needle", [
    ([], 0, "gradient check: passed"),
    (["--torch-loss", "mse-mean"], 1, "factor 10.0 = num_classes"),
    (["--hidden", "8,6", "--activation", "tanh", "--loss", "cross_entropy", "--dtype", "float32", "--batch-size", "1"],
     0, "gradient check: passed"),
    (["--torch-loss", "mse-mean", "--loss", "cross_entropy"], 2, "use it with --loss mse"),
    (["--batch-size", "9999"], 2, "batch size must be at most 3500"),
])
def test_cli_gradcheck_exit_codes(args, code, needle):
    proc = subprocess.run([sys.executable, "-m", "compare", "gradcheck", *args], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == code, proc.stdout + proc.stderr
    assert needle in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
