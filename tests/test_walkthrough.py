"""The lesson's PyTorch column runs as shown: torch_impl/walkthrough.py, cell by cell in one fresh
interpreter, given only the lesson's NumPy arrays, computes what the book's NumPy column computes."""

import ast

import numpy as np
import pytest

from compare.lesson.walkthrough import SCRIPT, book_batches, cells, run_walkthrough
from scratch.lesson import NeuralNetMLP, compute_mse_and_acc, train

EPOCHS, SEED = 2, 123


@pytest.fixture(scope="module")
def both(mnist5k):
    """The book's column trained with its own train(), and the script's results on the same arrays."""
    d = mnist5k
    model = NeuralNetMLP(784, 50, 10, random_seed=SEED)
    inputs = {"X_train": d.X_train, "y_train": d.y_train.astype(np.int64), "X_valid": d.X_valid,
              "y_valid": d.y_valid.astype(np.int64), "X_test": d.X_test, "y_test": d.y_test.astype(np.int64),
              "weight_h": model.weight_h, "bias_h": model.bias_h, "weight_out": model.weight_out,
              "bias_out": model.bias_out, "learning_rate": np.array(0.1),
              "batches": book_batches(len(d.y_train), EPOCHS, SEED)}
    results = run_walkthrough(inputs)
    first = NeuralNetMLP(784, 50, 10, random_seed=SEED)
    train(model, d.X_train, d.y_train, d.X_valid, d.y_valid, EPOCHS, rng=np.random.default_rng(SEED), log=None)
    return first, model, results


def test_every_cell_shows_its_imports_and_the_script_needs_only_numpy_and_torch():
    found = cells()
    assert list(found)[:3] == ["load", "dtype", "model"] and "minibatches" in found and "evaluate" in found
    tree = ast.parse(SCRIPT.read_text())
    modules = {(n.module if isinstance(n, ast.ImportFrom) else a.name).split(".")[0]
               for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names}
    assert modules == {"sys", "numpy", "torch"}
    for key in ("dtype", "model", "init", "update", "minibatches", "evaluate", "misclassified"):
        assert "import torch" in found[key][1], key
    assert "TensorDataset" in found["load"][1] and "DataLoader(train_set, batch_sampler=" in found["minibatches"][1]
    assert ".double()" in found["model"][1] and "torch.no_grad()" in found["evaluate"][1]


def test_the_pytorch_column_computes_the_books_numbers(mnist5k, both):
    first, model, r = both
    X, y = mnist5k.X_train[:100], mnist5k.y_train[:100]
    a_h, a_out = first.forward(X)
    np.testing.assert_allclose(r["a_out"], a_out, rtol=0, atol=1e-15)
    grads = dict(zip(("2.weight", "2.bias", "0.weight", "0.bias"), first.backward(X, a_h, a_out, y)))
    for k, g in grads.items():
        np.testing.assert_allclose(r[f"grad {k}"], g, rtol=0, atol=1e-15, err_msg=k)
    stepped = {"0.weight": first.weight_h - 0.1 * grads["0.weight"], "0.bias": first.bias_h - 0.1 * grads["0.bias"],
               "2.weight": first.weight_out - 0.1 * grads["2.weight"], "2.bias": first.bias_out - 0.1 * grads["2.bias"]}
    for k, w in stepped.items():   # the update cell: zero_grad, backward, step is the book's four lines
        np.testing.assert_allclose(r[f"one step {k}"], w, rtol=0, atol=1e-15, err_msg=k)
    trained = {"0.weight": model.weight_h, "0.bias": model.bias_h, "2.weight": model.weight_out,
               "2.bias": model.bias_out}
    for k, w in trained.items():   # two epochs of the book's train() beside the DataLoader loop
        np.testing.assert_allclose(r[f"trained {k}"], w, rtol=0, atol=1e-13, err_msg=k)
    mse, acc = compute_mse_and_acc(model, mnist5k.X_valid, mnist5k.y_valid)
    assert float(r["valid_acc"]) == acc and float(r["valid_mse"]) == pytest.approx(mse, rel=1e-12)
    assert np.array_equal(r["test_pred"], model.forward(mnist5k.X_test)[1].argmax(axis=1))
    assert len(r["losses"]) == EPOCHS * 35
    assert str(r["printed"]).startswith("torch.float64 torch.float32\nmat1 and mat2 must have the same dtype")
