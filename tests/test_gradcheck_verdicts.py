"""The check's verdicts: the tolerance sits between rounding and a mistake, the twin is blamed only
with proof, "not checked" is never "passed", every failing check says why, in the learner's names."""

import json
import re

import numpy as np
import pytest

from compare import check_gradients
from compare.agreement.tolerances import compare_arrays
from compare.gradcheck.check import autograd_gradients
from compare.report.run_page import gradient_table
from scratch import MLP, NeuralNetMLP


@pytest.fixture(scope="module")
def mixed(mnist5k):
    """Three training rows of every class, the classes interleaved: X (30, 784), y (30,)."""
    idx = np.stack([np.flatnonzero(mnist5k.y_train == c)[:3] for c in range(10)], axis=1).ravel()
    return mnist5k.X_train[idx], mnist5k.y_train[idx]


@pytest.mark.parametrize("dtype, bump", [("float64", 1e-9), ("float32", 1e-3)])
def test_gradient_tolerance_sits_between_rounding_and_a_small_mistake(dtype, bump, mixed):
    """Manual and autograd differ by rounding only, far inside the tolerance; an error of ``bump``
    relative in a single entry is far outside it."""
    X, y = mixed
    model = MLP([784, 50, 10], dtype=dtype)
    manual = model.gradients(X.astype(dtype), y)
    _, auto = autograd_gradients(model, X, y)
    for name, g in manual.items():
        same = compare_arrays(name, g, auto[name])
        assert same.passed and same.max_rel_diff <= same.rtol / 100, (name, same)
        wrong = g.copy()
        wrong.flat[np.argmax(np.abs(g))] *= 1 + bump
        assert not compare_arrays(name, wrong, auto[name]).passed, name


# --- blame only with proof ---------------------------------------------------------------------

class OneWrongEntry(MLP):
    """A manual gradient wrong in a single entry, by ``size`` times the parameter's largest entry."""

    def __init__(self, *args, param="0.weight", index=(3, 400), size=1e-5, **kwargs):
        super().__init__(*args, **kwargs)
        self.param, self.index, self.size = param, index, size

    def gradients(self, X, y):
        g = super().gradients(X, y)
        g[self.param][self.index] += self.size * np.abs(g[self.param]).max()
        return g


@pytest.mark.parametrize("param, index, size", [("0.weight", (3, 400), 1e-5), ("0.weight", (7, 300), 1e-2),
                                                ("0.bias", (5,), 1e-4), ("2.weight", (2, 9), 1e-5)])
def test_a_sparse_manual_error_is_never_blamed_on_the_twin(param, index, size, mixed):
    X, y = mixed
    report = check_gradients(OneWrongEntry([784, 50, 10], param=param, index=index, size=size), X, y)
    assert not report.passed
    kinds = [f.kind for f in report.diagnosis]
    assert "twin-differs" not in kinds, report.table()
    assert [r.name for r in report.rows if not r.autograd.passed] == [param]
    # finite differences ran at the entry where the two disagree most, and side with autograd there
    worst = report.probes[0]
    assert (worst.name, worst.index) == (param, index) and worst.sides_with == "autograd", worst
    assert kinds[0] == "wrong" and report.diagnosis[0].params == [param], report.table()


def test_an_error_below_what_finite_differences_resolve_is_unresolved_not_blamed(mixed):
    X, y = mixed
    report = check_gradients(OneWrongEntry([784, 50, 10], size=1e-9), X, y)
    assert not report.passed
    assert [f.kind for f in report.diagnosis] == ["unresolved"], report.table()
    assert report.probes and all(p.sides_with == "both" for p in report.probes)
    assert "0.weight[3, 400]" in report.diagnosis[0].message and "cannot be told" in report.diagnosis[0].message


def test_twin_blamed_with_the_coordinates_and_numbers_that_prove_it(mixed):
    X, y = mixed
    report = check_gradients(NeuralNetMLP(784, 50, 10), X, y, torch_loss="mse-mean")
    twin = next(f for f in report.diagnosis if f.kind == "twin-differs")
    assert len(twin.evidence) == len(report.probes) >= 4 and {e["name"] for e in twin.evidence} == {
        "0.weight", "0.bias", "2.weight", "2.bias"}
    for p in report.probes:  # the loss sides with the manual gradient, 10x the twin's
        assert p.sides_with == "manual" and p.manual == pytest.approx(10 * p.autograd, rel=1e-9)
        assert p.finite_difference == pytest.approx(p.manual, rel=1e-6)
    first = report.probes[0]
    assert f"{first.where()}: manual {first.manual:.6g}, autograd {first.autograd:.6g}" in twin.message


# --- "not checked" is not "passed" -------------------------------------------------------------

def kinked_relu_net() -> tuple[MLP, np.ndarray, np.ndarray]:
    """3 -> 4 -> 2 ReLU net whose every hidden pre-activation is exactly 0 on the first example
    (x = [1, -1, 1], each row of W1 sums to 0 against it, b1 = 0): moving any first-layer weight or
    bias, alone or along any direction, switches a unit on or off, so L has a kink at every sample."""
    model = MLP([3, 4, 2], "relu", "mse", seed=0)
    model.state_dict()["0.weight"][...] = [[0.5, 0.25, -0.25], [-0.5, 0.25, 0.75], [0.125, 0.5, 0.375],
                                           [1.0, 0.5, -0.5]]
    X = np.array([[1.0, -1.0, 1.0], [0.5, 0.25, -1.0], [-1.0, 0.5, 0.5]])
    return model, X, np.array([0, 1, 1])


def test_relu_kinks_everywhere_are_not_checked_and_the_verdict_says_so():
    model, X, y = kinked_relu_net()
    report = check_gradients(model, X, y)
    rows = {r.name: r for r in report.rows}
    for name in ("0.weight", "0.bias"):
        r = rows[name]
        assert (r.fd_coords, r.fd_max_rel, r.fd_passed, r.dir_checked, r.dir_max_rel, r.dir_passed) == (
            0, None, None, 0, None, None), report.table()
    for name in ("2.weight", "2.bias"):  # the output layer moves no ReLU: checked as usual
        assert rows[name].fd_passed and rows[name].dir_passed and rows[name].fd_coords == rows[name].autograd.shape[0] * (
            rows[name].autograd.shape[1] if len(rows[name].shape) == 2 else 1)
    assert report.passed and report.not_checked == [
        "0.weight: finite differences", "0.weight: directional", "0.bias: finite differences", "0.bias: directional"]
    table = report.table()
    assert table.splitlines()[1].count("not checked") == 4, table  # both numbers and both notes
    assert table.splitlines()[-1].startswith("gradient check: passed, resting on fewer opinions")
    data = json.loads(json.dumps(report.as_dict(), allow_nan=False))
    assert data["params"][0]["fd_max_rel_diff"] is None and data["params"][0]["directional_passed"] is None
    assert data["params"][0]["not_checked"] == ["finite differences", "directional"]
    assert "fewer opinions" in data["verdict"]
    rendered = gradient_table(data)
    assert rendered.rows[0][-3:] == ["not checked", "not checked", "ok (finite differences and directional not checked)"]


# --- every failing check says why ---------------------------------------------------------------

class Float32Gradients(MLP):
    """A float64 model whose gradients come back as float32."""

    def gradients(self, X, y):
        return {k: v.astype(np.float32) for k, v in super().gradients(X, y).items()}


class ColumnBias(MLP):
    """Hands back the hidden bias gradient as a column, shape (H, 1)."""

    def gradients(self, X, y):
        g = super().gradients(X, y)
        g["0.bias"] = g["0.bias"][:, None]
        return g


def test_a_dtype_mismatch_fails_with_its_finding_and_problem_shown(mixed):
    X, y = mixed
    report = check_gradients(Float32Gradients([784, 50, 10]), X, y)
    assert not report.passed
    assert [f.kind for f in report.diagnosis] == ["dtype"], report.table()
    assert "dtype float32, expected float64" in report.diagnosis[0].message
    assert report.diagnosis[0].params == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert report.table().count("FAIL autograd (dtype float32, expected float64)") == 4
    assert all(p.sides_with == "both" for p in report.probes)  # no blame: the values agree to float32


def test_a_shape_mismatch_fails_with_its_finding_and_problem_shown(mixed):
    X, y = mixed
    report = check_gradients(ColumnBias([784, 50, 10]), X, y)
    assert not report.passed
    assert [(f.kind, f.params) for f in report.diagnosis] == [("shape", ["0.bias"])], report.table()
    assert "(50, 1)" in report.diagnosis[0].message
    row = next(r for r in report.rows if r.name == "0.bias")
    assert row.fd_passed is None and row.dir_passed is None  # nothing to difference against
    assert "FAIL autograd (shape (50, 1), expected (50,)); finite differences not checked" in report.table()


# --- the learner's own names -------------------------------------------------------------------

BOOK_NAMES = {"0.weight": "weight_h", "0.bias": "bias_h", "2.weight": "weight_out", "2.bias": "bias_out"}


class OutputWeightsOff(MLP):
    """A learner's subclass wrong in the output weights only (x 1.5)."""

    def gradients(self, X, y):
        g = super().gradients(X, y)
        g["2.weight"] = g["2.weight"] * 1.5
        return g


def outside_brackets(text: str) -> str:
    """``text`` without its bracketed parts, nested ones included."""
    while (shorter := re.sub(r"\([^()]*\)", "", text)) != text:
        text = shorter
    return text


def test_names_label_the_table_the_findings_and_the_json(mixed):
    X, y = mixed
    report = check_gradients(OutputWeightsOff([784, 50, 10]), X, y, names=BOOK_NAMES)
    table = report.table()
    assert [line.split()[0] for line in table.splitlines()[1:5]] == list(BOOK_NAMES.values())
    # the state-dict key only in brackets, after the learner's name: "weight_out (the output layer, 2.weight)"
    assert "2.weight" not in outside_brackets(table) and "weight_out (the output layer, 2.weight)" in table
    assert report.diagnosis[0].params == ["2.weight"]  # machine-readable: the state-dict key
    data = report.as_dict()
    assert [(p["name"], p["label"]) for p in data["params"]] == list(BOOK_NAMES.items())
    assert {p["label"] for p in data["probes"]} == {"weight_out"}
    plain = check_gradients(OutputWeightsOff([784, 50, 10]), X, y).as_dict()
    assert [p["label"] for p in plain["params"]] == list(BOOK_NAMES)  # without names, the key
