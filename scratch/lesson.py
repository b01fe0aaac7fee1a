"""The lesson's own code, with the lesson's names: ``NeuralNetMLP`` and its helpers.

A reader with "Implementing a Multi-Layer NN" (chapter 11 of Raschka, Liu and Mirjalili, *Machine Learning
with PyTorch and Scikit-Learn*) open should recognise every line. The differences are deliberate and
small: ``int_to_onehot`` is vectorised, ``sigmoid`` silences the overflow warning of ``exp(-z)`` for very
negative z (the result, 0, is still correctly rounded), and
``minibatch_generator`` accepts an explicit ``rng`` so that evaluation never moves the training
shuffle (the book shuffles with the global NumPy RNG).

``NeuralNetMLP`` also honours the gradient part of the ``MLP`` contract (``state_dict``,
``load_state_dict``, ``loss``, ``gradients``, ``loss_and_gradients``), so ``compare.check_gradients`` can check it.
"""

from __future__ import annotations

import numpy as np

from . import losses
from .activations import sigmoid  # noqa: F401  (re-exported: the lesson's helper)


def int_to_onehot(y: np.ndarray, num_labels: int) -> np.ndarray:
    """Lesson: ``int_to_onehot``. Integer labels (n,) -> one-hot float64 matrix (n, num_labels)."""
    return losses.onehot(np.asarray(y), num_labels)


def mse_loss(targets: np.ndarray, probas: np.ndarray, num_labels: int = 10) -> float:
    """Lesson: ``mse_loss``, the MSE the book prints: a mean over n x num_labels elements.

    It is ``num_labels`` times smaller than the loss whose gradient ``backward`` computes.
    """
    onehot_targets = int_to_onehot(targets, num_labels=num_labels)
    return float(np.mean((onehot_targets - probas) ** 2))


def accuracy(targets: np.ndarray, predicted_labels: np.ndarray) -> float:
    """Lesson: ``accuracy``."""
    return float(np.mean(predicted_labels == targets))


def minibatch_generator(X: np.ndarray, y: np.ndarray, minibatch_size: int, rng=None):
    """Lesson: ``minibatch_generator``. Yields ``(X_batch, y_batch)``; every index once per pass.

    The partial batch at the tail is dropped, as in the book. With ``rng`` (a
    ``np.random.Generator``) the shuffle uses it; without, the global NumPy RNG, as in the book.
    """
    indices = np.arange(X.shape[0])
    if rng is None:
        np.random.shuffle(indices)
    else:
        indices = rng.permutation(X.shape[0])
    for start_idx in range(0, indices.shape[0] - minibatch_size + 1, minibatch_size):
        batch_idx = indices[start_idx:start_idx + minibatch_size]
        yield X[batch_idx], y[batch_idx]


class NeuralNetMLP:
    """Lesson: ``NeuralNetMLP``, one sigmoid hidden layer, sigmoid outputs, squared-error loss."""

    def __init__(self, num_features: int, num_hidden: int, num_classes: int, random_seed: int = 123):
        self.num_classes = num_classes
        # hidden
        rng = np.random.RandomState(random_seed)
        self.weight_h = rng.normal(loc=0.0, scale=0.1, size=(num_hidden, num_features))
        self.bias_h = np.zeros(num_hidden)
        # output
        self.weight_out = rng.normal(loc=0.0, scale=0.1, size=(num_classes, num_hidden))
        self.bias_out = np.zeros(num_classes)
        # the spec the comparison tools read
        self.sizes = (num_features, num_hidden, num_classes)
        self.activation = "sigmoid"
        self.loss_name = "mse"
        self.dtype = np.dtype(np.float64)

    def forward(self, x):
        # Hidden layer
        # input dim: [n_examples, n_features] dot [n_hidden, n_features].T
        # output dim: [n_examples, n_hidden]
        z_h = np.dot(x, self.weight_h.T) + self.bias_h
        a_h = sigmoid(z_h)

        # Output layer
        # input dim: [n_examples, n_hidden] dot [n_classes, n_hidden].T
        # output dim: [n_examples, n_classes]
        z_out = np.dot(a_h, self.weight_out.T) + self.bias_out
        a_out = sigmoid(z_out)
        return a_h, a_out

    def backward(self, x, a_h, a_out, y):
        #########################
        ### Output layer weights
        #########################

        # onehot encoding
        y_onehot = int_to_onehot(y, self.num_classes)

        # Part 1: dLoss/dOutWeights
        ## = dLoss/dOutAct * dOutAct/dOutNet * dOutNet/dOutWeight
        ## where DeltaOut = dLoss/dOutAct * dOutAct/dOutNet
        ## for convenient re-use

        # input/output dim: [n_examples, n_classes]
        d_loss__d_a_out = 2. * (a_out - y_onehot) / y.shape[0]

        # input/output dim: [n_examples, n_classes]
        d_a_out__d_z_out = a_out * (1. - a_out)  # sigmoid derivative

        # output dim: [n_examples, n_classes]
        delta_out = d_loss__d_a_out * d_a_out__d_z_out  # "delta (rule) placeholder"

        # gradient for output weights

        # [n_examples, n_hidden]
        d_z_out__dw_out = a_h

        # input dim: [n_classes, n_examples] dot [n_examples, n_hidden]
        # output dim: [n_classes, n_hidden]
        d_loss__dw_out = np.dot(delta_out.T, d_z_out__dw_out)
        d_loss__db_out = np.sum(delta_out, axis=0)

        #################################
        # Part 2: dLoss/dHiddenWeights
        ## = DeltaOut * dOutNet/dHiddenAct * dHiddenAct/dHiddenNet * dHiddenNet/dWeight

        # [n_classes, n_hidden]
        d_z_out__a_h = self.weight_out

        # output dim: [n_examples, n_hidden]
        d_loss__a_h = np.dot(delta_out, d_z_out__a_h)

        # [n_examples, n_hidden]
        d_a_h__d_z_h = a_h * (1. - a_h)  # sigmoid derivative

        # [n_examples, n_features]
        d_z_h__d_w_h = x

        # output dim: [n_hidden, n_features]
        d_loss__d_w_h = np.dot((d_loss__a_h * d_a_h__d_z_h).T, d_z_h__d_w_h)
        d_loss__d_b_h = np.sum((d_loss__a_h * d_a_h__d_z_h), axis=0)

        return (d_loss__dw_out, d_loss__db_out,
                d_loss__d_w_h, d_loss__d_b_h)

    # --- the gradient part of the MLP contract, in torch's names ------------------------------

    def state_dict(self) -> dict[str, np.ndarray]:
        """The live arrays under ``nn.Sequential``'s keys: ``0`` is the hidden Linear, ``2`` the output."""
        return {"0.weight": self.weight_h, "0.bias": self.bias_h,
                "2.weight": self.weight_out, "2.bias": self.bias_out}

    def load_state_dict(self, state: dict) -> None:
        for name, target in self.state_dict().items():
            target[...] = state[name]

    def loss(self, X, y) -> float:
        """L = squared error summed over classes, mean over examples (``num_classes`` x ``mse_loss``)."""
        _, a_out = self.forward(X)
        return self.num_classes * mse_loss(y, a_out, self.num_classes)

    def gradients(self, X, y) -> dict[str, np.ndarray]:
        return self.loss_and_gradients(X, y)[1]

    def loss_and_gradients(self, X, y) -> tuple[float, dict[str, np.ndarray]]:
        """``(loss(X, y), gradients(X, y))`` from one forward pass, as ``sgd_step`` needs them."""
        a_h, a_out = self.forward(X)
        d_w_out, d_b_out, d_w_h, d_b_h = self.backward(X, a_h, a_out, y)
        loss = self.num_classes * mse_loss(y, a_out, self.num_classes)
        return loss, {"0.weight": d_w_h, "0.bias": d_b_h, "2.weight": d_w_out, "2.bias": d_b_out}
