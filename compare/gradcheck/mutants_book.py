"""Mutants written the way a learner writes them: the lesson's ``NeuralNetMLP.backward``, copied out
whole, with one line wrong (marked ``# BUG``).

They share no code with ``compare.gradcheck.mistakes``, which recomputes mistakes through ``TeachingMLP``'s
plug-in steps: if the diagnosis names these, it recognises a family of mistakes, not its own copy.
Each class says the finding that names its mistake (``expected``) and the Linear layer where the
error enters (``enters_at``), so a generic "the error enters at layer k" can be judged too.

Lesson: ``NeuralNetMLP.backward`` in "Implementing a Multi-Layer NN", its names and comments.
"""

from __future__ import annotations

import numpy as np

from scratch import NeuralNetMLP
from scratch.lesson import int_to_onehot

BOOK_NAMES = {"0.weight": "weight_h", "0.bias": "bias_h", "2.weight": "weight_out", "2.bias": "bias_out"}


class BookMutant(NeuralNetMLP):
    """The lesson's network, 784 -> 16 -> 10 (not square anywhere), under the lesson's names."""
    names = BOOK_NAMES

    @classmethod
    def create(cls, seed: int = 123) -> BookMutant:
        return cls(784, 16, 10, random_seed=seed)


class BookOutputBiasWithoutN(BookMutant):
    """Divides by n for the weights but not for the output bias: d_loss__db_out is n times too big."""
    expected, enters_at = "batch-reduction", 1
    correct = "d_loss__db_out = np.sum(delta_out, axis=0)"

    def backward(self, x, a_h, a_out, y):
        y_onehot = int_to_onehot(y, self.num_classes)
        d_loss__d_a_out = 2. * (a_out - y_onehot) / y.shape[0]
        d_a_out__d_z_out = a_out * (1. - a_out)
        delta_out = d_loss__d_a_out * d_a_out__d_z_out
        d_loss__dw_out = np.dot(delta_out.T, a_h)
        d_loss__db_out = np.sum(2. * (a_out - y_onehot) * d_a_out__d_z_out, axis=0)  # BUG: no / n here
        d_loss__a_h = np.dot(delta_out, self.weight_out)
        d_a_h__d_z_h = a_h * (1. - a_h)
        d_loss__d_w_h = np.dot((d_loss__a_h * d_a_h__d_z_h).T, x)
        d_loss__d_b_h = np.sum(d_loss__a_h * d_a_h__d_z_h, axis=0)
        return d_loss__dw_out, d_loss__db_out, d_loss__d_w_h, d_loss__d_b_h


class BookOutputDeltaTwoTwice(BookMutant):
    """Puts the 2 of d(a - y)^2/da into d_loss__d_a_out and again into delta_out."""
    expected, enters_at = "factor-two", 1
    correct = "delta_out = d_loss__d_a_out * d_a_out__d_z_out"

    def backward(self, x, a_h, a_out, y):
        y_onehot = int_to_onehot(y, self.num_classes)
        d_loss__d_a_out = 2. * (a_out - y_onehot) / y.shape[0]
        d_a_out__d_z_out = a_out * (1. - a_out)
        delta_out = 2. * d_loss__d_a_out * d_a_out__d_z_out  # BUG: the 2. is already in d_loss__d_a_out
        d_loss__dw_out = np.dot(delta_out.T, a_h)
        d_loss__db_out = np.sum(delta_out, axis=0)
        d_loss__a_h = np.dot(delta_out, self.weight_out)
        d_a_h__d_z_h = a_h * (1. - a_h)
        d_loss__d_w_h = np.dot((d_loss__a_h * d_a_h__d_z_h).T, x)
        d_loss__d_b_h = np.sum(d_loss__a_h * d_a_h__d_z_h, axis=0)
        return d_loss__dw_out, d_loss__db_out, d_loss__d_w_h, d_loss__d_b_h


class BookHiddenWeightTransposed(BookMutant):
    """Multiplies x.T by the hidden delta: (784, 16), the transpose of weight_h's (16, 784)."""
    expected, enters_at = "transposed", 0
    correct = "d_loss__d_w_h = np.dot((d_loss__a_h * d_a_h__d_z_h).T, x)"

    def backward(self, x, a_h, a_out, y):
        y_onehot = int_to_onehot(y, self.num_classes)
        d_loss__d_a_out = 2. * (a_out - y_onehot) / y.shape[0]
        d_a_out__d_z_out = a_out * (1. - a_out)
        delta_out = d_loss__d_a_out * d_a_out__d_z_out
        d_loss__dw_out = np.dot(delta_out.T, a_h)
        d_loss__db_out = np.sum(delta_out, axis=0)
        d_loss__a_h = np.dot(delta_out, self.weight_out)
        d_a_h__d_z_h = a_h * (1. - a_h)
        d_loss__d_w_h = np.dot(x.T, d_loss__a_h * d_a_h__d_z_h)  # BUG: (delta_h.T @ x) is (16, 784)
        d_loss__d_b_h = np.sum(d_loss__a_h * d_a_h__d_z_h, axis=0)
        return d_loss__dw_out, d_loss__db_out, d_loss__d_w_h, d_loss__d_b_h


class BookHiddenBiasSign(BookMutant):
    """Gets the sign of the hidden bias gradient wrong, and only that one."""
    expected, enters_at = "sign-flip", 0
    correct = "d_loss__d_b_h = np.sum(d_loss__a_h * d_a_h__d_z_h, axis=0)"

    def backward(self, x, a_h, a_out, y):
        y_onehot = int_to_onehot(y, self.num_classes)
        d_loss__d_a_out = 2. * (a_out - y_onehot) / y.shape[0]
        d_a_out__d_z_out = a_out * (1. - a_out)
        delta_out = d_loss__d_a_out * d_a_out__d_z_out
        d_loss__dw_out = np.dot(delta_out.T, a_h)
        d_loss__db_out = np.sum(delta_out, axis=0)
        d_loss__a_h = np.dot(delta_out, self.weight_out)
        d_a_h__d_z_h = a_h * (1. - a_h)
        d_loss__d_w_h = np.dot((d_loss__a_h * d_a_h__d_z_h).T, x)
        d_loss__d_b_h = -np.sum(d_loss__a_h * d_a_h__d_z_h, axis=0)  # BUG: the minus sign
        return d_loss__dw_out, d_loss__db_out, d_loss__d_w_h, d_loss__d_b_h


BOOK_MUTANTS = [BookOutputBiasWithoutN, BookOutputDeltaTwoTwice, BookHiddenWeightTransposed, BookHiddenBiasSign]
