"""Both twins, one initialisation, one batch schedule, one learning rate: train them side by side.

The scratch model draws the initial weights (NumPy); the twin gets a copy. Each epoch's batches
come from one ``BatchSchedule`` and both twins see the same index arrays in the same order. After
every epoch each twin is evaluated on the training and validation sets (no shuffling) and the
largest weight difference between them is recorded.

Lesson: the training loop of "Implementing a Multi-Layer NN", run twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

import scratch
import torch_impl
from scratch.train import history_row as scratch_history_row
from torch_impl.train import history_row as torch_history_row

from ..data.load import Dataset
from ..data.schedule import BatchSchedule
from .numerics import exact_float32
from .transfer import TORCH_DTYPES, max_weight_diff, scratch_to_torch


@dataclass
class Twins:
    """The scratch MLP and its ``nn.Sequential`` twin with the same weights, plus the twin's loss and optimiser."""

    scratch: scratch.MLP
    net: nn.Module
    loss_fn: Callable
    optimizer: torch.optim.Optimizer
    device: torch.device
    lr: float

    @property
    def loss_name(self) -> str:
        return self.scratch.loss_name


OptimizerFactory = Callable[[nn.Module, float], torch.optim.Optimizer]


def make_twins(sizes, activation: str = "sigmoid", loss: str = "mse", seed: int = 123,
               dtype=np.float64, lr: float = 0.1, device: str | None = None,
               optimizer: OptimizerFactory | None = None) -> Twins:
    """Build both twins; the twin starts from a copy of the scratch model's initial weights.

    ``optimizer(net, lr)`` makes the twin's optimiser (default ``torch_impl.make_optimizer``: plain SGD): the
    seam through which a test plants a wrong twin to see that the verdict catches it.

    A twin on a GPU computes float32 products in float32, not TF32: ``numerics.exact_float32`` turns TF32
    off for the rest of the process.
    """
    model = scratch.MLP(sizes, activation, loss, seed=seed, dtype=dtype)
    dev = torch_impl.resolve_device(device)
    if dev.type == "cuda":
        exact_float32()
    net = torch_impl.build_model(sizes, activation, loss).to(device=dev, dtype=TORCH_DTYPES[model.dtype])
    scratch_to_torch(model, net)
    make = optimizer or torch_impl.make_optimizer
    return Twins(model, net, torch_impl.loss_function(loss), make(net, lr), dev, lr)


@dataclass
class TorchData:
    """The dataset's arrays as tensors on the twin's device, made once (``torch.from_numpy`` shares memory)."""

    X_train: torch.Tensor
    y_train: torch.Tensor
    X_valid: torch.Tensor
    y_valid: torch.Tensor
    X_test: torch.Tensor
    y_test: torch.Tensor

    @classmethod
    def from_dataset(cls, data: Dataset, device: torch.device) -> TorchData:
        t = lambda a: torch.from_numpy(a).to(device)  # noqa: E731
        return cls(t(data.X_train), t(data.y_train), t(data.X_valid), t(data.y_valid),
                   t(data.X_test), t(data.y_test))


@dataclass
class LockstepResult:
    """Per-epoch histories of both twins, the weight gap after each epoch, and seconds spent."""

    history: dict[str, list[dict]] = field(default_factory=lambda: {"scratch": [], "torch": []})
    # each twin's loss L on every training batch, before its update: one list per finished epoch
    step_losses: dict[str, list[list[float]]] = field(default_factory=lambda: {"scratch": [], "torch": []})
    max_weight_diff: list[float] = field(default_factory=list)
    weight_scale: list[float] = field(default_factory=list)   # the scratch twin's largest |weight| per epoch
    timing: dict[str, dict[str, float]] = field(default_factory=lambda: {
        "scratch": {"train_s": 0.0, "eval_s": 0.0}, "torch": {"train_s": 0.0, "eval_s": 0.0}})
    # each twin's training seconds in every finished epoch: one summed ratio hides how much it moves
    epoch_train_s: dict[str, list[float]] = field(default_factory=lambda: {"scratch": [], "torch": []})

    @property
    def epochs_done(self) -> int:
        return len(self.max_weight_diff)


class TrainingStopped(Exception):
    """Training ended early; ``result`` holds every epoch that finished.

    ``reason`` is ``"diverged"`` (a loss or weight became NaN or infinite; ``detail`` says which twin
    went first, at which epoch and step) or ``"interrupted"`` (Ctrl-C).
    """

    def __init__(self, reason: str, result: LockstepResult, message: str, detail: dict | None = None):
        super().__init__(message)
        self.reason, self.result, self.detail = reason, result, detail or {}


def _scratch_finite(model) -> bool:
    return all(np.isfinite(v).all() for v in model.state_dict().values())


def _torch_finite(net: nn.Module) -> bool:
    return all(bool(torch.isfinite(p).all()) for p in net.parameters())


def locate_divergence(twins: Twins, data: Dataset, tdata: TorchData, batches: list[np.ndarray],
                      start: tuple[dict, dict]) -> dict[str, int | None]:
    """Replay one epoch step by step from its starting weights; the first step at which each twin's
    batch loss or weights stop being finite (None if that twin stayed finite)."""
    twins.scratch.load_state_dict(start[0])
    twins.net.load_state_dict(start[1])
    first: dict[str, int | None] = {"scratch": None, "torch": None}
    for step, i in enumerate(batches, 1):
        if first["scratch"] is None:
            loss = twins.scratch.loss(data.X_train[i], data.y_train[i])
            scratch.sgd_step(twins.scratch, data.X_train[i], data.y_train[i], twins.lr)
            if not (np.isfinite(loss) and _scratch_finite(twins.scratch)):
                first["scratch"] = step
        if first["torch"] is None:
            it = torch.from_numpy(i).to(twins.device)
            loss_t = torch_impl.train_step(twins.net, twins.loss_fn, twins.optimizer, tdata.X_train[it], tdata.y_train[it])
            if not (bool(torch.isfinite(loss_t)) and _torch_finite(twins.net)):
                first["torch"] = step
        if first["scratch"] is not None and first["torch"] is not None:
            break
    return first


def _divergence_message(epoch: int, first: dict[str, int | None], lr: float) -> tuple[str, dict]:
    steps = {t: s for t, s in first.items() if s is not None}
    if not steps:  # the replay stayed finite: the model is not a pure function of weights and batch
        return (f"a loss or weight became NaN or infinite during epoch {epoch} with learning rate {lr:g}, but a "
                f"replay of that epoch did not reproduce it; try a smaller --lr (the lesson uses 0.1)",
                {"epoch": epoch, "step": None, "first": None, "steps": first})
    leader = min(steps, key=lambda twin: steps[twin])
    other = "torch" if leader == "scratch" else "scratch"
    if other in steps and steps[other] == steps[leader]:
        who = f"both twins diverged at epoch {epoch}, step {steps[leader]} (scratch and torch together)"
    elif other in steps:
        who = (f"the {leader} twin diverged first, at epoch {epoch}, step {steps[leader]} "
               f"({other} followed at step {steps[other]})")
    else:
        who = f"the {leader} twin diverged at epoch {epoch}, step {steps[leader]} ({other} stayed finite)"
    message = (f"{who}: a loss or weight became NaN or infinite with learning rate {lr:g}; "
               f"try a smaller --lr (the lesson uses 0.1)")
    together = other in steps and steps[other] == steps[leader]
    return message, {"epoch": epoch, "step": steps[leader], "first": "both" if together else leader, "steps": first}


def lockstep_train(twins: Twins, data: Dataset, epochs: int, batch_size: int, seed: int,
                   progress: Callable[[int], None] | None = None,
                   tdata: TorchData | None = None, schedule: BatchSchedule | None = None) -> LockstepResult:
    """Train both twins for ``epochs`` on the same batches; ``progress(epoch)`` is called after each.

    ``schedule`` is the batch order both twins consume, one ``schedule.epoch()`` per epoch and nothing
    else drawn from it; by default ``BatchSchedule(len(data.y_train), batch_size, seed)``. Passing one
    lets a caller see the batches training actually used.

    Raises ``TrainingStopped`` when a twin diverges or on Ctrl-C, carrying the finished epochs.
    """
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    if schedule is None:
        schedule = BatchSchedule(len(data.y_train), batch_size, seed)
    elif (schedule.n, schedule.batch_size) != (len(data.y_train), batch_size):
        raise ValueError(f"the schedule must cut {len(data.y_train)} training examples into batches of {batch_size}, "
                         f"got {schedule.n} examples in batches of {schedule.batch_size}; build it from the same data")
    tdata = tdata or TorchData.from_dataset(data, twins.device)
    result = LockstepResult()
    start = None  # (epoch, weights both twins had when that epoch began)
    try:
        for epoch in range(1, epochs + 1):
            # Two small copies per epoch make a divergence replayable to the exact step and let Ctrl-C
            # roll back a half-finished epoch, at no per-step cost.
            start = (epoch, _snapshot(twins))
            _lockstep_epoch(twins, data, tdata, schedule.epoch(), epoch, start[1], result)
            if progress is not None:
                progress(epoch)
    except KeyboardInterrupt:
        _keep_finished_epochs(twins, result, start)
        raise TrainingStopped("interrupted", result,
                              f"interrupted after {result.epochs_done} of {epochs} epochs") from None
    return result


def _snapshot(twins: Twins) -> tuple[dict, dict]:
    return ({k: v.copy() for k, v in twins.scratch.state_dict().items()},
            {k: v.detach().clone() for k, v in twins.net.state_dict().items()})


def _keep_finished_epochs(twins: Twins, result: LockstepResult, start: tuple[int, tuple[dict, dict]] | None) -> None:
    """After Ctrl-C: drop whatever of an epoch was half recorded and, if the twins had begun an epoch
    that was not recorded, put them back to the weights it started from, so the partial outputs
    describe finished epochs only."""
    done = min(len(result.history["scratch"]), len(result.history["torch"]), len(result.max_weight_diff))
    for rows in (result.step_losses["scratch"], result.step_losses["torch"], result.history["scratch"],
                 result.history["torch"], result.weight_scale, result.max_weight_diff):
        del rows[done:]
    if start is not None and start[0] > done:
        twins.scratch.load_state_dict(start[1][0])
        twins.net.load_state_dict(start[1][1])


def _lockstep_epoch(twins: Twins, data: Dataset, tdata: TorchData, batches: list[np.ndarray], epoch: int,
                    start: tuple[dict, dict], result: LockstepResult) -> None:
    clock = time.perf_counter
    t0 = clock()
    with np.errstate(over="ignore", invalid="ignore"):  # divergence is detected below, not by warnings
        losses_scratch = scratch.train_epoch(twins.scratch, ((data.X_train[i], data.y_train[i]) for i in batches),
                                             twins.lr)
    t1 = clock()
    idx = [torch.from_numpy(i).to(twins.device) for i in batches]
    losses_torch = torch_impl.train_epoch(twins.net, twins.loss_fn, twins.optimizer,
                                          ((tdata.X_train[i], tdata.y_train[i]) for i in idx))
    if twins.device.type == "cuda":
        torch.cuda.synchronize()
    t2 = clock()
    if not (_scratch_finite(twins.scratch) and _torch_finite(twins.net)):
        with np.errstate(all="ignore"):
            first = locate_divergence(twins, data, tdata, batches, start)
        message, detail = _divergence_message(epoch, first, twins.lr)
        raise TrainingStopped("diverged", result, message, detail)
    row_scratch = scratch_history_row(epoch, twins.scratch, data.X_train, data.y_train, data.X_valid, data.y_valid)
    t3 = clock()
    row_torch = torch_history_row(epoch, twins.net, tdata.X_train, tdata.y_train, tdata.X_valid, tdata.y_valid,
                                  twins.loss_name)
    t4 = clock()
    gap = max_weight_diff(twins.scratch, twins.net)
    # Record the epoch only once it is whole; the last append is what makes it count (epochs_done).
    for twin, seconds in (("scratch", (t1 - t0, t3 - t2)), ("torch", (t2 - t1, t4 - t3))):
        result.timing[twin]["train_s"] += seconds[0]
        result.timing[twin]["eval_s"] += seconds[1]
        result.epoch_train_s[twin].append(seconds[0])
    result.step_losses["scratch"].append(losses_scratch)
    result.step_losses["torch"].append(losses_torch)
    result.history["scratch"].append(row_scratch)
    result.history["torch"].append(row_torch)
    result.weight_scale.append(max(float(np.max(np.abs(w))) for w in twins.scratch.state_dict().values()))
    result.max_weight_diff.append(gap)


def lockstep_steps(twins: Twins, X: np.ndarray, y: np.ndarray, batches: list[np.ndarray]
                   ) -> Iterator[tuple[float, float, dict[str, np.ndarray], dict[str, np.ndarray]]]:
    """Step both twins one batch at a time; yields ``(loss_scratch, loss_torch, W_scratch, W_torch)``.

    The losses are each twin's loss on the batch *before* its update; the weights are after it.
    For tests that check the loss and every parameter after every step.
    """
    Xt, yt = torch.from_numpy(X).to(twins.device), torch.from_numpy(y).to(twins.device)
    for idx in batches:
        loss_s = twins.scratch.loss(X[idx], y[idx])
        scratch.sgd_step(twins.scratch, X[idx], y[idx], twins.lr)
        it = torch.from_numpy(idx).to(twins.device)
        loss_t = torch_impl.train_step(twins.net, twins.loss_fn, twins.optimizer, Xt[it], yt[it]).item()
        yield (loss_s, loss_t, {k: v.copy() for k, v in twins.scratch.state_dict().items()},
               {k: v.detach().cpu().numpy().copy() for k, v in twins.net.state_dict().items()})


def predict_test_set(twins: Twins, data: Dataset, tdata: TorchData) -> dict[str, np.ndarray]:
    """Predicted test labels of each twin, (n_test,) each."""
    with torch.inference_mode():
        twins.net.eval()
        pred_t = twins.net(tdata.X_test).argmax(dim=1).cpu().numpy()
    return {"scratch": twins.scratch.predict(data.X_test), "torch": pred_t}
