"""Losses on integer labels, each paired with its fused gradient w.r.t. the output pre-activation.

``mse``: sigmoid output layer; L = mean over examples of the squared error *summed over classes*.
This is the L whose gradient the lesson's backward computes, ``d L / d a_out = 2 (a_out - onehot) / n``.
The MSE the lesson *prints* (``mse_loss``, a mean over n x C elements) is C times smaller: see
``printed_mse`` and the "10x trap" in the README.

``cross_entropy``: linear output layer (logits); softmax + cross-entropy, mean over examples.
The gradient w.r.t. the logits is fused, ``(softmax(z) - onehot) / n``, which is stable for any z.

``softmax_mse``: softmax output layer; the lesson's squared error on its probabilities. What a learner
builds who swaps the lesson's sigmoid for a softmax and keeps the loss: its delta needs the softmax's
Jacobian, ``a * (g - sum(a * g))`` with ``g = 2 (a - onehot) / n``, not ``g`` alone.

Lesson: ``mse_loss`` and ``NeuralNetMLP.backward`` in "Implementing a Multi-Layer NN".
"""

from __future__ import annotations

import numpy as np

from .activations import sigmoid


def onehot(y: np.ndarray, num_classes: int, dtype=np.float64) -> np.ndarray:
    """Integer labels ``y`` (n,) to a one-hot matrix (n, num_classes), vectorised."""
    out = np.zeros((y.shape[0], num_classes), dtype=dtype)
    out[np.arange(y.shape[0]), y] = 1
    return out


def softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise softmax of logits z (n, C), max-shifted so exp never overflows."""
    e = np.exp(z - z.max(axis=1, keepdims=True))
    e /= e.sum(axis=1, keepdims=True)
    return e


def log_softmax(z: np.ndarray) -> np.ndarray:
    shifted = z - z.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


# --- mse: sigmoid outputs, squared error summed over classes, mean over examples ---------------

def mse_output(z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Sigmoid outputs; ``out`` (may be ``z`` itself) receives them, as for the activations."""
    return sigmoid(z, out=out)


def mse_value(out: np.ndarray, y: np.ndarray) -> float:
    """L = sum((out - onehot)**2) / n for outputs ``out`` (n, C) in [0, 1] (sigmoid or softmax)."""
    diff = out - onehot(y, out.shape[1], out.dtype)
    return float(np.einsum("ij,ij->", diff, diff) / out.shape[0])


def mse_delta(out: np.ndarray, y: np.ndarray) -> np.ndarray:
    """d L / d z_out (n, C) = 2 (a_out - onehot) / n * a_out (1 - a_out)."""
    n = out.shape[0]
    delta = out.copy()
    delta[np.arange(n), y] -= 1
    delta *= (2.0 / n) * out * (1 - out)
    return delta


# --- cross_entropy: logits, softmax + cross-entropy, mean over examples -------------------------

def ce_output(z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """The network's raw outputs are logits: the last layer has no activation."""
    if out is None or out is z:
        return z
    np.copyto(out, z)
    return out


def ce_value(logits: np.ndarray, y: np.ndarray) -> float:
    """L = -mean(log softmax(logits)[i, y_i]), computed with log-sum-exp (stable)."""
    n = logits.shape[0]
    return float(-log_softmax(logits)[np.arange(n), y].mean())


def ce_delta(logits: np.ndarray, y: np.ndarray) -> np.ndarray:
    """d L / d logits (n, C) = (softmax(logits) - onehot) / n: the fused, stable form."""
    n = logits.shape[0]
    delta = softmax(logits)
    delta[np.arange(n), y] -= 1
    delta /= n
    return delta


def ce_probabilities(logits: np.ndarray) -> np.ndarray:
    return softmax(logits)


# --- softmax_mse: softmax outputs, squared error summed over classes, mean over examples -------

def softmax_output(z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Softmax probabilities; ``out`` (may be ``z`` itself) receives them."""
    probabilities = softmax(z)
    if out is None:
        return probabilities
    np.copyto(out, probabilities)
    return out


def softmax_mse_delta(out: np.ndarray, y: np.ndarray) -> np.ndarray:
    """d L / d z_out (n, C): the softmax's Jacobian applied to g = d L / d a_out = 2 (a_out - onehot) / n.

    d a_i / d z_j = a_i (delta_ij - a_j), so (J.T g)_j = a_j (g_j - sum_i a_i g_i): one row at a time, no (C, C).
    """
    n = out.shape[0]
    g = out.copy()
    g[np.arange(n), y] -= 1
    g *= 2.0 / n
    g -= np.einsum("ij,ij->i", out, g)[:, None]
    g *= out
    return g


# Paired registries with the same keys (the loss names): how the last layer turns z into outputs, the loss value
# from those outputs, the fused gradient w.r.t. z_out, and the class probabilities for reporting.
OUTPUTS = {"mse": mse_output, "cross_entropy": ce_output, "softmax_mse": softmax_output}
VALUES = {"mse": mse_value, "cross_entropy": ce_value, "softmax_mse": mse_value}
DELTAS = {"mse": mse_delta, "cross_entropy": ce_delta, "softmax_mse": softmax_mse_delta}
PROBABILITIES = {"mse": lambda out: out, "cross_entropy": ce_probabilities, "softmax_mse": lambda out: out}
assert OUTPUTS.keys() == VALUES.keys() == DELTAS.keys() == PROBABILITIES.keys()


def printed_mse(probas: np.ndarray, y: np.ndarray) -> float:
    """The lesson's printed MSE: mean over all n x C elements of (onehot - probas)**2."""
    diff = probas - onehot(y, probas.shape[1], probas.dtype)
    return float(np.einsum("ij,ij->", diff, diff) / diff.size)
