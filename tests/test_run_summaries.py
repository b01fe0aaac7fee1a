"""The numbers a run reports about the two twins, computed on twins that differ by known amounts.

Every end-to-end run has twins that agree, so a difference computed against itself would read 0 there
and pass; these hand-made inputs are where a mixed-up twin shows.
"""

import numpy as np
import pytest

from compare.run import step_loss_summary
from compare.twins.lockstep import LockstepResult
from compare.twins.rerun import dtype_row, history_max_diff


def _history(scratch_loss: float, torch_loss: float) -> dict:
    row = {"epoch": 1, "loss": 0.0, "mse": 0.1, "train_acc": 0.5, "valid_acc": 0.5}
    return {"scratch": [{**row, "loss": scratch_loss}], "torch": [{**row, "loss": torch_loss, "valid_acc": 0.75}]}


def test_history_max_diff_is_the_largest_gap_between_the_twins():
    assert history_max_diff(_history(1.0, 1.5)) == 0.5
    assert history_max_diff(_history(1.0, 1.0)) == 0.25  # valid_acc 0.5 against 0.75


def test_step_loss_summary_compares_scratch_with_torch():
    s = step_loss_summary({"scratch": [3.0, 2.0, 1.0, 0.5], "torch": [3.0, 2.5, 1.0, 0.5]}, epochs=2)
    assert s == {"steps": 4, "steps_per_epoch": 2, "max_abs_diff": 0.5, "identical": 3}


def test_dtype_row_counts_the_test_images_the_twins_label_differently():
    result = LockstepResult(history=_history(1.0, 1.25), max_weight_diff=[1e-16])
    result.timing = {"scratch": {"train_s": 2.0, "eval_s": 0.0}, "torch": {"train_s": 3.0, "eval_s": 0.0}}
    row = dtype_row(result, {"scratch": np.array([0, 1, 2, 3]), "torch": np.array([0, 1, 5, 6])})
    assert row["test_disagreements"] == 2
    assert row["history_max_diff"] == pytest.approx(0.25)
    assert row["torch_over_scratch"] == 1.5
