"""Every JSON file the project writes is strict JSON: a non-finite number is null with its reason beside it."""

import numpy as np
from child_runs import strict_json

from compare.files import write_json
from compare.gradcheck.check import check_gradients
from compare.gradcheck.mutants import GALLERY_SIZES, MissingOutputBias, build


def test_nonfinite_numbers_become_null_with_their_reason(tmp_path):
    inf, nan = float("inf"), float("nan")
    write_json(tmp_path / "m.json", {
        "status": "diverged", "lr": 1e200, "loss": inf,
        "history": {"scratch": [{"epoch": 1, "loss": 2.5}, {"epoch": 2, "loss": nan}]},
        "max_weight_diff": [1e-16, -inf, nan], "grid": [[1.0, inf], [nan, 2.0]], "pair": (inf, 3),
    })
    m = strict_json(tmp_path / "m.json")
    assert m["status"] == "diverged" and m["lr"] == 1e200
    assert m["loss"] is None and m["loss_nonfinite"] == "inf"
    assert m["history"]["scratch"] == [{"epoch": 1, "loss": 2.5}, {"epoch": 2, "loss": None, "loss_nonfinite": "nan"}]
    assert m["max_weight_diff"] == [1e-16, None, None]
    assert m["max_weight_diff_nonfinite"] == {"1": "-inf", "2": "nan"}
    assert m["grid"] == [[1.0, None], [None, 2.0]] and m["grid_nonfinite"] == {"0.1": "inf", "1.0": "nan"}
    assert m["pair"] == [None, 3] and m["pair_nonfinite"] == {"0": "inf"}
    assert "history_nonfinite" not in m and "status_nonfinite" not in m


def test_a_failing_gradient_check_with_a_missing_gradient_writes_strict_json(tmp_path):
    """A backward that returns no output-bias gradient: that row's differences are infinite."""
    rng = np.random.default_rng(0)
    X, y = rng.uniform(-1, 1, (8, GALLERY_SIZES[0])), np.arange(8) % GALLERY_SIZES[-1]
    report = check_gradients(build(MissingOutputBias), X, y).as_dict()
    write_json(tmp_path / "g.json", report)
    rows = {r["name"]: r for r in strict_json(tmp_path / "g.json")["params"]}
    missing = rows[f"{2 * (len(GALLERY_SIZES) - 2)}.bias"]
    assert missing["max_abs_diff"] is None and missing["max_abs_diff_nonfinite"] == "inf"
    assert missing["max_rel_diff"] is None and missing["max_rel_diff_nonfinite"] == "inf"
    assert not missing["passed"]
