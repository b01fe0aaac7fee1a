"""A learner's NeuralNetMLP with the weights stored (in, out) whose backward returns the book's (out, in) gradients."""
import numpy as np


def sigmoid(z):
    return 1. / (1. + np.exp(-z))


def int_to_onehot(y, num_labels):
    ary = np.zeros((y.shape[0], num_labels))
    ary[np.arange(y.shape[0]), y] = 1
    return ary


class NeuralNetMLP:

    def __init__(self, num_features, num_hidden, num_classes, random_seed=123):
        self.num_classes = num_classes
        rng = np.random.RandomState(random_seed)
        # [n_features, n_hidden] and [n_hidden, n_classes]: no .T in forward
        self.weight_h = rng.normal(loc=0.0, scale=0.1, size=(num_hidden, num_features)).T
        self.bias_h = np.zeros(num_hidden)
        self.weight_out = rng.normal(loc=0.0, scale=0.1, size=(num_classes, num_hidden)).T
        self.bias_out = np.zeros(num_classes)

    def forward(self, x):
        z_h = x @ self.weight_h + self.bias_h             # [n_examples, n_hidden]
        a_h = sigmoid(z_h)
        z_out = a_h @ self.weight_out + self.bias_out     # [n_examples, n_classes]
        a_out = sigmoid(z_out)
        return a_h, a_out

    def backward(self, x, a_h, a_out, y):
        y_onehot = int_to_onehot(y, self.num_classes)
        n = y.shape[0]

        # output layer
        d_loss__d_a_out = 2. * (a_out - y_onehot) / n
        d_a_out__d_z_out = a_out * (1. - a_out)
        delta_out = d_loss__d_a_out * d_a_out__d_z_out    # [n_examples, n_classes]
        d_w_out = delta_out.T @ a_h                       # the mistake: the book's [n_classes, n_hidden]
        d_b_out = delta_out.sum(axis=0)

        # hidden layer
        d_loss__a_h = delta_out @ self.weight_out.T       # [n_examples, n_hidden]
        delta_h = d_loss__a_h * a_h * (1. - a_h)
        d_w_h = delta_h.T @ x                             # the mistake: the book's [n_hidden, n_features]
        d_b_h = delta_h.sum(axis=0)

        return d_w_out, d_b_out, d_w_h, d_b_h
