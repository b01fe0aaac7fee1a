"""Three opinions on every architecture, ReLU's kink, a hand-worked example, and learners' own code;
blame only with proof, "not checked" when there was nothing to check, a finding for every failure."""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compare import assert_gradients_match, check_gradients
from compare.finite_differences import DIRECTIONS
from compare.gradcheck import autograd_gradients
from compare.lockstep import lockstep_steps, make_twins
from compare.report import gradient_table
from compare.tolerances import compare_arrays
from scratch import MLP, NeuralNetMLP


@pytest.fixture(scope="module")
def mixed(mnist5k):
    """Three training rows of every class, the classes interleaved: X (30, 784), y (30,)."""
    idx = np.stack([np.flatnonzero(mnist5k.y_train == c)[:3] for c in range(10)], axis=1).ravel()
    return mnist5k.X_train[idx], mnist5k.y_train[idx]


@st.composite
def networks(draw):
    hidden = draw(st.lists(st.integers(1, 64), min_size=0, max_size=3))  # 1 to 4 Linear layers
    n_in, n_classes = draw(st.integers(1, 64)), draw(st.integers(2, 10))
    return dict(sizes=[n_in, *hidden, n_classes], activation=draw(st.sampled_from(["sigmoid", "tanh", "relu"])),
                loss=draw(st.sampled_from(["mse", "cross_entropy"])), dtype=draw(st.sampled_from(["float64", "float32"])),
                batch=draw(st.integers(1, 64)), seed=draw(st.integers(0, 2**16)))


@settings()  # the examples and their number come from the profile (tests/conftest.py)
@given(networks())
def test_every_architecture_agrees_three_ways(spec):
    rng = np.random.default_rng(spec["seed"])
    X = rng.uniform(-1, 1, size=(spec["batch"], spec["sizes"][0])).astype(spec["dtype"])
    y = rng.integers(0, spec["sizes"][-1], size=spec["batch"])
    model = MLP(spec["sizes"], spec["activation"], spec["loss"], seed=spec["seed"], dtype=spec["dtype"])
    report = check_gradients(model, X, y, seed=spec["seed"])
    assert report.passed, f"{spec}\n{report.table()}"
    # the verdict rests on numbers: finite differences and directions really ran on this example
    assert sum(r.fd_coords for r in report.rows) > 0 and sum(r.dir_checked for r in report.rows) > 0, report.table()
    for r in report.rows:
        if spec["activation"] != "relu":  # no kinks: every parameter gets both numeric opinions
            assert r.fd_coords > 0 and r.dir_checked == DIRECTIONS, report.table()
        assert (r.fd_passed is None) == (r.fd_coords == 0) and (r.dir_passed is None) == (r.dir_checked == 0)


def test_float64_finite_differences_are_ten_times_better_than_their_tolerance(batch):
    """The fourth-order stencil is good to ~1e-9 here (a second-order one to ~1e-6, the tolerance)."""
    X, y = batch
    for activation in ("sigmoid", "tanh", "relu"):
        for loss in ("mse", "cross_entropy"):
            report = check_gradients(MLP([784, 20, 15, 10], activation, loss), X, y)
            assert all(r.fd_coords > 0 for r in report.rows), report.table()
            assert max(r.fd_max_rel for r in report.rows) <= 1e-7, report.table()


def test_small_networks_check_every_coordinate():
    rng = np.random.default_rng(1)
    model = MLP([5, 4, 3], "tanh", "cross_entropy")
    report = check_gradients(model, rng.uniform(-1, 1, (6, 5)), rng.integers(0, 3, 6))
    assert [r.fd_coords for r in report.rows] == [20, 4, 12, 3]


def test_relu_exactly_at_zero_follows_torch():
    """A unit whose pre-activation is exactly 0 for every example: torch's ReLU passes no gradient there."""
    model = MLP([3, 4, 2], "relu", "mse", seed=0)
    params = model.state_dict()
    params["0.weight"][1] = 0.0
    params["0.bias"][1] = 0.0
    X = np.array([[0.5, -1.0, 2.0], [1.0, 1.0, -1.0]])
    y = np.array([0, 1])
    grads = model.gradients(X, y)
    assert np.all(grads["0.weight"][1] == 0.0) and grads["0.bias"][1] == 0.0
    report = check_gradients(model, X, y)
    assert report.rows[0].autograd.passed and report.rows[1].autograd.passed, report.table()


def test_hand_worked_2_2_2_example():
    """Small enough for paper; every number below is exact in binary.

    x = [1, 2], label 1 (one-hot t = [0, 1]); W1 = [[2, -1], [-4, 2]], b1 = 0 -> z_h = [0, 0],
    a_h = [0.5, 0.5]; W2 = [[1, -1], [-2, 2]], b2 = 0 -> z_out = [0, 0], a_out = [0.5, 0.5].
    L = (0.5 - 0)^2 + (0.5 - 1)^2 = 0.5.
    dL/da_out = 2 (a_out - t) / 1 = [1, -1]; times sigma' = 0.25: delta_out = [0.25, -0.25].
    dW2 = delta_out.T @ a_h = [[0.125, 0.125], [-0.125, -0.125]]; db2 = [0.25, -0.25].
    delta_out @ W2 = [0.25 + 0.5, -0.25 - 0.5] = [0.75, -0.75]; times 0.25: delta_h = [0.1875, -0.1875].
    dW1 = delta_h.T @ x = [[0.1875, 0.375], [-0.1875, -0.375]]; db1 = [0.1875, -0.1875].
    """
    model = NeuralNetMLP(num_features=2, num_hidden=2, num_classes=2)
    model.weight_h[...] = [[2, -1], [-4, 2]]
    model.weight_out[...] = [[1, -1], [-2, 2]]
    X, y = np.array([[1.0, 2.0]]), np.array([1])
    a_h, a_out = model.forward(X)
    np.testing.assert_array_equal(a_h, [[0.5, 0.5]])
    np.testing.assert_array_equal(a_out, [[0.5, 0.5]])
    assert model.loss(X, y) == 0.5
    d_w_out, d_b_out, d_w_h, d_b_h = model.backward(X, a_h, a_out, y)
    np.testing.assert_array_equal(d_w_out, [[0.125, 0.125], [-0.125, -0.125]])
    np.testing.assert_array_equal(d_b_out, [0.25, -0.25])
    np.testing.assert_array_equal(d_w_h, [[0.1875, 0.375], [-0.1875, -0.375]])
    np.testing.assert_array_equal(d_b_h, [0.1875, -0.1875])
    mlp = MLP([2, 2, 2])
    mlp.load_state_dict(model.state_dict())
    np.testing.assert_array_equal(mlp.gradients(X, y)["0.weight"], d_w_h)
    report = check_gradients(model, X, y)  # and autograd agrees
    assert report.passed and max(r.max_abs_diff for r in report.rows) <= 1e-16, report.table()


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
@pytest.mark.parametrize("hidden", [[], [12], [12, 8, 6]])
def test_lockstep_every_step_every_architecture(activation, loss, hidden):
    rng = np.random.default_rng(2)
    X, y = rng.uniform(-1, 1, (40, 20)), rng.integers(0, 5, 40)
    twins = make_twins([20, *hidden, 5], activation, loss, seed=4, lr=0.5)
    batches = [rng.permutation(40)[:10] for _ in range(6)]
    for step, (loss_s, loss_t, w_s, w_t) in enumerate(lockstep_steps(twins, X, y, batches), 1):
        assert loss_s == pytest.approx(loss_t, rel=1e-12, abs=1e-15), f"step {step}"
        for name in w_s:
            np.testing.assert_allclose(w_s[name], w_t[name], rtol=1e-12, atol=1e-14, err_msg=f"step {step} {name}")


class LearnersMLP(MLP):
    """What a learner might write: a subclass that overrides gradients, wrong for one parameter."""

    def gradients(self, X, y):
        g = super().gradients(X, y)
        g["2.weight"] = g["2.weight"] * 1.5  # an arbitrary mistake in the output weights only
        return g


def test_a_learners_subclass_is_caught_and_the_wrong_parameter_named(batch):
    X, y = batch
    report = check_gradients(LearnersMLP([784, 50, 10]), X, y)
    assert not report.passed
    assert [r.name for r in report.rows if not r.passed] == ["2.weight"]
    assert report.diagnosis and all(f.params == ["2.weight"] for f in report.diagnosis)
    assert "2.weight" in report.diagnosis[0].message and "1.5" in report.diagnosis[0].message


def test_assert_gradients_match_raises_with_table_and_diagnosis(batch):
    X, y = batch
    assert_gradients_match(MLP([784, 50, 10]), X, y)  # a right model passes silently
    with pytest.raises(AssertionError, match=r"(?s)2\.weight.*FAIL.*diagnosis: .*1\.5"):
        assert_gradients_match(LearnersMLP([784, 50, 10]), X, y)


def test_the_10x_trap_fails_and_names_the_factor(batch):
    X, y = batch
    report = check_gradients(NeuralNetMLP(784, 50, 10), X, y, torch_loss="mse-mean")
    assert not report.passed
    kinds = {f.kind: f for f in report.diagnosis}
    assert set(kinds) == {"twin-differs", "loss-reduction"}
    assert kinds["loss-reduction"].factor == pytest.approx(10.0, rel=1e-12)
    assert "factor 10.0 = num_classes" in kinds["loss-reduction"].message
    assert all(r.fd_passed and r.dir_passed for r in report.rows)  # the manual side is right


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
    assert "verdict: passed, resting on fewer opinions" in table
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


def test_names_label_the_table_the_findings_and_the_json(mixed):
    X, y = mixed
    report = check_gradients(LearnersMLP([784, 50, 10]), X, y, names=BOOK_NAMES)
    table = report.table()
    assert [line.split()[0] for line in table.splitlines()[1:5]] == list(BOOK_NAMES.values())
    assert "2.weight" not in table and "weight_out" in report.diagnosis[0].message
    assert report.diagnosis[0].params == ["2.weight"]  # machine-readable: the state-dict key
    data = report.as_dict()
    assert [(p["name"], p["label"]) for p in data["params"]] == list(BOOK_NAMES.items())
    assert {p["label"] for p in data["probes"]} == {"weight_out"}
    plain = check_gradients(LearnersMLP([784, 50, 10]), X, y).as_dict()
    assert [p["label"] for p in plain["params"]] == list(BOOK_NAMES)  # without names, the key
