"""Mutants in a deeper network written in the lesson's style: two hidden layers, one backward copied
out whole per mutant with one line wrong (marked ``# BUG``). Independent of ``compare.gradcheck.mistakes``.

``DeepBookNet`` itself is right (the gallery checks that it passes), so a mutant fails because of its
``# BUG`` line and nothing else.

Lesson: ``NeuralNetMLP`` with a second hidden layer, as the book's exercises suggest.
"""

from __future__ import annotations

import numpy as np

from scratch.activations import sigmoid
from scratch.lesson import int_to_onehot

DEEP_NAMES = {"0.weight": "weight_h1", "0.bias": "bias_h1", "2.weight": "weight_h2", "2.bias": "bias_h2",
              "4.weight": "weight_out", "4.bias": "bias_out"}


class DeepBookNet:
    """784 -> H1 -> H2 -> 10, hidden ``activation`` (sigmoid or tanh), sigmoid outputs, the lesson's loss."""
    names = DEEP_NAMES
    hidden, activation = (16, 12), "sigmoid"
    loss_name, dtype = "mse", np.dtype(np.float64)

    def __init__(self, random_seed: int = 123):
        self.sizes = (784, *self.hidden, 10)
        self.num_classes = 10
        rng = np.random.RandomState(random_seed)
        d, h1, h2, c = self.sizes
        self.weight_h1, self.bias_h1 = rng.normal(0.0, 0.1, size=(h1, d)), np.zeros(h1)
        self.weight_h2, self.bias_h2 = rng.normal(0.0, 0.1, size=(h2, h1)), np.zeros(h2)
        self.weight_out, self.bias_out = rng.normal(0.0, 0.1, size=(c, h2)), np.zeros(c)

    @classmethod
    def create(cls, seed: int = 123) -> DeepBookNet:
        return cls(random_seed=seed)

    def act(self, z):
        return sigmoid(z) if self.activation == "sigmoid" else np.tanh(z)

    def d_act(self, a):
        """d a / d z written from a: a (1 - a) for sigmoid, 1 - a**2 for tanh."""
        return a * (1. - a) if self.activation == "sigmoid" else 1. - a ** 2

    def forward(self, x) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        a_h1 = self.act(np.dot(x, self.weight_h1.T) + self.bias_h1)            # [n, H1]
        a_h2 = self.act(np.dot(a_h1, self.weight_h2.T) + self.bias_h2)         # [n, H2]
        a_out = sigmoid(np.dot(a_h2, self.weight_out.T) + self.bias_out)       # [n, C]
        return a_h1, a_h2, a_out

    def backward(self, x, a_h1, a_h2, a_out, y):
        delta_out = 2. * (a_out - int_to_onehot(y, self.num_classes)) / y.shape[0] * a_out * (1. - a_out)
        delta_h2 = np.dot(delta_out, self.weight_out) * self.d_act(a_h2)       # [n, H2]
        delta_h1 = np.dot(delta_h2, self.weight_h2) * self.d_act(a_h1)         # [n, H1]
        return (np.dot(delta_out.T, a_h2), np.sum(delta_out, axis=0), np.dot(delta_h2.T, a_h1),
                np.sum(delta_h2, axis=0), np.dot(delta_h1.T, x), np.sum(delta_h1, axis=0))

    # --- the gradient part of the MLP contract, in torch's names --------------------------------

    def state_dict(self) -> dict[str, np.ndarray]:
        return {"0.weight": self.weight_h1, "0.bias": self.bias_h1, "2.weight": self.weight_h2,
                "2.bias": self.bias_h2, "4.weight": self.weight_out, "4.bias": self.bias_out}

    def loss(self, X, y) -> float:
        return float(np.sum((self.forward(X)[-1] - int_to_onehot(y, self.num_classes)) ** 2) / len(y))

    def gradients(self, X, y) -> dict[str, np.ndarray]:
        d_w_out, d_b_out, d_w_h2, d_b_h2, d_w_h1, d_b_h1 = self.backward(X, *self.forward(X), y)
        return {"0.weight": d_w_h1, "0.bias": d_b_h1, "2.weight": d_w_h2, "2.bias": d_b_h2,
                "4.weight": d_w_out, "4.bias": d_b_out}


class DeepHidden1TanhDerivativeAtActivation(DeepBookNet):
    """tanh net that applies tanh again inside the first hidden layer's derivative (the second is right)."""
    expected, enters_at = "derivative-at-output", 0
    correct = "delta_h1 = np.dot(delta_h2, self.weight_h2) * (1. - a_h1 ** 2)"
    activation = "tanh"

    def backward(self, x, a_h1, a_h2, a_out, y):
        delta_out = 2. * (a_out - int_to_onehot(y, self.num_classes)) / y.shape[0] * a_out * (1. - a_out)
        delta_h2 = np.dot(delta_out, self.weight_out) * (1. - a_h2 ** 2)
        delta_h1 = np.dot(delta_h2, self.weight_h2) * (1. - np.tanh(a_h1) ** 2)  # BUG: a_h1 is tanh(z) already
        return (np.dot(delta_out.T, a_h2), np.sum(delta_out, axis=0), np.dot(delta_h2.T, a_h1),
                np.sum(delta_h2, axis=0), np.dot(delta_h1.T, x), np.sum(delta_h1, axis=0))


class DeepHidden2DerivativeMissing(DeepBookNet):
    """Leaves the sigmoid derivative out of layer 2 of 3 (the last hidden layer); layer 1 keeps it."""
    expected, enters_at = "missing-activation-derivative", 1
    correct = "delta_h2 = np.dot(delta_out, self.weight_out) * a_h2 * (1. - a_h2)"

    def backward(self, x, a_h1, a_h2, a_out, y):
        delta_out = 2. * (a_out - int_to_onehot(y, self.num_classes)) / y.shape[0] * a_out * (1. - a_out)
        delta_h2 = np.dot(delta_out, self.weight_out)  # BUG: times a_h2 * (1. - a_h2) is missing
        delta_h1 = np.dot(delta_h2, self.weight_h2) * a_h1 * (1. - a_h1)
        return (np.dot(delta_out.T, a_h2), np.sum(delta_out, axis=0), np.dot(delta_h2.T, a_h1),
                np.sum(delta_h2, axis=0), np.dot(delta_h1.T, x), np.sum(delta_h1, axis=0))


class DeepHidden2WeightWrongInput(DeepBookNet):
    """Square hidden layers (12 -> 12): weight_h2's gradient uses a_h2, its own output, for its input a_h1."""
    expected, enters_at = "wrong-input", 1
    correct = "np.dot(delta_h2.T, a_h1),"
    hidden = (12, 12)

    def backward(self, x, a_h1, a_h2, a_out, y):
        delta_out = 2. * (a_out - int_to_onehot(y, self.num_classes)) / y.shape[0] * a_out * (1. - a_out)
        delta_h2 = np.dot(delta_out, self.weight_out) * a_h2 * (1. - a_h2)
        delta_h1 = np.dot(delta_h2, self.weight_h2) * a_h1 * (1. - a_h1)
        return (np.dot(delta_out.T, a_h2), np.sum(delta_out, axis=0),
                np.dot(delta_h2.T, a_h2),  # BUG: the layer's input is a_h1
                np.sum(delta_h2, axis=0), np.dot(delta_h1.T, x), np.sum(delta_h1, axis=0))


DEEP_MUTANTS = [DeepHidden1TanhDerivativeAtActivation, DeepHidden2DerivativeMissing, DeepHidden2WeightWrongInput]
