"""The command line shortens both libraries' idle-thread spins before either library loads."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPIN_VARS = ("OPENBLAS_THREAD_TIMEOUT", "GOMP_SPINCOUNT")


def child_settings(code: str, **env: str) -> dict:
    """``spin_settings()`` as a fresh interpreter sees it after running ``code``; the spin variables
    are removed from its environment unless given in ``env``."""
    base = {k: v for k, v in os.environ.items() if k not in SPIN_VARS}
    script = f"{code}\nimport json\nfrom compare.thread_pools import spin_settings\nprint(json.dumps(spin_settings()))"
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env={**base, **env},
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def test_the_command_line_sets_both_before_numpy_and_torch_load():
    settings = child_settings("import compare.cli\nimport numpy, torch")
    assert settings == {"OPENBLAS_THREAD_TIMEOUT": "20", "GOMP_SPINCOUNT": "10000",
                        "in_effect": {"numpy": True, "torch": True}}


def test_a_value_the_user_set_is_kept():
    settings = child_settings("import compare.cli", OPENBLAS_THREAD_TIMEOUT="28")
    assert settings["OPENBLAS_THREAD_TIMEOUT"] == "28" and settings["GOMP_SPINCOUNT"] == "10000"
    assert settings["in_effect"] == {"numpy": True, "torch": True}


def test_too_late_for_a_library_that_already_loaded_is_said():
    settings = child_settings("import numpy\nimport compare.cli")
    assert settings["OPENBLAS_THREAD_TIMEOUT"] == "20" and settings["in_effect"] == {"numpy": False, "torch": True}


def test_unknown_when_nothing_set_them():
    assert child_settings("import numpy")["in_effect"] == {"numpy": None, "torch": None}
