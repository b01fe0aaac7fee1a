"""Manual backprop against autograd (float64: a few ulps, far inside the 1e-10 tolerance) and against
finite differences."""

import numpy as np
import pytest

from compare import check_gradients
from compare.gradcheck.check import autograd_gradients
from scratch import MLP, NeuralNetMLP


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
@pytest.mark.parametrize("loss", ["mse", "cross_entropy", "softmax_mse"])
@pytest.mark.parametrize("hidden", [[50], [20, 15], []])
def test_manual_backprop_matches_autograd_float64(activation, loss, hidden, batch):
    X, y = batch
    model = MLP([784, *hidden, 10], activation, loss, seed=7)
    report = check_gradients(model, X, y)
    assert report.passed, report.table()
    assert [r.name for r in report.rows] == list(model.state_dict())
    for row in report.rows:  # the same sums in another order: rounding only (measured ~1e-15)
        assert row.max_rel_diff <= 1e-13, report.table()
        assert row.cosine == pytest.approx(1.0, abs=1e-12)
    assert report.loss_manual == pytest.approx(report.loss_autograd, rel=1e-12)


def test_lesson_network_matches_autograd(batch):
    X, y = batch
    report = check_gradients(NeuralNetMLP(784, 50, 10), X, y)
    assert report.passed, report.table()
    assert max(r.max_rel_diff for r in report.rows) <= 1e-13, report.table()  # rounding only


def test_batch_of_one(batch):
    X, y = batch
    report = check_gradients(MLP([784, 50, 10]), X[:1], y[:1])
    assert report.passed, report.table()


def test_float32_model_is_checked_against_float32_autograd(batch):
    X, y = batch
    model = MLP([784, 50, 10], dtype=np.float32)
    report = check_gradients(model, X.astype(np.float32), y)
    assert report.dtype == "float32"
    assert report.passed, report.table()
    _, auto = autograd_gradients(model, X, y)
    assert all(g.dtype == np.float32 for g in auto.values())


@pytest.mark.parametrize("loss", ["mse", "cross_entropy", "softmax_mse"])
def test_manual_backprop_matches_central_finite_differences(loss):
    rng = np.random.default_rng(3)
    X, y = rng.uniform(-1, 1, size=(5, 6)), rng.integers(0, 3, size=5)
    model = MLP([6, 4, 3], "tanh", loss, seed=1)
    grads = model.gradients(X, y)
    eps = 1e-6
    for name, param in model.state_dict().items():
        numeric = np.zeros_like(param)
        for i in np.ndindex(param.shape):
            old = param[i]
            param[i] = old + eps
            up = model.loss(X, y)
            param[i] = old - eps
            down = model.loss(X, y)
            param[i] = old
            numeric[i] = (up - down) / (2 * eps)
        np.testing.assert_allclose(grads[name], numeric, rtol=1e-6, atol=1e-9, err_msg=name)


def test_a_wrong_gradient_fails_the_check(batch):
    X, y = batch

    class HalfGradient(MLP):
        def gradients(self, X, y):
            g = super().gradients(X, y)
            g["0.bias"] = g["0.bias"] / 2
            return g

    report = check_gradients(HalfGradient([784, 50, 10]), X, y)
    assert not report.passed
    assert [r.name for r in report.rows if not r.passed] == ["0.bias"]


def test_gradients_are_pure(batch):
    X, y = batch
    model = MLP([784, 50, 10])
    before = {k: v.copy() for k, v in model.state_dict().items()}
    model.gradients(X, y)
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, before[k])


def test_mse_mean_twin_has_gradients_exactly_num_classes_smaller(batch):
    X, y = batch
    model = MLP([784, 50, 10])
    manual = model.gradients(X, y)
    _, auto = autograd_gradients(model, X, y, torch_loss="mse-mean")
    for name, g in manual.items():
        np.testing.assert_allclose(g, 10 * auto[name], rtol=1e-10, atol=1e-18)
    report = check_gradients(model, X, y, torch_loss="mse-mean")
    assert not report.passed
