"""Training the scratch MLP the way the lesson does: forward, backward, update with the learning rate.

Lesson: ``train`` and ``compute_mse_and_acc`` in "Implementing a Multi-Layer NN". Unlike the book,
evaluation here never shuffles, so it cannot shift the training batches that follow it.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from . import losses

EVAL_CHUNK = 10_000  # rows per forward pass when evaluating: bounds memory, keeps BLAS calls large


def sgd_step(model, X: np.ndarray, y: np.ndarray, learning_rate: float) -> float:
    """One mini-batch step: gradients from the pure backward, then ``param -= lr * grad`` in place.

    Returns the batch loss L before the update, from the output the step's own forward pass made.
    """
    params = model.state_dict()
    loss, grads = model.loss_and_gradients(X, y)
    for name, grad in grads.items():
        grad *= learning_rate
        params[name] -= grad
    if hasattr(model, "recycle"):  # speed only: the next step may write its gradients into these arrays
        model.recycle(grads)
    return loss


def train_epoch(model, batches: Iterable[tuple[np.ndarray, np.ndarray]], learning_rate: float) -> list[float]:
    """One pass over ``batches``, an iterable of ``(X_batch (B, D), y_batch (B,))``.

    Returns each step's loss L, taken before its update.
    """
    return [sgd_step(model, X_batch, y_batch, learning_rate) for X_batch, y_batch in batches]


def evaluate(model, X: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """Loss L, the lesson's printed MSE and the accuracy on (X, y), in order, no shuffling."""
    outs = [model.forward_with_cache(X[i:i + EVAL_CHUNK])[0] for i in range(0, X.shape[0], EVAL_CHUNK)]
    out = np.concatenate(outs)                                    # (n, C)
    probas = losses.PROBABILITIES[model.loss_name](out)
    return {
        "loss": losses.VALUES[model.loss_name](out, y),
        "mse": losses.printed_mse(probas, y),
        "acc": float(np.mean(probas.argmax(axis=1) == y)),
    }


def history_row(epoch: int, model, X_train, y_train, X_valid, y_valid) -> dict:
    """One epoch's entry: loss L and printed MSE on the training set, train and validation accuracy."""
    train = evaluate(model, X_train, y_train)
    valid = evaluate(model, X_valid, y_valid)
    return {"epoch": epoch, "loss": train["loss"], "mse": train["mse"],
            "train_acc": train["acc"], "valid_acc": valid["acc"]}

