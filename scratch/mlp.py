"""A multi-layer perceptron of any depth in NumPy, with a hand-written, pure backward pass.

Parameters use PyTorch's layout and names so the twin ``nn.Sequential`` can load them as they are:
``"0.weight"`` (H1, D), ``"0.bias"`` (H1,), ``"2.weight"`` (H2, H1), ... (the odd indices are the
activations, which hold no parameters). Weights are (out, in): ``z = a @ W.T + b``, no transposes
stored anywhere.

Lesson: ``NeuralNetMLP`` in "Implementing a Multi-Layer NN" is this class for sizes [784, 50, 10].
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from . import losses
from .activations import ACTIVATIONS, DERIVATIVES

SUPPORTED_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _check_spec(sizes, activation, loss, dtype) -> tuple[tuple[int, ...], np.dtype]:
    try:
        sizes = tuple(sizes)
    except TypeError:
        raise ValueError(f"sizes must be a list of layer widths like [784, 50, 10], got {sizes!r}") from None
    if len(sizes) < 2:
        raise ValueError(f"sizes needs at least an input and an output width, like [784, 50, 10]; got {list(sizes)}")
    for s in sizes:
        if isinstance(s, (bool, np.bool_)) or not isinstance(s, (int, np.integer)) or s < 1:
            raise ValueError(f"every layer width must be an integer >= 1, got {list(sizes)}")
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
    if loss not in losses.VALUES:
        raise ValueError(f"loss must be one of {sorted(losses.VALUES)}, got {loss!r}")
    if loss != "mse" and sizes[-1] < 2:   # a softmax over one class is always 1
        raise ValueError(f"{loss} needs at least 2 output classes, got sizes {list(sizes)}")
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        raise ValueError(f"dtype must be float32 or float64, got {dtype!r}") from None
    if dtype not in SUPPORTED_DTYPES:
        raise ValueError(f"dtype must be float32 or float64, got {dtype}")
    return tuple(int(s) for s in sizes), dtype


class MLP:
    """Fully connected network ``sizes[0] -> ... -> sizes[-1]``.

    Parameters
    ----------
    sizes : sequence of int, ``[D, H1, ..., C]``
    activation : {"sigmoid", "tanh", "relu"}, used by every hidden layer
    loss : {"mse", "cross_entropy", "softmax_mse"}
        ``mse``: sigmoid outputs, squared error summed over classes, mean over examples (the lesson).
        ``cross_entropy``: logits, softmax + cross-entropy, mean over examples.
        ``softmax_mse``: softmax outputs, the lesson's squared error on them.
    seed : int
        ``np.random.RandomState(seed)`` draws ``normal(0, 0.1)`` for each weight matrix in layer
        order; biases start at zero. For [784, 50, 10] this reproduces the lesson's ``NeuralNetMLP``.
    dtype : float32 or float64
    """

    def __init__(self, sizes: Sequence[int], activation: str = "sigmoid", loss: str = "mse",
                 seed: int = 123, dtype=np.float64):
        self.sizes, self.dtype = _check_spec(sizes, activation, loss, dtype)
        self.activation = activation
        self.loss_name = loss
        self.num_classes = self.sizes[-1]
        rng = np.random.RandomState(seed)
        self._params: dict[str, np.ndarray] = {}
        for i, (n_in, n_out) in enumerate(zip(self.sizes[:-1], self.sizes[1:])):
            self._params[f"{2 * i}.weight"] = rng.normal(0.0, 0.1, size=(n_out, n_in)).astype(self.dtype)
            self._params[f"{2 * i}.bias"] = np.zeros(n_out, dtype=self.dtype)
        # The live arrays never change identity (updates and load_state_dict write into them), so the
        # per-layer view of them is built once instead of on every forward and backward pass.
        self._layer_list = [(self._params[f"{2 * i}.weight"], self._params[f"{2 * i}.bias"])
                            for i in range(len(self.sizes) - 1)]
        self._spare: dict[str, np.ndarray] = {}  # weight-gradient arrays handed back by recycle()

    # --- parameters ---------------------------------------------------------------------------

    def state_dict(self) -> dict[str, np.ndarray]:
        """The live parameter arrays (not copies, as torch's tensors share storage), in layer order."""
        return dict(self._params)

    def load_state_dict(self, state: dict) -> None:
        """Copy arrays with the same keys and shapes as ``state_dict()`` into the live parameters."""
        if set(state) != set(self._params):
            raise ValueError(f"state dict keys must be {list(self._params)}, got {list(state)}")
        for name, target in self._params.items():
            value = np.asarray(state[name])
            if value.shape != target.shape:
                raise ValueError(f"{name}: expected shape {target.shape}, got {value.shape}")
            target[...] = value

    def layers(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """``[(W (out, in), b (out,)), ...]`` in layer order: the live arrays, for code that walks the layers."""
        return list(self._layer_list)

    # --- validation at the public entry points -------------------------------------------------

    def _check_X(self, X) -> np.ndarray:
        X = np.asarray(X)
        if X.ndim != 2:
            raise ValueError(f"X must be 2-D (examples, {self.sizes[0]} features), got shape {X.shape}")
        if X.shape[1] != self.sizes[0]:
            raise ValueError(f"X must have {self.sizes[0]} features per row, got {X.shape[1]} (shape {X.shape})")
        if X.shape[0] == 0:
            raise ValueError("X holds no examples (shape (0, ...)); pass at least one row")
        if X.dtype.kind != "f":  # np.issubdtype(X.dtype, np.floating), 20x cheaper: this runs every step
            raise ValueError(f"X must hold floating-point values, got dtype {X.dtype}; scale pixels with "
                             "((X / 255) - 0.5) * 2 first")
        return X if X.dtype == self.dtype else X.astype(self.dtype)

    def _check_y(self, y, n: int) -> np.ndarray:
        y = np.asarray(y)
        if y.ndim != 1 or y.dtype.kind not in "iu":  # signed or unsigned integers
            raise ValueError(f"y must be a 1-D array of integer class labels, got shape {y.shape} dtype {y.dtype}")
        if y.shape[0] != n:
            raise ValueError(f"X and y must have the same length, got {n} rows in X and {y.shape[0]} labels")
        if y.min() < 0 or y.max() >= self.num_classes:
            raise ValueError(f"labels must lie in 0..{self.num_classes - 1}, got values from {y.min()} to {y.max()}")
        return y

    # --- forward and backward -----------------------------------------------------------------

    def forward_with_cache(self, X: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        """Forward pass that keeps what backward needs.

        Returns ``(out, activations)``: ``out`` (B, C) is the last layer's output (sigmoid outputs
        for ``mse``, logits for ``cross_entropy``, softmax probabilities for ``softmax_mse``);
        ``activations`` is ``[X, a1, ..., a_L]``, the input of every Linear layer.
        """
        X = self._check_X(X)
        layers = self._layer_list
        act = ACTIVATIONS[self.activation]
        activations = [X]
        a = X
        for W, b in layers[:-1]:
            z = a @ W.T                                      # (B, H_i)
            z += b
            if a is X:
                self._check_finite(z, X)
            a = act(z, out=z)                                # (B, H_i), in place: z is not needed again
            activations.append(a)
        W, b = layers[-1]
        z_out = a @ W.T                                      # (B, C)
        z_out += b
        if a is X:
            self._check_finite(z_out, X)
        return losses.OUTPUTS[self.loss_name](z_out, out=z_out), activations

    @staticmethod
    def _check_finite(z: np.ndarray, X: np.ndarray) -> None:
        # Any NaN or inf in X makes its row of the first product non-finite (inf * 0 is NaN), so the
        # small (B, H1) product is checked instead of X (B, D); X is scanned only to be sure of the blame.
        if not np.isfinite(z).all() and not np.isfinite(X).all():
            raise ValueError("X contains NaN or infinite values; clean or drop those rows first")

    def backward(self, out: np.ndarray, activations: list[np.ndarray], y: np.ndarray) -> dict[str, np.ndarray]:
        """Gradients of L for every parameter, from ``forward_with_cache``'s results. Pure: updates nothing.

        ``delta`` is dL/dz of the current layer, (B, out); for each Linear layer
        dL/dW = delta.T @ a_in (out, in), dL/db = sum of delta over the batch (out,), and
        dL/da_in = delta @ W (B, in), times the activation's derivative to step below.
        """
        layers = self._layer_list
        delta = losses.DELTAS[self.loss_name](out, y)        # (B, C)
        deriv = DERIVATIVES[self.activation]
        spare, self._spare = self._spare, {}                 # each recycled array is used at most once
        grads: dict[str, np.ndarray] = {}
        for i in reversed(range(len(layers))):
            W, _ = layers[i]
            a_in = activations[i]                            # (B, in)
            # delta.T @ a_in, written into a recycled array when the caller handed one back
            grads[f"{2 * i}.weight"] = np.matmul(delta.T, a_in, out=spare.pop(f"{2 * i}.weight", None))  # (out, in)
            grads[f"{2 * i}.bias"] = delta.sum(axis=0)       # (out,)
            if i > 0:
                delta = delta @ W                            # (B, in): dL/da_in, a fresh array...
                delta *= deriv(a_in)                         # ...so dL/dz_in is made in place
        return {name: grads[name] for name in self._params}

    def recycle(self, grads: dict[str, np.ndarray]) -> None:
        """Hand back gradient arrays you are done with: the next ``backward`` may write into them.

        Speed only; ``sgd_step`` does it once the update is applied. Depending on what the process
        allocated before, glibc may return a freed (H1, D) gradient to the operating system every
        step, so the next one starts on fresh pages: about 120 page faults per step for 784 -> 50,
        up to 1.6x on the whole epoch. Reusing the array makes the step independent of that.
        Pass only arrays that nothing reads any more: they will be overwritten.
        """
        for name, g in grads.items():
            if (name.endswith(".weight") and name in self._params and isinstance(g, np.ndarray)
                    and g.shape == self._params[name].shape and g.dtype == self.dtype
                    and g.flags.c_contiguous and g.flags.writeable
                    and not np.may_share_memory(g, self._params[name])):
                self._spare[name] = g

    # --- the public contract ------------------------------------------------------------------

    def forward(self, X: np.ndarray) -> np.ndarray:
        """Outputs (B, C): sigmoid outputs for ``mse``, softmax probabilities otherwise."""
        out, _ = self.forward_with_cache(X)
        return losses.PROBABILITIES[self.loss_name](out)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predicted class labels (B,)."""
        return self.forward(X).argmax(axis=1)

    def loss(self, X: np.ndarray, y: np.ndarray) -> float:
        """The differentiated loss L on (X, y), a float."""
        out, _ = self.forward_with_cache(X)
        return losses.VALUES[self.loss_name](out, self._check_y(y, out.shape[0]))

    def gradients(self, X: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
        """dL/dparam for every parameter, same keys and shapes as ``state_dict()``. Never updates."""
        out, activations = self.forward_with_cache(X)
        return self.backward(out, activations, self._check_y(y, out.shape[0]))

    def loss_and_gradients(self, X: np.ndarray, y: np.ndarray) -> tuple[float, dict[str, np.ndarray]]:
        """``(loss(X, y), gradients(X, y))`` from one forward pass: what a training step needs."""
        out, activations = self.forward_with_cache(X)
        y = self._check_y(y, out.shape[0])
        return losses.VALUES[self.loss_name](out, y), self.backward(out, activations, y)

    def __repr__(self) -> str:
        return (f"MLP(sizes={list(self.sizes)}, activation={self.activation!r}, "
                f"loss={self.loss_name!r}, dtype={self.dtype.name})")
