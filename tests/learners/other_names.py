"""A learner's two-layer network with the names of another tutorial: W1, b1, W2, b2."""
import numpy as np


def sigmoid(z):
    return 1. / (1. + np.exp(-z))


class TwoLayerNet:

    def __init__(self, num_features, num_hidden, num_classes, random_seed=123):
        rng = np.random.RandomState(random_seed)
        self.W1 = rng.normal(0.0, 0.1, size=(num_hidden, num_features))
        self.b1 = np.zeros(num_hidden)
        self.W2 = rng.normal(0.0, 0.1, size=(num_classes, num_hidden))
        self.b2 = np.zeros(num_classes)

    def forward(self, X):
        A1 = sigmoid(X @ self.W1.T + self.b1)
        A2 = sigmoid(A1 @ self.W2.T + self.b2)
        return A1, A2

    def backward(self, X, A1, A2, y):
        Y = np.zeros_like(A2)
        Y[np.arange(len(y)), y] = 1
        dZ2 = 2. * (A2 - Y) / len(y) * A2 * (1. - A2)
        dZ1 = (dZ2 @ self.W2) * A1 * (1. - A1)
        return dZ2.T @ A1, dZ2.sum(axis=0), dZ1.T @ X, dZ1.sum(axis=0)
