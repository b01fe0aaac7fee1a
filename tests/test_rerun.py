"""``--compare-dtypes``: whatever happens to the rerun in the other dtype, the first run is written whole."""

import json

import pytest
from child_runs import strict_json

from compare.cli.app import main
from compare.cli.run import report_outcome
from compare.config import RunConfig
from compare.errors import ERROR_LOG
from compare.run import run_comparison

FIRST_RUN_FILES = {"metrics.json", "report.html", "report.md", "lesson.html", "lesson.md", "training.png",
                   "drift.png", "steps.png", "samples.png", "confusion.png"}


def assert_first_run_whole(out, epochs: int) -> dict:
    """Every file of the first (float64) run is there, and its metrics describe a finished run."""
    assert FIRST_RUN_FILES <= {p.name for p in out.iterdir()}
    m = strict_json(out / "metrics.json")
    assert m["status"] == "complete" and m["epochs_done"] == epochs
    assert len(m["history"]["scratch"]) == len(m["history"]["torch"]) == epochs
    assert set(m["test_acc"]) == {"scratch", "torch"}
    assert m["dtype_comparison"]["float64"]["status"] == "complete"
    assert m["dtype_comparison"]["float64"]["max_weight_diff"] == m["max_weight_diff"]
    return m


def test_ctrl_c_during_the_float32_rerun_keeps_the_float64_run_and_exits_130(tmp_path, capsys):
    """Ctrl-C lands in the rerun's first epoch: the hook raises KeyboardInterrupt exactly where SIGINT's
    handler would, after that epoch's progress call, so the test does not race a training clock. (A real
    SIGINT through the CLI is tested on the first run in test_cli_failures.py.)"""
    out = tmp_path / "o"

    def ctrl_c_in_the_rerun(dtype: str, epoch: int) -> None:
        if dtype == "float32" and epoch == 1:
            raise KeyboardInterrupt

    config = RunConfig(epochs=40, hidden=(8,), threads=1)
    m = run_comparison(config, out, progress=ctrl_c_in_the_rerun, compare_dtypes=True)
    assert report_outcome(m, out) == 130
    stdout, stderr = capsys.readouterr()
    assert stderr.strip().splitlines()[-1].startswith(
        "mlp-compare: interrupted: the float32 rerun (--compare-dtypes) stopped: interrupted after ")
    assert "test accuracy: scratch" in stdout  # the float64 run's summary
    m = assert_first_run_whole(out, 40)
    row = m["dtype_comparison"]["float32"]
    assert row["status"] == "interrupted" and 1 <= row["epochs_done"] < 40
    assert row["message"] == f"interrupted after {row['epochs_done']} of 40 epochs"
    assert len(row["max_weight_diff"]) == row["epochs_done"] and "test_disagreements" not in row
    report = (out / "report.md").read_text()
    assert "The `float32` rerun interrupted:** interrupted after" in report
    assert f"| `float32` | {row['epochs_done']} (interrupted) |" in report


def test_a_float32_only_divergence_keeps_the_float64_run(tmp_path, capsys):
    """ReLU + cross-entropy with a learning rate of 1e30: after one step the weights are ~1e30, so the
    next products pass float32's largest number (3.4e38) at once, while float64 (up to 1.8e308) stays
    finite with eight orders of magnitude to spare; the float64 run learns nothing, and says so."""
    out = tmp_path / "o"
    code = main(["run", "--compare-dtypes", "--activation", "relu", "--loss", "cross_entropy", "--lr", "1e30",
                 "--epochs", "2", "--hidden", "8", "--threads", "1", "--out", str(out)])
    assert code == 0  # the float64 run finished and its gradient check passed
    err = capsys.readouterr().err.strip().splitlines()
    warning = "mlp-compare: warning: the float32 rerun (--compare-dtypes) diverged: both twins diverged at epoch 1, step 2"
    assert any(line.startswith(warning) for line in err), err  # beside the float64 run's own "did not learn"
    m = assert_first_run_whole(out, 2)
    row = m["dtype_comparison"]["float32"]
    assert row["status"] == "diverged" and row["epochs_done"] == 0 and row["max_weight_diff"] == []
    assert row["stopped"] == {"epoch": 1, "step": 2, "first": "both", "steps": {"scratch": 2, "torch": 2}}
    report = (out / "report.md").read_text()
    assert "The `float32` rerun diverged:** both twins diverged at epoch 1, step 2" in report
    assert "| `float32` | 0 (diverged) | — | — | — | — | — |" in report


def test_a_learning_rate_float32_cannot_hold_skips_the_rerun(tmp_path, capsys):
    out = tmp_path / "o"
    assert main(["run", "--compare-dtypes", "--lr", "1e39", "--epochs", "1", "--hidden", "8", "--threads", "1",
                 "--out", str(out)]) == 0
    assert "the float32 rerun (--compare-dtypes) was skipped: learning rate 1e+39 does not fit in float32" in \
        capsys.readouterr().err
    row = assert_first_run_whole(out, 1)["dtype_comparison"]["float32"]
    assert row["status"] == "skipped" and row["epochs_done"] == 0
    assert main(["run", "--dtype", "float32", "--lr", "1e39", "--out", str(tmp_path / "f32")]) == 2
    assert capsys.readouterr().err.startswith("mlp-compare: error: learning rate 1e+39 does not fit in float32")


def test_a_bug_in_the_rerun_surfaces_after_the_first_run_is_written(tmp_path):
    """The progress hook is the one place a test can make the rerun fail from inside: it raises on the
    rerun's first epoch, as a bug in the training code would."""
    def progress(dtype, epoch):
        if dtype == "float32":
            raise RuntimeError("planted failure in the float32 rerun")

    out = tmp_path / "o"
    with pytest.raises(RuntimeError, match="planted failure"):
        run_comparison(RunConfig(epochs=1, hidden=(8,), threads=1), out, progress=progress, compare_dtypes=True)
    m = assert_first_run_whole(out, 1)
    assert m["dtype_comparison"]["float32"] == {"status": "failed", "epochs_done": 0, "max_weight_diff": [],
                                                "message": "RuntimeError: planted failure in the float32 rerun"}
    log = (out / ERROR_LOG).read_text()
    assert log.startswith("Traceback (most recent call last):") and "in progress" in log
    assert log.strip().endswith("RuntimeError: planted failure in the float32 rerun")
    # A later run into the same folder that succeeds removes the stale log.
    run_comparison(RunConfig(epochs=1, hidden=(8,), threads=1), out, overwrite=True)
    assert not (out / ERROR_LOG).exists()
    assert "dtype_comparison" not in json.loads((out / "metrics.json").read_text())
