"""Exit codes: a user error is one line and exit 2; a bug is one line, exit 1, and its traceback on --debug."""

import argparse

import numpy as np
import pytest

from compare.cli.app import dispatch, main
from compare.config import RunConfig
from compare.data.idx import DataError
from compare.data.load import load_dataset
from compare.data.schedule import BatchSchedule
from compare.errors import UserError
from compare.files import prepare_out_dir


def numpy_bug(args):
    """A handler with a bug inside NumPy's territory: the ValueError NumPy raises for a bad reshape."""
    return np.zeros(6).reshape(4, 2)


def test_a_valueerror_from_a_bug_exits_1_not_2(capsys):
    assert dispatch(argparse.Namespace(handler=numpy_bug, debug=False)) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("mlp-compare: internal error: ValueError: cannot reshape array of size 6 into shape (4,2)")
    assert err.rstrip().endswith("; rerun with --debug for the traceback")


def test_debug_shows_the_traceback_of_a_bug(capsys):
    assert dispatch(argparse.Namespace(handler=numpy_bug, debug=True)) == 1
    err = capsys.readouterr().err
    assert err.startswith("Traceback (most recent call last):") and "in numpy_bug" in err
    assert err.strip().splitlines()[-1].startswith("mlp-compare: internal error: ValueError: cannot reshape")


def test_a_user_error_is_one_line_and_exit_2_even_with_debug(tmp_path, capsys):
    out = tmp_path / "o"
    assert main(["--debug", "run", "--batch-size", "5000", "--epochs", "1", "--hidden", "8", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err == "mlp-compare: error: batch size must be between 1 and the training-set size 3500, got 5000\n"
    assert not out.exists()  # nothing was written, so nothing is left behind


@pytest.mark.parametrize("make", [
    lambda tmp: RunConfig(epochs=0),
    lambda tmp: RunConfig(seed=-1),
    lambda tmp: RunConfig(dtype="float32", lr=1e39),
    lambda tmp: load_dataset("mnist-5k", valid_size=4000),
    lambda tmp: load_dataset("mnist-5k", data_dir=tmp),
    lambda tmp: BatchSchedule(10, 11, seed=0),
    lambda tmp: load_dataset("mnist", data_dir=tmp / "missing"),
    lambda tmp: prepare_out_dir(tmp / "file"),
], ids=["config", "seed", "float32 lr", "split size", "data-dir for mnist-5k", "batch size", "data folder", "--out"])
def test_user_facing_validation_raises_usererror_which_is_a_valueerror(tmp_path, make):
    (tmp_path / "file").write_text("x")
    with pytest.raises(UserError) as e:
        make(tmp_path)
    assert isinstance(e.value, ValueError)  # library users' `except ValueError` keeps working
    assert "\n" not in str(e.value)


def test_dataerror_is_a_usererror():
    assert issubclass(DataError, UserError) and issubclass(UserError, ValueError)


@pytest.mark.parametrize("command", [["gradcheck"], ["check", "scratch/lesson.py"], ["bench", "--quick"]])
def test_a_json_path_that_is_a_folder_is_refused_before_any_work(command, tmp_path, capsys):
    assert main([*command, "--json", str(tmp_path)]) == 2
    assert capsys.readouterr().err == f"mlp-compare: error: --json {tmp_path} is a folder; pass a file path such as " \
                                      f"{tmp_path / 'results.json'}\n"
    assert list(tmp_path.iterdir()) == []  # nothing was written, not even a temporary file


def test_check_refuses_a_batch_size_beyond_the_training_split_before_checking(capsys):
    assert main(["check", "scratch/lesson.py", "--batch-size", "4000"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err == "mlp-compare: error: batch size must be between 1 and the training-set size 3500, got 4000\n"
