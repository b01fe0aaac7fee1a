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


def test_the_console_entry_skips_the_final_garbage_collection_but_main_does_not():
    """``console_main`` freezes what the process allocated (its teardown then skips collecting it);
    ``main``, which tests call in-process, must not."""
    code = ("import gc, sys\nsys.argv = ['mlp-compare', 'run', '--out', sys.executable]\nfrom compare.cli import main, "
            "console_main\nmain(sys.argv[1:])\nafter_main = gc.get_freeze_count()\nconsole_main()\n"
            "print(after_main, gc.get_freeze_count())")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    after_main, after_console = map(int, done.stdout.split())
    assert after_main == 0 and after_console > 0
    assert "exists and is not a folder" in done.stderr  # the command itself ran and answered as usual


def full_collections_while_torch_loads(entry: str) -> int:
    """How many full collections a fresh process runs while it imports torch and matplotlib after calling
    ``entry`` of ``compare.cli`` on ``--help``, which loads neither."""
    code = (f"import gc, sys\nfrom compare.cli import {entry}\nsys.argv = ['mlp-compare', '--help']\ntry:\n"
            f"    {entry}({'sys.argv[1:]' if entry == 'main' else ''})\nexcept SystemExit:\n    pass\n"
            "before = gc.get_stats()[2]['collections']\nimport torch, matplotlib.figure\n"
            "print(gc.get_stats()[2]['collections'] - before)")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return int(done.stdout.split()[-1])


def test_the_console_entry_runs_no_full_collection_while_libraries_load_but_main_does():
    """Each full collection walks every object torch and matplotlib created; the command-line process skips
    them, tests calling ``main`` in-process keep Python's default."""
    assert full_collections_while_torch_loads("main") > 0
    assert full_collections_while_torch_loads("console_main") == 0
