"""A catalogue of bad inputs, each with the exact one-line message it gets."""

import re

import numpy as np
import pytest

from compare.config import RunConfig
from compare.data.load import load_dataset, stratified_indices
from compare.data.schedule import BatchSchedule
from scratch import MLP

X_OK = np.zeros((4, 3))
Y_OK = np.array([0, 1, 1, 0])


def mlp(**kw):
    return MLP(**{"sizes": [3, 2, 2], **kw})


CASES = [
    # MLP construction
    (lambda: MLP([784]), "sizes needs at least an input and an output width, like [784, 50, 10]; got [784]"),
    (lambda: MLP(784), "sizes must be a list of layer widths like [784, 50, 10], got 784"),
    (lambda: MLP([784, 0, 10]), "every layer width must be an integer >= 1, got [784, 0, 10]"),
    (lambda: MLP([784, 2.5, 10]), "every layer width must be an integer >= 1, got [784, 2.5, 10]"),
    (lambda: mlp(activation="softplus"), "activation must be one of ['relu', 'sigmoid', 'tanh'], got 'softplus'"),
    (lambda: mlp(loss="hinge"), "loss must be one of ['cross_entropy', 'mse', 'softmax_mse'], got 'hinge'"),
    (lambda: mlp(dtype=np.float16), "dtype must be float32 or float64, got float16"),
    (lambda: mlp(dtype="int64"), "dtype must be float32 or float64, got int64"),
    (lambda: MLP([3, 1], loss="cross_entropy"), "cross_entropy needs at least 2 output classes, got sizes [3, 1]"),
    # forward / loss / gradients inputs
    (lambda: mlp().forward(np.zeros(3)), "X must be 2-D (examples, 3 features), got shape (3,)"),
    (lambda: mlp().forward(np.zeros((4, 5))), "X must have 3 features per row, got 5 (shape (4, 5))"),
    (lambda: mlp().forward(np.zeros((0, 3))), "X holds no examples (shape (0, ...)); pass at least one row"),
    (lambda: mlp().forward(np.zeros((4, 3), dtype=np.uint8)),
     "X must hold floating-point values, got dtype uint8; scale pixels with ((X / 255) - 0.5) * 2 first"),
    (lambda: mlp().forward(np.array([[0.0, np.nan, 1.0]])), "X contains NaN or infinite values; clean or drop those rows first"),
    (lambda: mlp().gradients(np.array([[0.0, np.inf, 1.0]]), np.array([0])),
     "X contains NaN or infinite values; clean or drop those rows first"),
    (lambda: mlp().loss(X_OK, Y_OK[:3]), "X and y must have the same length, got 4 rows in X and 3 labels"),
    (lambda: mlp().loss(X_OK, Y_OK.astype(float)), "y must be a 1-D array of integer class labels, got shape (4,) dtype float64"),
    (lambda: mlp().gradients(X_OK, np.array([0, 1, 2, 0])), "labels must lie in 0..1, got values from 0 to 2"),
    (lambda: mlp().gradients(X_OK, np.array([0, -1, 1, 0])), "labels must lie in 0..1, got values from -1 to 1"),
    (lambda: mlp().load_state_dict({"0.weight": np.zeros((2, 3))}),
     "state dict keys must be ['0.weight', '0.bias', '2.weight', '2.bias'], got ['0.weight']"),
    (lambda: mlp().load_state_dict({**mlp().state_dict(), "0.weight": np.zeros((3, 2))}),
     "0.weight: expected shape (2, 3), got (3, 2)"),
    # training settings
    (lambda: RunConfig(epochs=0), "epochs must be >= 1, got 0"),
    (lambda: RunConfig(batch_size=0), "batch size must be >= 1, got 0"),
    (lambda: RunConfig(lr=float("nan")), "learning rate must be a finite number > 0, got nan"),
    (lambda: RunConfig(lr=-0.1), "learning rate must be a finite number > 0, got -0.1"),
    (lambda: RunConfig(lr=float("inf")), "learning rate must be a finite number > 0, got inf"),
    (lambda: RunConfig(hidden=(50, 0)), "hidden widths must be integers >= 1, like 50 or 50,30; got [50, 0]"),
    (lambda: RunConfig(dtype="float16"), "dtype must be float32 or float64, got 'float16'"),
    (lambda: RunConfig(dataset="cifar10"), "dataset must be one of mnist-5k, mnist, fashion-mnist, got 'cifar10'"),
    (lambda: RunConfig(threads=-1), "threads must be >= 0 (0 means all cores), got -1"),
    (lambda: BatchSchedule(3500, 3501, seed=1), "batch size must be between 1 and the training-set size 3500, got 3501"),
    # splits
    (lambda: load_dataset("mnist-5k", valid_size=4000),
     "valid size must be between 1 and 3999 (the training file has 4000 examples), got 4000"),
    (lambda: stratified_indices(np.repeat([0, 1], [50, 2]), 40, np.random.default_rng(0)),
     "cannot draw 40 of 52 examples stratified: class 1 has only 2 examples; use a smaller split size"),
]


@pytest.mark.parametrize("make, message", CASES, ids=[m[:50] for _, m in CASES])
def test_bad_input_gets_its_exact_message(make, message):
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        make()
