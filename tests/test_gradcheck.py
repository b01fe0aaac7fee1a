"""Three opinions on every architecture, ReLU's kink, a hand-worked example, and learners' own code.
(Blame, "not checked" and the findings of a failing check: tests/test_gradcheck_verdicts.py.)"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compare import assert_gradients_match, check_gradients
from compare.gradcheck.finite_differences import DIRECTIONS
from compare.twins.lockstep import lockstep_steps, make_twins
from scratch import MLP, NeuralNetMLP


@st.composite
def networks(draw):
    hidden = draw(st.lists(st.integers(1, 64), min_size=0, max_size=3))  # 1 to 4 Linear layers
    n_in, n_classes = draw(st.integers(1, 64)), draw(st.integers(2, 10))
    return dict(sizes=[n_in, *hidden, n_classes], activation=draw(st.sampled_from(["sigmoid", "tanh", "relu"])),
                loss=draw(st.sampled_from(["mse", "cross_entropy", "softmax_mse"])), dtype=draw(st.sampled_from(["float64", "float32"])),
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
        for loss in ("mse", "cross_entropy", "softmax_mse"):
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
@pytest.mark.parametrize("loss", ["mse", "cross_entropy", "softmax_mse"])
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
