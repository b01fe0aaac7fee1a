"""Findings in the learner's words: their parameter names, layers by place ("the output layer", "hidden layer 1")
with the twin's keys in brackets, and the mistakes a learner makes named, not only located.

Each learner file under tests/learners/ is the book's ``NeuralNetMLP`` with one line changed.
"""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from compare.data.load import gradient_check_batch
from compare.gradcheck.check import check_gradients
from compare.gradcheck.mutants import GALLERY_SIZES, HiddenBiasesForgotten
from compare.learner import check_backprop, load_target
from compare.learner.adapt import subject
from compare.learner.contract import check_gradient_opinions

ROOT = Path(__file__).resolve().parents[1]
LEARNERS = Path(__file__).resolve().parent / "learners"
ALL = ["weight_h", "bias_h", "weight_out", "bias_out"]


def check(name: str, data):
    target = load_target(str(LEARNERS / name))
    return check_backprop(target.cls, file=target.file, data=data, epochs=0)


def findings_on(name: str, data, size: int):
    """The gradient findings for learner file ``name`` on a stratified batch of ``size`` training digits."""
    target = load_target(str(LEARNERS / name))
    learner = subject(target.cls, target.file, (784, 50, 10), 123, np.float64).make()
    idx = gradient_check_batch(data.y_train, size, 123, data.num_classes)
    return check_gradient_opinions(learner, data.X_train[idx], data.y_train[idx], 123)[1]


def only(findings, kind: str):
    found = [f for f in findings if f.kind == kind]
    assert len(found) == 1, [(f.kind, f.message) for f in findings]
    return found[0]


@pytest.mark.parametrize("name, words", [
    ("sigmoid_of_a_h.py", "the error enters at hidden layer 1 (weight_h, bias_h; 0.weight, 0.bias)"),
    ("sigmoid_of_a_out.py", "the error is already in the output layer (weight_out, bias_out; 2.weight, 2.bias)"),
])
def test_layers_are_named_by_place_with_the_learners_names_and_the_keys_in_brackets(mnist5k, name, words):
    report = check(name, mnist5k)
    assert words in only(report.findings, "first-wrong-layer").message
    assert not any("Linear" in f.message for f in report.findings), [f.message for f in report.findings]


def test_a_parameter_is_named_with_its_layer_and_key():
    """A model without names of its own: the key is the name, and the layer follows it."""
    rng = np.random.default_rng(0)
    X, y = rng.uniform(-1, 1, size=(20, 784)), np.arange(20) % 10
    report = check_gradients(HiddenBiasesForgotten(GALLERY_SIZES), X, y)
    messages = [f.message for f in report.diagnosis if f.kind == "zero-gradient"]
    assert [m.split(":")[0] for m in messages] == ["0.bias (hidden layer 1)", "2.bias (hidden layer 2)"]
    # a bias is explained as a bias
    assert all("a bias gradient is the layer's delta summed over the batch" in m.lower() for m in messages)


def test_sigmoid_derivative_taken_at_a_out_is_named(mnist5k):
    report = check("sigmoid_of_a_out.py", mnist5k)
    gradient = [f for f in report.findings if f.kind != "first-difference"]
    assert gradient[0].kind == "output-derivative-at-activation", [f.kind for f in gradient]
    assert gradient[0].params == ALL
    assert "sigmoid(a_out) * (1 - sigmoid(a_out)) where sigmoid'(z_out) = a_out * (1 - a_out)" in gradient[0].message


@pytest.mark.parametrize("name, kind, words", [
    ("missing_n.py", "batch-reduction", "recomputed on the first 9 examples the factor is 9: it follows the batch "
                                        "size, so it is a missing or extra / n, not a mean over classes"),
    ("mean_over_classes.py", "loss-reduction", "recomputed on the first 9 examples the factor stays 0.1: it is the "
                                               "number of classes, not the batch size"),
])
def test_a_factor_equal_to_batch_size_and_classes_is_told_apart_on_another_batch_size(mnist5k, name, kind, words):
    """Batch 10, 10 classes: the factor 10 fits both mistakes; a batch of 9 tells which."""
    finding = findings_on(name, mnist5k, 10)[0]
    assert finding.kind == kind and words in finding.message, finding.message
    assert finding.params == ALL


def test_a_missing_n_on_a_batch_of_another_size_needs_no_second_batch(mnist5k):
    finding = findings_on("missing_n.py", mnist5k, 20)[0]
    assert finding.kind == "batch-reduction" and "a factor 20 = the batch size" in finding.message
    assert "recomputed" not in finding.message


def test_gradients_returned_in_the_wrong_order_are_named(mnist5k):
    report = check("returns_hidden_first.py", mnist5k)
    finding = only(report.findings, "return-order")
    assert finding.message.startswith(
        "your 1st returned array (d_loss__d_w_h) has the shape of weight_h's gradient (50, 784): the book returns "
        "d_w_out, d_b_out, d_w_h, d_b_h (the output layer first"), finding.message
    assert finding.params == ["weight_h"]
    assert {s.name: s.status for s in report.stages}["intermediates"] == "FAIL"


@pytest.mark.parametrize("name, words", [
    ("wrong_arity.py", "backward returned 3 values; expected 4: (d_w_out, d_b_out, d_w_h, d_b_h), the gradients of "
                       "weight_out, bias_out, weight_h, bias_h in that order; the one missing: d_b_out (bias_out's "
                       "gradient, shape (10,))"),
    ("returns_five.py", "backward returned 5 values; expected 4: (d_w_out, d_b_out, d_w_h, d_b_h), the gradients of "
                        "weight_out, bias_out, weight_h, bias_h in that order; the 5th, shape (64, 10), is not the "
                        "gradient of any parameter: leave it out"),
])
def test_too_few_or_too_many_returned_values_say_how_many_and_which(mnist5k, name, words):
    report = check(name, mnist5k)
    assert only(report.findings, "return-arity").message == words


def test_a_zero_weight_gradient_is_explained_as_a_weight(mnist5k):
    report = check("zero_weight_gradient.py", mnist5k)
    message = only(report.findings, "zero-gradient").message
    assert message.startswith("weight_h (hidden layer 1, 0.weight): the weight gradient is all zeros"), message
    assert "delta.T @ a_in" in message and "bias" not in message


# --- a passing check in one line; the report prints as the command line prints it ---------------

def test_the_report_prints_as_the_cli_prints_it_and_a_pass_is_one_line(mnist5k):
    from scratch import NeuralNetMLP

    idx = gradient_check_batch(mnist5k.y_train, 100, 123, mnist5k.num_classes)
    report = check_gradients(NeuralNetMLP(784, 50, 10, random_seed=123), mnist5k.X_train[idx],
                             mnist5k.y_train[idx], seed=123)
    assert str(report) == report.table()
    lines = str(report).splitlines()
    assert lines[-1] == ("gradient check: passed (4 parameters, float64: autograd, finite differences and "
                         "directional derivatives agree)")
    assert sum("gradient check" in line for line in lines) == 1 and len(lines) == 1 + 4 + 1 + 1   # header, rows, what rel means, summary
    proc = subprocess.run([sys.executable, "-m", "compare", "gradcheck"], cwd=ROOT, capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 0 and proc.stdout.endswith(str(report) + "\n"), proc.stdout + proc.stderr


def test_a_failing_check_ends_with_one_line_naming_the_wrong_parameters(mnist5k):
    report = check("missing_n.py", mnist5k)
    gc = report.gradient_check
    assert str(gc).splitlines()[-1] == "gradient check: FAILED (4 of 4 parameters wrong: weight_h, bias_h, " \
                                       "weight_out, bias_out)"
    assert str(report) == report.table() and report.table().splitlines()[-1] == "verdict: DISAGREES with PyTorch"


# --- beside every gradient table: how to read 1e-16 -------------------------------------------------

def test_the_gradient_tables_of_both_reports_say_how_to_read_1e_16(mnist5k):
    from compare.report.check_page import build_check_page
    from compare.report.html import Note, Table
    from compare.report.run_page import _gradients

    report = check("book_mlp.py", mnist5k)
    page = build_check_page(report, {}, None, set(), None)
    check_blocks = next(s for s in page.sections if s.title == "Do the gradients agree?").blocks
    run_blocks = _gradients({"gradient_check": report.gradient_check.as_dict(), "gradient_check_batch": 100}, None)
    for blocks in (check_blocks, run_blocks):
        i = next(i for i, b in enumerate(blocks) if isinstance(b, Table))
        note = blocks[i + 1]  # right under the table
        assert isinstance(note, Note) and note.text.startswith(
            "How to read 1e-16: float64's last bit is 2.2e-16 of the value"), note
        assert "A real mistake is off by far more" in note.text
