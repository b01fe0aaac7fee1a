"""The NumPy MLP of the lesson "Implementing a Multi-Layer NN", with manual forward and backward.

NumPy only: this package never imports torch, torchvision or compare.
"""

from .activations import ACTIVATIONS, DERIVATIVES, sigmoid
from .lesson import NeuralNetMLP, accuracy, int_to_onehot, minibatch_generator, mse_loss
from .mlp import MLP
from .train import evaluate, sgd_step, train_epoch

__all__ = [
    "ACTIVATIONS", "DERIVATIVES", "MLP", "NeuralNetMLP", "accuracy", "evaluate", "int_to_onehot",
    "minibatch_generator", "mse_loss", "sgd_step", "sigmoid", "train_epoch",
]
