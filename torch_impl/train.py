"""Training the twin the idiomatic PyTorch way: ``zero_grad``, ``loss.backward()``, ``step``.

Lesson: the same loop as ``scratch.train``; autograd writes what ``NeuralNetMLP.backward`` spells out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from torch import nn
from torch.nn import functional as F

from .model import loss_function, probabilities

EVAL_CHUNK = 10_000  # rows per forward pass when evaluating


def resolve_device(device: str | None = None) -> torch.device:
    """``cpu`` by default; ``cuda`` only when asked for and available."""
    if device in (None, "cpu"):
        return torch.device("cpu")
    if str(device).startswith("cuda"):
        if not torch.cuda.is_available():
            raise ValueError(f"device {device!r} was asked for but no CUDA GPU is available; use --device cpu")
        return torch.device(device)
    raise ValueError(f"device must be 'cpu' or 'cuda[:N]', got {device!r}")


def make_optimizer(model: nn.Module, lr: float) -> torch.optim.Optimizer:
    """Plain mini-batch SGD: no momentum, no weight decay, as in the lesson."""
    return torch.optim.SGD(model.parameters(), lr=lr)


def train_step(model: nn.Module, loss_fn: Callable, optimizer: torch.optim.Optimizer,
               X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """One step; returns the batch loss as a tensor (no ``.item()``, so no forced synchronisation)."""
    optimizer.zero_grad()
    loss = loss_fn(model(X), y)
    loss.backward()
    optimizer.step()
    return loss.detach()


def train_epoch(model: nn.Module, loss_fn: Callable, optimizer: torch.optim.Optimizer,
                batches: Iterable[tuple[torch.Tensor, torch.Tensor]]) -> list[float]:
    """One pass over ``batches``, an iterable of ``(X_batch (B, D), y_batch (B,))`` tensors.

    Returns each step's loss L, taken before its update: kept as detached tensors during the epoch and
    copied to the host once at its end (one synchronisation per epoch, not one per step).
    """
    model.train()
    losses = [train_step(model, loss_fn, optimizer, X, y) for X, y in batches]
    return torch.stack(losses).tolist() if losses else []


@torch.inference_mode()
def evaluate(model: nn.Module, X: torch.Tensor, y: torch.Tensor, loss: str) -> dict[str, float]:
    """Loss L, the lesson's printed MSE and the accuracy on (X, y), in order, no shuffling."""
    model.eval()
    out = torch.cat([model(X[i:i + EVAL_CHUNK]) for i in range(0, X.shape[0], EVAL_CHUNK)])
    probas = probabilities(out, loss)
    onehot = F.one_hot(y, out.shape[1]).to(out.dtype)
    values = torch.stack([loss_function(loss)(out, y).to(torch.float64),
                          ((probas - onehot) ** 2).mean().to(torch.float64),
                          (probas.argmax(dim=1) == y).to(torch.float64).mean()])
    loss_value, mse, acc = values.tolist()  # one copy to the host (one GPU sync), not three .item() calls
    return {"loss": loss_value, "mse": mse, "acc": acc}


def history_row(epoch: int, model, X_train, y_train, X_valid, y_valid, loss: str) -> dict:
    """One epoch's entry, defined exactly as ``scratch.train.history_row``."""
    train = evaluate(model, X_train, y_train, loss)
    valid = evaluate(model, X_valid, y_valid, loss)
    return {"epoch": epoch, "loss": train["loss"], "mse": train["mse"],
            "train_acc": train["acc"], "valid_acc": valid["acc"]}
