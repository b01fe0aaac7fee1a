"""The PyTorch twin: the equivalent ``nn.Sequential`` trained the idiomatic way.

Uses torch (and torchvision); never imports scratch or compare.
"""

from .model import build_model, loss_function, probabilities, squared_error_loss
from .train import evaluate, make_optimizer, resolve_device, train_epoch, train_step

__all__ = ["build_model", "evaluate", "loss_function", "make_optimizer", "probabilities",
           "resolve_device", "squared_error_loss", "train_epoch", "train_step"]
