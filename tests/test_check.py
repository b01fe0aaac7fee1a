"""``mlp-compare check``: learners' own NeuralNetMLP files (tests/learners/), each caught with its finding, or passing.

Most go through the Python API (``check_backprop``) with training off; a few through the command line in a
subprocess, as a learner runs it.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import compare
from compare.cli.app import main
from compare.gradcheck.mutants import GALLERY_SIZES, OutputDeltaMissingTwo
from compare.learner import CannotCheck, check_backprop, load_target
from compare.learner.adapt import subject
from compare.learner.check import check_batch
from scratch import MLP, NeuralNetMLP

ROOT = Path(__file__).resolve().parents[1]
LEARNERS = Path(__file__).resolve().parent / "learners"


def check(name: str, data, **kwargs):
    target = load_target(str(LEARNERS / name))
    return check_backprop(target.cls, file=target.file, data=data, **{"epochs": 0, **kwargs})


def outside_brackets(text: str) -> str:
    """``text`` without its bracketed parts, nested ones included."""
    while (shorter := re.sub(r"\([^()]*\)", "", text)) != text:
        text = shorter
    return text


def line_of(name: str, text: str) -> int:
    """The 1-based line of ``name`` that holds ``text``."""
    return next(i for i, line in enumerate((LEARNERS / name).read_text().splitlines(), 1) if text in line)


def run_cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "compare", "check", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600, check=False)


# --- learners' mistakes: the file, the finding's kind and words, the check that fails, the parameters named ---

ALL = ["weight_h", "bias_h", "weight_out", "bias_out"]
MISTAKES = [
    ("onehot_columns.py", "onehot-columns", "gradients", ALL, "onehot[:, y] = 1 sets whole columns"),
    ("missing_two.py", "factor-two", "gradients", ALL, "exactly 1/2 of the true gradient"),
    ("missing_n.py", "batch-reduction", "gradients", ALL, "a factor 64 = the batch size"),
    ("sigmoid_of_a_h.py", "derivative-at-output", "gradients", ["weight_h", "bias_h"], "sigmoid'(a) where"),
    ("updates_in_backward.py", "backward-updates", "purity", ["weight_out"],
     "backward changed weight_out (by up to 0.025): apply the update outside backward"),
    ("accumulating_state.py", "accumulates", "purity", ["weight_out"], "a different d_loss__dw_out (up to 0.25"),
    ("transposed_gradient.py", "transposed", "intermediates", ["weight_h"],
     "backward's d_loss__d_w_h has shape (784, 50) but weight_h is (50, 784)"),
    ("in_out_wrong_transpose.py", "transposed", "intermediates", ["weight_out"],
     "backward's d_w_out has shape (10, 50) but weight_out is (50, 10): the gradient is transposed. A gradient has "
     "its parameter's shape; with weights stored (in, out) it is a_in.T @ delta"),
    ("no_output_sigmoid.py", "forward", "forward", ["weight_out", "bias_out"],
     "is the output sigmoid missing? your a_out equals z = a_h @ weight_out.T + bias_out"),
    ("nan_standardise.py", "not-finite", "forward", [], "forward's a_h holds 3200 NaN values (of 3200)"),
    ("list_returns.py", "not-array", "forward", [],
     "forward's a_out is a list; expected a NumPy float array of shape (64, 10)"),
    ("wrong_arity.py", "return-arity", "intermediates", [],
     "backward returned 3 values; expected 4: (d_w_out, d_b_out, d_w_h, d_b_h)"),
    ("dropout_forward.py", "nondeterministic", "forward", [], "forward gave a different a_h on a second call"),
]


@pytest.mark.parametrize("name, kind, stage, params, words", MISTAKES, ids=[m[0] for m in MISTAKES])
def test_each_learner_mistake_is_caught_with_its_finding(mnist5k, name, kind, stage, params, words):
    report = check(name, mnist5k)
    assert not report.passed and report.exit_code == 1, report.table()
    findings = [f for f in report.findings if f.kind == kind]
    assert findings, f"no {kind} finding:\n{report.table()}"
    assert findings[0].params[:len(params)] == params and words in findings[0].message, findings[0]
    assert {s.name: s.status for s in report.stages}[stage] == "FAIL", report.table()
    assert report.raised is None
    # every message speaks the learner's names; a state-dict key only in brackets after them
    assert not any(k in outside_brackets(f.message) for f in report.findings
                   for k in ("0.weight", "0.bias", "2.weight", "2.bias"))


@pytest.mark.parametrize("name", ["book_mlp.py", "in_out_storage.py", "several_classes.py:NeuralNetMLP"])
def test_right_learner_classes_pass(mnist5k, name):
    report = check(name, mnist5k)
    assert report.passed and report.exit_code == 0, report.table()
    assert [s.status for s in report.stages] == ["ok", "ok", "ok", "ok", "skipped"]
    assert max(r.comparison.max_rel_diff for r in report.intermediates) < 1e-13


def test_tables_use_the_learners_own_names(mnist5k):
    book = check("book_mlp.py", mnist5k)
    assert [r.name for r in book.intermediates] == ["a_h", "a_out", "d_loss__dw_out", "d_loss__db_out",
                                                    "d_loss__d_w_h", "d_loss__d_b_h"]
    assert [r.shown for r in book.gradient_check.rows] == ["weight_h", "bias_h", "weight_out", "bias_out"]
    assert "weight_out 10x50" in book.table()
    in_out = check("in_out_storage.py", mnist5k)
    assert in_out.storage == "in_out"
    assert "your weights are stored (in, out); the twin's are (out, in)" in in_out.table()
    assert [r.name for r in in_out.intermediates][2:] == ["d_w_out", "d_b_out", "d_w_h", "d_b_h"]
    assert in_out.intermediates[2].comparison.shape == (50, 10)  # shown in their layout


def test_the_checked_batch_holds_every_class_because_a_one_class_batch_hides_the_column_onehot(mnist5k):
    X, y = check_batch(mnist5k, seed=123)
    assert np.bincount(y, minlength=10).tolist() == [10] * 10
    one_class = np.flatnonzero(mnist5k.y_train == 0)[:100]  # what the head of a label-sorted file holds
    target = load_target(str(LEARNERS / "onehot_columns.py"))
    wrong, right = target.cls(784, 50, 10), NeuralNetMLP(784, 50, 10)
    for Xb, yb, equal in ((mnist5k.X_train[one_class], mnist5k.y_train[one_class], True), (X, y, False)):
        got = wrong.backward(Xb, *wrong.forward(Xb), yb)
        want = right.backward(Xb, *right.forward(Xb), yb)
        assert all(np.allclose(g, w, rtol=1e-12, atol=0) for g, w in zip(got, want)) is equal


# --- their code raising: one line with their file and line, exit 1 ------------------------------------

RAISES = [("raises_in_backward.py", "ary[i, val] = 1", "your backward raised IndexError: index 9 is out of bounds "
           "for axis 1 with size 9"),
          # np.reshape raises inside NumPy's own Python code: the line shown must still be theirs
          ("raises_in_init.py", "np.reshape(", "your __init__ raised ValueError: cannot reshape array of size 50 "
           "into shape (784,)")]


@pytest.mark.parametrize("name, text, words", RAISES, ids=[r[0] for r in RAISES])
def test_an_exception_in_their_code_is_one_line_with_their_file_and_line(mnist5k, name, text, words):
    report = check(name, mnist5k)
    assert report.raised == f"{words} ({Path(report.file)}:{line_of(name, text)})"
    assert report.exit_code == 1 and report.stages[-1].status == "skipped"


# --- what cannot be loaded or adapted: one line, exit 2 ------------------------------------------------

CANNOT = [
    ("syntax_error.py", [f"syntax_error.py:{line_of('syntax_error.py', 'np.sum(delta_out, axis=0')}: "
                         "SyntaxError: '(' was never closed"]),
    ("import_error.py", ["import_error.py:3: loading", "ModuleNotFoundError: No module named 'mnist_helpers'"]),
    ("other_constructor.py", ["we call NeuralNetMLP(num_features=784, num_hidden=50, num_classes=10, random_seed=123)",
                              "its constructor is NeuralNetMLP(layer_sizes, learning_rate=0.1)"]),
    ("several_classes.py", ["several classes with forward and backward (NeuralNetMLP, NeuralNetMLPv2)"]),
    ("other_names.py", ["TwoLayerNet has W1 (50, 784), b1 (50,), W2 (10, 50), b2 (10,), backward(), forward()",
                        "README, 'Check your own NeuralNetMLP'"]),
    ("backward_signature.py", ["NeuralNetMLP.backward(x, y) cannot be called as backward(x, a_h, a_out, y)"]),
    ("no_such_file.py", ["no_such_file.py: no such file"]),
]


@pytest.mark.parametrize("name, parts", CANNOT, ids=[c[0] for c in CANNOT])
def test_what_cannot_be_loaded_or_adapted_is_one_line_naming_it(mnist5k, name, parts):
    with pytest.raises(CannotCheck) as e:
        check(name, mnist5k)
    assert "\n" not in str(e.value) and all(part in str(e.value) for part in parts), str(e.value)


def test_a_module_name_loads_like_a_file():
    assert load_target("scratch.lesson").cls is NeuralNetMLP
    with pytest.raises(CannotCheck, match="no module named 'no_such_module_here'; pass the path"):
        load_target("no_such_module_here:NeuralNetMLP")
    with pytest.raises(CannotCheck, match="lesson.py:mse_loss is a function, expected a class"):
        load_target("scratch.lesson:mse_loss")


# --- the Python API ----------------------------------------------------------------------------------

def test_assert_backprop_matches_raises_with_the_table_and_the_diagnosis(mnist5k):
    wrong = load_target(str(LEARNERS / "missing_two.py")).cls
    with pytest.raises(AssertionError) as e:
        compare.assert_backprop_matches(wrong, data=mnist5k, epochs=0)
    text = str(e.value)
    assert "d_loss__dw_out     dL/d weight_out" in text and "DIFFERS" in text
    assert "finding: manual gradients are exactly 1/2 of the true gradient" in text
    assert compare.assert_backprop_matches(NeuralNetMLP, data=mnist5k, epochs=0).passed


def test_an_instance_is_checked_as_it_is_and_left_untouched(mnist5k):
    model = NeuralNetMLP(784, 50, 10, random_seed=7)
    before = {k: v.copy() for k, v in model.state_dict().items()}
    report = compare.check_backprop(model, data=mnist5k, epochs=1)
    assert report.passed, report.table()
    assert all(np.array_equal(v, before[k]) for k, v in model.state_dict().items())


def test_the_projects_contract_of_any_depth_is_checked_too(mnist5k):
    deep = compare.check_backprop(MLP([784, 30, 20, 10], "tanh"), data=mnist5k, epochs=0)
    assert deep.passed and deep.kind == "project", deep.table()
    assert [r.name for r in deep.gradient_check.rows] == ["0.weight", "0.bias", "2.weight", "2.bias",
                                                          "4.weight", "4.bias"]
    mutant = compare.check_backprop(OutputDeltaMissingTwo(GALLERY_SIZES), data=mnist5k, epochs=0)
    assert not mutant.passed and "factor-two" in [f.kind for f in mutant.findings], mutant.table()


def test_float32_casts_their_weights_and_uses_float32_tolerances(mnist5k):
    report = check("book_mlp.py", mnist5k, dtype="float32")
    assert report.passed and report.dtype == "float32", report.table()
    target = load_target(str(LEARNERS / "book_mlp.py"))
    learner = subject(target.cls, target.file, (784, 50, 10), 123, np.dtype("float32")).make()
    assert {a.dtype for a in learner.params().values()} == {np.dtype("float32")}
    assert report.intermediates[0].comparison.rtol == 1e-5 and report.gradient_check.dtype == "float32"


def test_training_parts_at_the_first_step_and_blames_the_step_not_a_parameter(mnist5k):
    report = check("updates_in_backward.py", mnist5k, epochs=1)
    assert [report.training.parted[k] for k in ("epoch", "step")] == [1, 1]
    assert not report.training.agreement.passed and report.training.agreement.envelope_measured
    parted = [f for f in report.findings if f.kind == "training-parted"]
    assert parted and parted[0].message.startswith("training parted from the twin at epoch 1, step 1")
    # the checks re-run at the weights before the parting agree: the step itself is to blame
    assert "what differs is the step itself" in parted[0].message
    assert parted[0].params in (["weight_out"], ["bias_out"])   # the two it changes, by the same amount


def test_a_right_class_trains_in_lockstep_at_float64_rounding(mnist5k):
    t = (report := check("book_mlp.py", mnist5k, epochs=1)).training
    assert report.passed and t.parted is None and t.epochs_done == 1, report.table()
    assert 0 < t.largest_gap < 1e-14 and t.max_weight_diff[0] < 1e-14
    assert len(t.step_loss["scratch"]) == len(t.step_loss["torch"]) == t.steps_per_epoch == 35


# --- the command line, as a learner runs it ----------------------------------------------------------

def test_cli_the_lessons_class_passes_and_trains_at_float64_rounding(tmp_path):
    out = tmp_path / "lesson"
    r = run_cli("scratch/lesson.py:NeuralNetMLP", "--epochs", "2", "--out", str(out),
                "--json", str(tmp_path / "c.json"))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "verdict: your backprop agrees with PyTorch" in r.stdout and r.stderr == ""
    result = json.loads((tmp_path / "c.json").read_text())
    assert result["passed"] and result["exit_code"] == 0 and result["class"] == "NeuralNetMLP"
    assert [s["status"] for s in result["stages"]] == ["ok"] * 5
    assert result["training"]["epochs_done"] == 2 and result["training"]["largest_gap"] < 1e-14
    assert json.loads((out / "check.json").read_text()) == result
    assert (out / "report.html").is_file() and (out / "training.png").is_file()
    html = (out / "report.html").read_text()   # beside the book's class: the twin a learner writes
    assert "torch_impl/idiomatic.py" in html and "def make_net()" in html and "def check_spec" not in html


def test_cli_a_buggy_class_exits_1_with_the_diagnosis(tmp_path):
    r = run_cli(str(LEARNERS / "missing_two.py"), "--epochs", "0", "--out", str(tmp_path / "o"))
    assert r.returncode == 1, r.stdout + r.stderr
    assert "finding: manual gradients are exactly 1/2 of the true gradient" in r.stdout
    assert r.stdout.rstrip().splitlines()[-2] == "verdict: DISAGREES with PyTorch"


def test_cli_their_exception_is_one_line_exit_1_and_no_traceback(tmp_path):
    r = run_cli("tests/learners/raises_in_backward.py", "--epochs", "0", "--out", str(tmp_path / "o"))
    assert r.returncode == 1 and "Traceback" not in r.stdout + r.stderr
    line = line_of("raises_in_backward.py", "ary[i, val] = 1")
    assert (f"verdict: DISAGREES with PyTorch: your backward raised IndexError: index 9 is out of bounds for axis 1 "
            f"with size 9 (tests/learners/raises_in_backward.py:{line})") in r.stdout


def test_cli_a_file_that_cannot_load_exits_2_in_one_line_and_writes_nothing(tmp_path):
    r = run_cli("tests/learners/syntax_error.py", "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("mlp-compare: error: tests/learners/syntax_error.py:")
    assert main(["check", str(LEARNERS / "other_constructor.py"), "--out", str(tmp_path / "o")]) == 2
    assert not (tmp_path / "o").exists()


def test_help_says_where_a_file_runs_and_what_of_it(capsys):
    with pytest.raises(SystemExit) as e:
        main(["check", "--help"])
    assert e.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "runs in a worker process of its own, never in the checker" in text and "exit codes: 0" in text
    assert "not its script code" in text and "--run-file" in text


# --- the README's code, run as a learner would --------------------------------------------------------

def readme_block(after: str) -> str:
    """The first Python block after the text ``after`` in the README's section on checking your own class."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Check your own NeuralNetMLP"):]
    start = section.index("```python\n", section.index(after)) + len("```python\n")
    return section[start:section.index("```", start)]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_the_readmes_ten_line_adapter_makes_w1_b1_w2_b2_checkable(tmp_path, mnist5k, dtype):
    (tmp_path / "my_two_layer_net.py").write_text((LEARNERS / "other_names.py").read_text())
    (tmp_path / "adapter.py").write_text(readme_block("A class with other names"))
    target = load_target(str(tmp_path / "adapter.py"))
    report = check_backprop(target.cls, file=target.file, data=mnist5k, epochs=1, dtype=dtype)
    assert report.passed, report.table()


def test_the_readmes_test_my_mlp_passes_for_the_books_class(tmp_path):
    (tmp_path / "my_mlp.py").write_text((LEARNERS / "book_mlp.py").read_text())
    (tmp_path / "test_my_mlp.py").write_text(readme_block("A complete `test_my_mlp.py`"))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_my_mlp.py"],
                       cwd=tmp_path, capture_output=True, text=True, env=env, timeout=600, check=False)
    assert r.returncode == 0 and "2 passed" in r.stdout, r.stdout + r.stderr


def test_read_only_properties_are_checked_in_float64_and_refused_a_float32_cast(tmp_path, mnist5k):
    (tmp_path / "my_two_layer_net.py").write_text((LEARNERS / "other_names.py").read_text())
    without_setters = re.sub(r", lambda self, v: setattr\(self\.net, \"\w+\", v\)\)", ")",
                             readme_block("A class with other names"))
    assert "setattr" not in without_setters
    (tmp_path / "read_only.py").write_text(without_setters)
    target = load_target(str(tmp_path / "read_only.py"))
    assert check_backprop(target.cls, file=target.file, data=mnist5k, epochs=0).passed
    with pytest.raises(CannotCheck, match=r"NeuralNetMLP\.weight_h cannot be set, so it cannot be cast to float32"):
        check_backprop(target.cls, file=target.file, data=mnist5k, epochs=0, dtype="float32")
