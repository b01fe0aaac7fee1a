"""The lesson's own code: names, initialisation, helpers, and its backward against the general MLP."""

import math
import warnings

import numpy as np
import pytest

from scratch import MLP, NeuralNetMLP, int_to_onehot, minibatch_generator, mse_loss, sigmoid


@pytest.mark.parametrize("seed", [123, 5])
def test_initial_weights_are_the_books(seed):
    model = NeuralNetMLP(num_features=784, num_hidden=50, num_classes=10, random_seed=seed)
    rng = np.random.RandomState(seed)
    np.testing.assert_array_equal(model.weight_h, rng.normal(0.0, 0.1, size=(50, 784)))
    np.testing.assert_array_equal(model.weight_out, rng.normal(0.0, 0.1, size=(10, 50)))
    np.testing.assert_array_equal(model.bias_h, np.zeros(50))
    np.testing.assert_array_equal(model.bias_out, np.zeros(10))


@pytest.mark.parametrize("seed", [123, 5])
def test_mlp_initialises_exactly_like_the_lesson(seed):
    lesson, mlp = NeuralNetMLP(784, 50, 10, random_seed=seed), MLP([784, 50, 10], seed=seed)
    assert list(mlp.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    for name, value in lesson.state_dict().items():
        np.testing.assert_array_equal(mlp.state_dict()[name], value)


def test_state_dict_holds_the_live_arrays():
    model = MLP([4, 3, 2])
    model.state_dict()["0.weight"][0, 0] = 42.0
    assert model.state_dict()["0.weight"][0, 0] == 42.0
    lesson = NeuralNetMLP(4, 3, 2)
    lesson.state_dict()["2.bias"][1] = 7.0
    assert lesson.bias_out[1] == 7.0


def test_int_to_onehot():
    got = int_to_onehot(np.array([0, 2, 1, 2]), num_labels=3)
    np.testing.assert_array_equal(got, [[1, 0, 0], [0, 0, 1], [0, 1, 0], [0, 0, 1]])
    assert got.dtype == np.float64


def test_sigmoid_is_exact_at_the_extremes_and_leaves_the_error_state_alone():
    """exp(-z) overflows below z = -709; the answer there, exactly 0, is the correctly rounded one, so
    sigmoid silences that one warning inside itself, and the caller's floating-point settings are untouched."""
    z = np.array([-1000.0, -710.0, -708.0, -30.0, -1.0, 0.0, 1.0, 30.0, 40.0, 1000.0])
    before = np.geterr()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a RuntimeWarning escaping sigmoid fails the test
        got = sigmoid(z)
    assert np.geterr() == before
    expected = [0.0 if v < -709 else 1 / (1 + math.exp(-v)) for v in z]
    np.testing.assert_allclose(got, expected, rtol=1e-15, atol=0)
    assert got[0] == got[1] == 0.0 and got[5] == 0.5 and got[-1] == 1.0


@pytest.mark.parametrize("n, size", [(10, 3), (12, 4), (5, 5), (5, 1), (7, 10)])
def test_minibatch_generator_yields_each_index_once_and_drops_only_the_tail(n, size):
    X = np.arange(n)[:, None].astype(float)
    y = np.arange(n)
    batches = list(minibatch_generator(X, y, size, rng=np.random.default_rng(0)))
    assert len(batches) == n // size
    assert all(len(xb) == size and len(yb) == size for xb, yb in batches)
    seen = np.concatenate([yb for _, yb in batches]) if batches else np.array([], int)
    assert len(np.unique(seen)) == len(seen) == (n // size) * size
    for xb, yb in batches:  # X and y rows stay paired
        np.testing.assert_array_equal(xb[:, 0], yb)


def test_minibatch_generator_without_rng_uses_the_global_rng_like_the_book():
    X, y = np.zeros((6, 1)), np.arange(6)
    np.random.seed(1)
    book = np.arange(6)
    np.random.shuffle(book)  # the book's two lines
    after = np.random.random()
    np.random.seed(1)
    got = [yb for _, yb in minibatch_generator(X, y, 2)]
    np.testing.assert_array_equal(np.concatenate(got), book)
    assert np.random.random() == after  # it drew from the global RNG, which is what moves later shuffles


def test_printed_mse_is_num_classes_times_smaller_than_the_differentiated_loss(batch):
    X, y = batch
    model = NeuralNetMLP(784, 50, 10)
    _, a_out = model.forward(X)
    L = ((a_out - np.eye(10)[y]) ** 2).sum(axis=1).mean()  # squared error summed over classes, mean over examples
    assert mse_loss(y, a_out) == pytest.approx(L / 10, rel=1e-14)
    assert model.loss(X, y) == pytest.approx(L, rel=1e-14)
    assert MLP([784, 50, 10]).loss(X, y) == pytest.approx(L, rel=1e-14)


def test_lesson_backward_equals_the_general_mlp(batch):
    X, y = batch
    lesson, mlp = NeuralNetMLP(784, 50, 10), MLP([784, 50, 10])
    a_h, a_out = lesson.forward(X)
    d_w_out, d_b_out, d_w_h, d_b_h = lesson.backward(X, a_h, a_out, y)
    g = mlp.gradients(X, y)
    for got, name in [(d_w_h, "0.weight"), (d_b_h, "0.bias"), (d_w_out, "2.weight"), (d_b_out, "2.bias")]:
        np.testing.assert_allclose(got, g[name], rtol=1e-12, atol=1e-17)


def test_the_books_train_loop_is_sgd_step_and_its_evaluation_leaves_the_shuffle_alone(mnist5k):
    from scratch.lesson import compute_mse_and_acc, train
    from scratch.train import sgd_step

    X, y = mnist5k.X_train[:1000], mnist5k.y_train[:1000]
    book, mine = NeuralNetMLP(784, 50, 10), NeuralNetMLP(784, 50, 10)
    lines: list[str] = []
    loss, train_acc, valid_acc = train(book, X, y, mnist5k.X_valid, mnist5k.y_valid, 2,
                                       rng=np.random.default_rng(7), log=lines.append)
    rng = np.random.default_rng(7)   # the same shuffles: evaluating between epochs consumed none of them
    for _ in range(2):
        for Xb, yb in minibatch_generator(X, y, 100, rng):
            sgd_step(mine, Xb, yb, 0.1)
    for name in ("weight_h", "bias_h", "weight_out", "bias_out"):
        np.testing.assert_allclose(getattr(book, name), getattr(mine, name), rtol=0, atol=1e-15, err_msg=name)
    mse, acc = compute_mse_and_acc(book, mnist5k.X_valid, mnist5k.y_valid)
    assert acc * 100 == pytest.approx(valid_acc[-1])
    assert mse == pytest.approx(mse_loss(mnist5k.y_valid, book.forward(mnist5k.X_valid)[1]))   # n = 500: every batch
    assert len(lines) == 2 and lines[1].startswith("Epoch: 002/002 | Train MSE: ")
    assert loss[1] < loss[0] and train_acc[1] > train_acc[0]
