"""What one more learner's file costs ``mlp-compare check DIR``, as a share of checking it alone.

A class folder of ``files`` copies of the exercise's answer (``compare.lesson.exercise_notebook.answer_script``:
correct, so every check runs to its end and every report is written) is checked with ``check DIR``, and
the same file with ``check FILE``, both at ``--epochs`` in fresh processes as a teacher starts them. The
folder pays torch's import and the data once, each file a worker of its own (NumPy only) and its report's
figures, drawn beside the next check. The single check is timed before and after the folder: this
machine's speed drifts from minute to minute, and the ratio is taken against their median.

Lesson: the chapter's exercise, a learner's own ``backward``, checked for a whole class.
"""

from __future__ import annotations

import statistics
import tempfile
from pathlib import Path
from typing import Any

from .run_cost import timed_child


def folder_cost(files: int, epochs: int, singles: int) -> dict[str, Any]:
    """Wall seconds of ``check DIR`` over ``files`` correct files and of ``check FILE`` on one of them
    (``singles`` times, at least one before the folder and one after); ``per_file_over_single`` is the
    folder's seconds per file over the single check's median.

    Raises ``run_cost.ChildFailed`` when a check does not exit 0 (every file is correct: anything else is a bug).
    """
    from ..lesson.exercise_notebook import answer_script

    before = max(1, singles // 2)
    after = max(1, singles - before)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "class"
        folder.mkdir()
        for k in range(files):
            (folder / f"learner_{k + 1:02d}.py").write_text(answer_script())
        one = folder / "learner_01.py"
        check = ["-m", "compare", "check", "--epochs", str(epochs), "--overwrite", "--out"]
        single_s = [timed_child([*check, str(Path(tmp) / "single"), str(one)]) for _ in range(before)]
        folder_s = timed_child([*check, str(Path(tmp) / "folder"), str(folder)])
        single_s += [timed_child([*check, str(Path(tmp) / "single"), str(one)]) for _ in range(after)]
    single = statistics.median(single_s)
    return {"files": files, "epochs": epochs, "single_s": single_s, "folder_s": folder_s,
            "per_file_s": folder_s / files, "per_file_over_single": folder_s / files / single}
