"""A learner's code that calls sys.exit(): it is their code ending, never the check's verdict."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LEARNERS = Path(__file__).resolve().parent / "learners"


def test_sys_exit_0_on_import_is_a_file_that_cannot_be_checked_not_a_pass():
    r = subprocess.run([sys.executable, "-m", "compare", "check", str(LEARNERS / "exits_on_import.py"), "--run-file"],
                       cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.strip().endswith("running it raised: SystemExit: 0")
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    # Without --run-file its script code is not run: what is left holds no class to check.
    r = subprocess.run([sys.executable, "-m", "compare", "check", str(LEARNERS / "exits_on_import.py")], cwd=ROOT,
                       capture_output=True, text=True)
    assert r.returncode == 2 and r.stdout == "" and "no class with both forward and backward methods" in r.stderr


def test_sys_exit_in_backward_is_their_code_raising(tmp_path):
    r = subprocess.run([sys.executable, "-m", "compare", "check", str(LEARNERS / "exits_in_backward.py"), "--epochs",
                        "0", "--out", str(tmp_path / "o")], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 1, r.stderr
    assert "verdict: DISAGREES with PyTorch: your backward raised SystemExit: 3 (" in r.stdout
    assert "exits_in_backward.py:" in r.stdout and "Traceback" not in r.stdout + r.stderr
