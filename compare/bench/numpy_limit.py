"""The leanest NumPy training epoch we know how to write: a second floor, above the BLAS floor.

The BLAS floor (``epochs.floor_epoch``) times the matrix products alone. A real step also applies
activations, forms the loss's delta, sums bias gradients and updates the weights: dozens of small
element-wise NumPy calls that no implementation can skip. ``lean_epoch`` does exactly the work of
``scratch.sgd_step`` for sigmoid hidden layers and the ``mse`` loss, but with every array allocated
once, no input checks, no dictionaries and nothing returned. What it costs above the BLAS floor is
what NumPy itself costs at these shapes on this machine; what ``scratch`` costs above *it* is the
price of the readable, checked, public ``MLP.gradients`` contract.

Not a training API: it exists so the benchmark can say how far from NumPy's own limit scratch is.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np


def _sigmoid_in_place(z: np.ndarray) -> None:
    # scratch.activations.sigmoid's operations in its order (so the same bits), minus its np.errstate
    np.negative(z, out=z)
    np.exp(z, out=z)
    z += 1
    np.divide(1, z, out=z)


def lean_epoch(model, batches: Sequence[tuple[np.ndarray, np.ndarray]], lr: float) -> Callable[[], None]:
    """A callable that trains ``model`` (a sigmoid/``mse`` ``scratch.MLP``) for one epoch on ``batches``
    ``[(X_b (B, D), y_b (B,)), ...]``, updating its live ``state_dict()`` arrays as ``sgd_step`` does."""
    if model.activation != "sigmoid" or model.loss_name != "mse":
        raise ValueError(f"lean_epoch covers the lesson's recipe (sigmoid, mse), got {model.activation}, {model.loss_name}")
    B = batches[0][0].shape[0]
    if any(Xb.shape[0] != B for Xb, _ in batches):
        raise ValueError("lean_epoch needs batches of one size (its buffers are allocated once)")
    dtype = model.dtype
    state = model.state_dict()
    layers = [(state[f"{2 * i}.weight"], state[f"{2 * i}.bias"]) for i in range(len(model.sizes) - 1)]
    outs = [np.empty((B, W.shape[0]), dtype) for W, _ in layers]       # activations a_1 .. a_L
    deltas = [np.empty_like(a) for a in outs]                          # dL/dz of every layer
    temps = [np.empty_like(a) for a in outs]                           # 1 - a
    dWs = [np.empty_like(W) for W, _ in layers]
    dbs = [np.empty_like(b) for _, b in layers]
    onehot = np.empty((B, model.num_classes), bool)
    classes = np.arange(model.num_classes)

    def run() -> None:
        for Xb, yb in batches:
            a = Xb
            for (W, b), z in zip(layers, outs):
                np.matmul(a, W.T, out=z)
                z += b
                _sigmoid_in_place(z)
                a = z
            # mse: dL/dz_out = 2 (a - onehot) / B * a (1 - a)
            delta = deltas[-1]
            np.equal(yb[:, None], classes, out=onehot)
            np.subtract(a, onehot, out=delta)
            delta *= 2.0 / B
            np.subtract(1, a, out=temps[-1])
            delta *= a
            delta *= temps[-1]
            for i in reversed(range(len(layers))):
                a_in = Xb if i == 0 else outs[i - 1]
                np.matmul(deltas[i].T, a_in, out=dWs[i])
                np.add.reduce(deltas[i], axis=0, out=dbs[i])
                if i > 0:
                    below = deltas[i - 1]
                    np.matmul(deltas[i], layers[i][0], out=below)
                    np.subtract(1, a_in, out=temps[i - 1])
                    below *= a_in
                    below *= temps[i - 1]
            for (W, b), dW, db in zip(layers, dWs, dbs):
                dW *= lr
                W -= dW
                db *= lr
                b -= db
    return run
