"""Did the run's twins agree? The agreement policy applied to a lockstep run, replayed step by step if needed.

The run trains each twin a whole epoch at a time (so neither slows the other) and looks at the weight gap
at epoch ends. When every one of those gaps is within the dtype's tolerance the twins agree and nothing
more is done: the default run pays nothing. Otherwise the run is replayed from its first weights, both
twins stepping together batch by batch, so the policy can judge every step against the noise envelope
(``compare.agreement``) and say where the twins parted, or where training began to amplify rounding.

Lesson: the training loop, twice, and the question every side-by-side comparison must answer.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch

import scratch
import torch_impl

from ..agreement.envelope import envelope_steps
from ..agreement.policy import Agreement, agreed_within_floor, judge, within_floor
from ..data.load import Dataset
from ..data.schedule import BatchSchedule
from .lockstep import LockstepResult, Twins
from .transfer import torch_state_numpy


def step_gaps(twins: Twins, X: np.ndarray, y: np.ndarray, batches: list[np.ndarray]) -> Iterator[tuple[float, float]]:
    """Step both twins together over ``batches``; per step, the largest weight gap and the scratch twin's
    largest |weight|. Lazy: the policy stops pulling once it has its verdict."""
    Xt, yt = torch.from_numpy(X).to(twins.device), torch.from_numpy(y).to(twins.device)
    for idx in batches:
        with np.errstate(all="ignore"):
            scratch.sgd_step(twins.scratch, X[idx], y[idx], twins.lr)
        it = torch.from_numpy(idx).to(twins.device)
        torch_impl.train_step(twins.net, twins.loss_fn, twins.optimizer, Xt[it], yt[it])
        theirs, mine = torch_state_numpy(twins.net), twins.scratch.state_dict()
        yield (max(float(np.max(np.abs(w - theirs[key]))) for key, w in mine.items()),
               max(float(np.max(np.abs(w))) for w in mine.values()))


def training_agreement(make: Callable[[], Twins], data: Dataset, result: LockstepResult, batch_size: int,
                       seed: int, lr: float) -> Agreement:
    """The verdict on ``result``, a lockstep run of the twins ``make()`` builds (fresh, at the run's first
    weights) on ``data`` with ``BatchSchedule(len(data.y_train), batch_size, seed)`` at learning rate ``lr``.

    The replay is checked against the run: its gap at each epoch end it reaches must be the run's own, bit
    for bit; where it is not (a device that does not repeat its sums), the verdict says so.
    """
    n = len(data.y_train)
    steps_per_epoch = n // batch_size
    steps = result.epochs_done * steps_per_epoch
    dtype = data.X_train.dtype
    words: dict[str, Any] = dict(lr=lr, batch_size=batch_size, steps_per_epoch=steps_per_epoch)
    if within_floor(result.max_weight_diff, result.weight_scale, dtype):
        return agreed_within_floor(max(result.max_weight_diff, default=0.0), dtype, steps=steps, at_epoch_ends=True,
                                   **words)
    twins = make()
    start = {k: v.copy() for k, v in twins.scratch.state_dict().items()}
    schedule = BatchSchedule(n, batch_size, seed)
    batches = [idx for _ in range(result.epochs_done) for idx in schedule.epoch()]
    model = twins.scratch
    envelope = envelope_steps(model.sizes, model.activation, model.loss_name, dtype, start, data.X_train,
                              data.y_train, batches, lr, seed)
    replayed: list[float] = []

    def recorded() -> Iterator[tuple[float, float]]:
        for gap, scale in step_gaps(twins, data.X_train, data.y_train, batches):
            replayed.append(gap)
            yield gap, scale

    verdict = judge(recorded(), envelope, dtype, steps=steps, **words)
    differ = [(e, replayed[e * steps_per_epoch - 1], run) for e, run in enumerate(result.max_weight_diff, 1)
              if e * steps_per_epoch <= len(replayed) and replayed[e * steps_per_epoch - 1] != run]
    if differ:
        e, again, run = differ[0]
        note = (f"judged on a step-by-step replay, which did not repeat the run exactly (gap after epoch {e}: "
                f"{again:.3g} in the replay, {run:.3g} in the run)")
        verdict = dataclasses.replace(verdict, note=note)
    return verdict
