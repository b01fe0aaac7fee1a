"""The lesson's own code, with the lesson's names: ``NeuralNetMLP`` and its helpers.

A reader with "Implementing a Multi-Layer NN" (chapter 11 of Raschka, Liu and Mirjalili, *Machine Learning
with PyTorch and Scikit-Learn*) open should recognise every line, down to ``train``'s four update lines. The differences are deliberate and
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


def compute_mse_and_acc(nnet, X: np.ndarray, y: np.ndarray, num_labels: int = 10, minibatch_size: int = 100
                        ) -> tuple[float, float]:
    """Lesson: ``compute_mse_and_acc``. The printed MSE (a mean over the minibatches of ``mse_loss``) and the
    accuracy of ``nnet`` on X (n, D), y (n,), one minibatch at a time.

    The book takes the minibatches from ``minibatch_generator``, which shuffles with the global RNG: every
    evaluation then moves every later training shuffle. Here they are taken in order. A mean over the
    batches does not depend on their order, so where n is a multiple of ``minibatch_size`` (3,500 and 500
    here) the numbers are the book's.
    """
    if X.shape[0] < minibatch_size:   # the book's would fail on its i + 1 as well
        raise ValueError(f"compute_mse_and_acc averages whole minibatches of {minibatch_size}; got {X.shape[0]} "
                         f"examples: pass a smaller minibatch_size")
    mse, correct_pred, num_examples, num_batches = 0., 0, 0, 0
    for start in range(0, X.shape[0] - minibatch_size + 1, minibatch_size):
        features, targets = X[start:start + minibatch_size], y[start:start + minibatch_size]
        _, probas = nnet.forward(features)
        predicted_labels = np.argmax(probas, axis=1)
        mse += mse_loss(targets, probas, num_labels)
        correct_pred += int((predicted_labels == targets).sum())
        num_examples += targets.shape[0]
        num_batches += 1
    return mse / num_batches, correct_pred / num_examples


def train(model, X_train: np.ndarray, y_train: np.ndarray, X_valid: np.ndarray, y_valid: np.ndarray,
          num_epochs: int, learning_rate: float = 0.1, minibatch_size: int = 100, rng=None, log=print):
    """Lesson: ``train``. Mini-batch SGD: forward, backward, then the four update lines, for each minibatch;
    after each epoch the printed MSE and the accuracies. Returns ``(epoch_loss, epoch_train_acc,
    epoch_valid_acc)``, accuracies in percent as the book's.

    ``rng`` (a ``np.random.Generator``) shuffles the minibatches (the book: the global RNG); ``log`` receives
    the book's line per epoch (``None``: quiet).
    """
    epoch_loss, epoch_train_acc, epoch_valid_acc = [], [], []
    for e in range(num_epochs):
        for X_train_mini, y_train_mini in minibatch_generator(X_train, y_train, minibatch_size, rng):
            #### Compute outputs ####
            a_h, a_out = model.forward(X_train_mini)
            #### Compute gradients ####
            d_loss__d_w_out, d_loss__d_b_out, d_loss__d_w_h, d_loss__d_b_h = \
                model.backward(X_train_mini, a_h, a_out, y_train_mini)
            #### Update weights ####
            model.weight_h -= learning_rate * d_loss__d_w_h
            model.bias_h -= learning_rate * d_loss__d_b_h
            model.weight_out -= learning_rate * d_loss__d_w_out
            model.bias_out -= learning_rate * d_loss__d_b_out
        #### Epoch Logging ####
        train_mse, train_acc = compute_mse_and_acc(model, X_train, y_train, minibatch_size=minibatch_size)
        _, valid_acc = compute_mse_and_acc(model, X_valid, y_valid, minibatch_size=minibatch_size)
        epoch_loss.append(train_mse)
        epoch_train_acc.append(train_acc * 100)
        epoch_valid_acc.append(valid_acc * 100)
        if log is not None:
            log(f"Epoch: {e + 1:03d}/{num_epochs:03d} | Train MSE: {train_mse:.2f} | Train Acc: {train_acc * 100:.2f}% "
                f"| Valid Acc: {valid_acc * 100:.2f}%")
    return epoch_loss, epoch_train_acc, epoch_valid_acc


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
