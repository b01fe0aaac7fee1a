"""Training in lockstep: the learner's class with its own forward and backward against the twin and ``optim.SGD``.

The learner's side is the book's loop, ``forward``, ``backward``, then ``param -= lr * grad``; the twin's is
``zero_grad``, ``loss.backward()``, ``optimizer.step()``. Both start from the learner's initial weights and
eat the same batches of ``mnist-5k`` in the same order (one ``BatchSchedule``). After every step every
parameter is compared.
The verdict on training comes from the one agreement policy (``compare.agreement``): each step's largest
weight gap against the dtype's floor, and where a gap exceeds it, against the noise envelope of two
correct runs on the same batches. Per-epoch histories, step losses and test-set predictions have the run report's shape, so its plots
and sections draw them (the learner's class plays the "scratch" twin).

Lesson: the book's ``train`` loop, with the twin's three lines beside it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from scratch.losses import mse_value, printed_mse
from torch_impl import loss_function, make_optimizer, train_step
from torch_impl.train import history_row as twin_history_row

from ..agreement.envelope import envelope_steps
from ..agreement.policy import Agreement, agreed_within_floor, judge, within_floor
from ..data.load import Dataset
from ..data.schedule import BatchSchedule
from ..twins.lockstep import TorchData
from ..twins.transfer import torch_state_numpy
from .blame import LearnerRaised
from .contract import twin_net
from .returns import BadReturn


@dataclass
class TrainingResult:
    """What lockstep training saw; ``history`` and the rest use the run report's keys (``scratch``: theirs)."""

    epochs: int
    batch_size: int
    lr: float
    steps_per_epoch: int
    history: dict[str, list[dict]] = field(default_factory=lambda: {"scratch": [], "torch": []})
    max_weight_diff: list[float] = field(default_factory=list)       # after each epoch
    step_loss: dict[str, list[float]] = field(default_factory=lambda: {"scratch": [], "torch": []})
    largest_gap: float = 0.0                                          # over every step and parameter
    agreement: Agreement | None = None   # the verdict on the steps trained; None when training stopped early
    batches: list[np.ndarray] = field(default_factory=list)          # every step's indices, in training order
    widest: list[str] = field(default_factory=list)   # per step, the learner's name of the parameter furthest apart
    stopped: str | None = None       # why training ended early (their code raised, returned NaN, ...)
    predictions: dict[str, np.ndarray] | None = None                 # test-set labels of each side

    @property
    def epochs_done(self) -> int:
        return len(self.max_weight_diff)

    @property
    def parted(self) -> dict | None:
        """Where training parted beyond what rounding explains: ``{"epoch", "step", "global_step", "gap",
        "allowed"}``; None when it did not."""
        a = self.agreement
        if a is None or a.parted_at is None:
            return None
        epoch, within = divmod(a.parted_at - 1, self.steps_per_epoch)
        return {"epoch": epoch + 1, "step": within + 1, "global_step": a.parted_at, "gap": a.gap_at_parting,
                "allowed": a.allowed_at_parting}

    def as_dict(self) -> dict:
        return {"epochs": self.epochs, "epochs_done": self.epochs_done, "batch_size": self.batch_size, "lr": self.lr,
                "steps_per_epoch": self.steps_per_epoch, "history": self.history,
                "max_weight_diff": self.max_weight_diff, "largest_gap": self.largest_gap, "parted": self.parted,
                "agreement": self.agreement.as_dict() if self.agreement else None, "stopped": self.stopped}


def _loss_and_mse(probas: np.ndarray, y: np.ndarray, loss_name: str) -> tuple[float, float]:
    """Loss L and the lesson's printed MSE from class probabilities (B, C), as scratch defines them."""
    if loss_name != "cross_entropy":   # squared error, on sigmoid or softmax outputs
        loss = mse_value(probas, y)
    else:  # the learner hands over probabilities, not logits: -mean(log p_y), clamped away from log(0)
        loss = float(-np.mean(np.log(np.maximum(probas[np.arange(len(y)), y], np.finfo(probas.dtype).tiny))))
    return loss, printed_mse(probas, y)


def learner_history_row(epoch: int, learner, data: Dataset) -> dict:
    """The run report's history row for the learner's class, from their forward (no shuffling)."""
    p_train = learner.probabilities(data.X_train)
    loss, mse = _loss_and_mse(p_train, data.y_train, learner.loss_name)
    valid_acc = float(np.mean(learner.probabilities(data.X_valid).argmax(axis=1) == data.y_valid))
    train_acc = float(np.mean(p_train.argmax(axis=1) == data.y_train))
    return {"epoch": epoch, "loss": loss, "mse": mse, "train_acc": train_acc, "valid_acc": valid_acc}


def _optimizer(learner) -> Callable[[torch.nn.Module, float], torch.optim.Optimizer]:
    """Plain SGD; with ``--l2 λ``, ``weight_decay = 2λ`` on the weights only: the gradient of λ‖W‖²."""
    l2 = getattr(learner, "l2", 0.0)
    if not l2:
        return make_optimizer

    def decayed(net: torch.nn.Module, lr: float) -> torch.optim.Optimizer:
        named = list(net.named_parameters())
        groups: list[dict[str, Any]] = [
            {"params": [p for k, p in named if k.endswith("weight")], "weight_decay": 2 * l2},
            {"params": [p for k, p in named if not k.endswith("weight")]}]
        return torch.optim.SGD(groups, lr=lr)
    return decayed


def train_lockstep(learner, data: Dataset, epochs: int, batch_size: int, lr: float, seed: int,
                   optimizer: Callable[[torch.nn.Module, float], torch.optim.Optimizer] | None = None
                   ) -> TrainingResult:
    """Train ``learner`` (fresh) and its twin side by side; never raises for the learner's faults, records them.

    ``optimizer(net, lr)`` makes the twin's optimiser (default plain SGD): a seam for tests that plant a wrong twin.
    """
    net = twin_net(learner)
    start = torch_state_numpy(net)
    loss_fn, optimizer_ = loss_function(learner.loss_name), (optimizer or _optimizer(learner))(net, lr)
    tdata = TorchData.from_dataset(data, torch.device("cpu"))
    schedule = BatchSchedule(len(data.y_train), batch_size, seed)
    result = TrainingResult(epochs, batch_size, lr, schedule.steps_per_epoch)
    gaps: list[float] = []
    scales: list[float] = []
    try:
        for epoch in range(1, epochs + 1):
            for step, idx in enumerate(schedule.epoch(), 1):
                result.batches.append(idx)
                result.step_loss["scratch"].append(learner.step(data.X_train[idx], data.y_train[idx], lr))
                it = torch.from_numpy(idx)
                result.step_loss["torch"].append(
                    train_step(net, loss_fn, optimizer_, tdata.X_train[it], tdata.y_train[it]).item())
                if not _step_gap(learner, net, result, epoch, step, gaps, scales):
                    return result
            net.eval()
            result.history["scratch"].append(learner_history_row(epoch, learner, data))
            result.history["torch"].append(twin_history_row(epoch, net, tdata.X_train, tdata.y_train, tdata.X_valid,
                                                            tdata.y_valid, learner.loss_name))
            result.max_weight_diff.append(gaps[-1])   # the gap at the epoch's end
        with torch.inference_mode():
            twin_pred = net(tdata.X_test).argmax(dim=1).numpy()
        result.predictions = {"scratch": learner.probabilities(data.X_test).argmax(axis=1), "torch": twin_pred}
    except LearnerRaised as e:
        result.stopped = str(e)
        return result
    except BadReturn as e:
        result.stopped = f"during training, {e.finding.message}"
        return result
    result.agreement = _agreement(learner, data, result, start, gaps, scales, seed)
    return result


def _agreement(learner, data: Dataset, result: TrainingResult, start: dict[str, np.ndarray], gaps: list[float],
               scales: list[float], seed: int) -> Agreement:
    words: dict[str, Any] = dict(lr=result.lr, batch_size=result.batch_size,
                                 steps_per_epoch=result.steps_per_epoch)
    if within_floor(gaps, scales, learner.dtype):
        return agreed_within_floor(result.largest_gap, learner.dtype, steps=len(gaps), **words)
    envelope = envelope_steps(learner.sizes, learner.activation, learner.loss_name, learner.dtype, start,
                              data.X_train, data.y_train, result.batches, result.lr, seed, getattr(learner, "l2", 0.0))
    return judge(zip(gaps, scales), envelope, learner.dtype, steps=len(gaps), **words)


def _step_gap(learner, net, result: TrainingResult, epoch: int, step: int, gaps: list[float],
              scales: list[float]) -> bool:
    """Record the step's largest weight gap and the twin's weight magnitude; False when training must stop."""
    theirs = torch_state_numpy(net)
    gap, widest = 0.0, ""
    for key, w in learner.state_dict().items():
        name = learner.param_names[key]
        if not np.isfinite(w).all():
            result.stopped = (f"your {name} became NaN or infinite at epoch {epoch}, step {step} (learning rate "
                              f"{result.lr:g}); the twin's stayed finite" if np.isfinite(theirs[key]).all() else
                              f"both sides' {name} became NaN or infinite at epoch {epoch}, step {step}: try a "
                              f"smaller --lr")
            return False
        apart = float(np.max(np.abs(w - theirs[key]))) if w.shape == theirs[key].shape else np.inf
        if apart > gap or not widest:
            gap, widest = apart, name
    gaps.append(gap)
    result.widest.append(widest)
    scales.append(max(float(np.max(np.abs(v))) for v in theirs.values()))
    result.largest_gap = max(result.largest_gap, gap)
    return True


def replay_to(learner, data: Dataset, batches: list[np.ndarray], lr: float) -> dict[str, np.ndarray]:
    """``learner`` (fresh) trained on ``batches`` with its own steps; its weights then, (out, in) copies."""
    for idx in batches:
        learner.step(data.X_train[idx], data.y_train[idx], lr)
    return {k: v.copy() for k, v in learner.state_dict().items()}
