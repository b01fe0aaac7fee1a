"""The same command and seed give the same metrics; float64 scratch results are bit-identical."""

import json

import numpy as np

from compare.cli.app import main
from compare.twins.lockstep import lockstep_train, make_twins

VARYING = {"timing", "versions"}  # wall-clock seconds and the machine's library versions


def strip(metrics: dict) -> dict:
    return {k: v for k, v in metrics.items() if k not in VARYING}


def test_two_runs_with_one_seed_write_equal_metrics(tmp_path):
    for name in ("a", "b"):
        assert main(["run", "--epochs", "2", "--hidden", "20", "--seed", "7", "--out", str(tmp_path / name)]) == 0
    a, b = (json.loads((tmp_path / n / "metrics.json").read_text()) for n in ("a", "b"))
    assert strip(a) == strip(b)
    assert a["history"]["scratch"][0]["loss"] > 0  # the comparison compares something


def test_a_different_seed_changes_the_run(tmp_path):
    for name, seed in (("a", "7"), ("b", "8")):
        assert main(["run", "--epochs", "1", "--hidden", "20", "--seed", seed, "--out", str(tmp_path / name)]) == 0
    a, b = (json.loads((tmp_path / n / "metrics.json").read_text()) for n in ("a", "b"))
    assert a["history"] != b["history"]


def test_float64_scratch_weights_are_bit_identical_across_runs(mnist5k):
    runs = []
    for _ in range(2):
        twins = make_twins([784, 30, 10], seed=5)
        result = lockstep_train(twins, mnist5k, epochs=2, batch_size=50, seed=5)
        runs.append(({k: v.copy() for k, v in twins.scratch.state_dict().items()}, result.history["scratch"]))
    (w1, h1), (w2, h2) = runs
    for k in w1:
        assert np.array_equal(w1[k], w2[k]), k
    assert h1 == h2
