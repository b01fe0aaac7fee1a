"""The ``mlp-compare`` process tunes Python's garbage collector; ``main``, which tests call in-process, does not.

Each test runs a fresh interpreter: the settings last as long as the process.
"""

import gc
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


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


def full_collections(entry: str, then: str) -> int:
    """How many full collections a fresh process runs during the code ``then``, after calling ``entry`` of
    ``compare.cli`` on ``--help`` (which loads neither torch nor matplotlib, and exits through SystemExit
    before ``console_main`` freezes anything)."""
    code = (f"import gc, sys\nfrom compare.cli import {entry}\nsys.argv = ['mlp-compare', '--help']\ntry:\n"
            f"    {entry}({'sys.argv[1:]' if entry == 'main' else ''})\nexcept SystemExit:\n    pass\n"
            f"before = gc.get_stats()[2]['collections']\n{then}\nprint(gc.get_stats()[2]['collections'] - before)")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return int(done.stdout.split()[-1])


LOAD_LIBRARIES = "import torch, matplotlib.figure"
# Cycles that live long enough to reach the oldest generation and die there, 3 million of them.
LONG_LOOP = "from collections import deque\nlive = deque(maxlen=20_000)\nfor _ in range(3_000_000):\n    a = []\n" \
            "    a.append(a)\n    live.append(a)"


def _full_collections_have_a_threshold() -> bool:
    """False on an incremental collector (Python 3.14), which ignores the third threshold and reads it back as 0."""
    old = gc.get_threshold()
    gc.set_threshold(old[0], old[1], 100)
    kept = gc.get_threshold()[2] == 100
    gc.set_threshold(*old)
    return kept


WITH_A_FULL_COLLECTION_THRESHOLD = pytest.mark.skipif(not _full_collections_have_a_threshold(),
                                 reason="this Python's incremental collector ignores the full-collection threshold")


@WITH_A_FULL_COLLECTION_THRESHOLD
def test_the_console_entry_runs_no_full_collection_while_libraries_load_but_main_does():
    """Each full collection walks every object torch and matplotlib created; the command-line process skips
    them, tests calling ``main`` in-process keep Python's default."""
    assert full_collections("main", LOAD_LIBRARIES) > 0
    assert full_collections("console_main", LOAD_LIBRARIES) == 0


@WITH_A_FULL_COLLECTION_THRESHOLD
def test_a_long_process_still_collects_in_full():
    """Fewer full collections, not none: cycles that die old are still freed in a long command."""
    assert full_collections("console_main", LONG_LOOP) > 0
