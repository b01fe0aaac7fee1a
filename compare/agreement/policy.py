"""The one agreement policy for training: agree, part, or "beyond here nothing can be told apart".

After every step the two sides' largest weight gap is judged against

    allowed = FACTOR x envelope + floor

where ``envelope`` is how far two *correct* implementations drift apart by that step on the same problem
(``envelope.envelope_steps``) and ``floor`` is the dtype's tolerance (``tolerances``, the ``gradient`` row,
relative to the weights' magnitude: each step moves the weights by lr x gradient). The envelope is measured
lazily: a run whose every gap stays within the floor agrees without it, so the default run pays nothing.

Where the envelope grows past ``USEFUL`` of the weights' magnitude, training amplifies rounding until
correct implementations part (lr 2, batch 10 on mnist-5k: at step 132 of the first epoch; their weights
are 2.8 apart after 3 epochs): the comparison stops there, says so, and blames nothing beyond it. The
same ``USEFUL`` holds for float32, whose ulp is 2^29 times float64's: there the envelope reaches it
sooner, and the summary says where.

Why FACTOR 1000: over sigmoid, tanh and ReLU, squared error and cross-entropy, float32 and float64, lr 0.5
and 3, batch 10 and 32, at one and two threads, the real twins' gap beyond the floor reached at most 105x
the envelope (tanh, cross-entropy, lr 3, batch 32, two threads: their products summed in other orders
than the envelope's one ulp per step models) and 24x everywhere else; a learning rate off by one part in
a million is 4.5e8 times the envelope at its first step (lr 0.1, batch 100).

``Agreement`` is the one verdict object a training comparison produces: the exit code, the summary line,
the report and the JSON all read it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from .tolerances import tolerance

FACTOR = 1000.0  # allowed gap: this many envelopes, plus the floor
USEFUL = 1e-4    # envelope / weight magnitude beyond which two correct runs have parted: stop comparing
KIND = "gradient"  # the tolerance row weights are judged by


@dataclass(frozen=True)
class Agreement:
    """The verdict on one training comparison; steps count from 1, over the whole run."""

    passed: bool
    dtype: str
    steps: int                       # steps trained
    steps_per_epoch: int
    compared_through: int            # last step judged: ``steps`` unless training amplified rounding
    largest_gap: float               # over the steps judged
    rtol: float
    atol: float
    lr: float
    batch_size: int
    envelope_measured: bool = False
    envelope: float | None = None    # the envelope at the last step judged (or at the parting)
    chaotic_from: int | None = None  # first step where two correct implementations are apart
    parted_at: int | None = None     # first step whose gap exceeds what is allowed
    gap_at_parting: float | None = None
    allowed_at_parting: float | None = None
    at_epoch_ends: bool = False      # only the gaps at epoch ends were looked at (all within the floor)
    note: str = ""                   # anything else a reader of the verdict must know, one sentence

    def where(self, step: int) -> str:
        """``"epoch 2, step 31 (step 381 overall)"``; just ``"epoch 1, step 31"`` in the first epoch."""
        epoch, within = divmod(step - 1, self.steps_per_epoch)
        return f"epoch {epoch + 1}, step {within + 1}" + (f" (step {step} overall)" if epoch else "")

    @property
    def chaotic(self) -> bool:
        return self.chaotic_from is not None

    def summary(self) -> str:
        """The verdict in one line, in words a learner reads."""
        return self._words() + (f"; {self.note}" if self.note else "")

    def _words(self) -> str:
        if self.parted_at is not None:
            return (f"PARTED at {self.where(self.parted_at)}: the weights are {self.gap_at_parting:.2g} apart, where "
                    f"two correct implementations drift at most {self.envelope or 0:.2g} apart by then (allowed "
                    f"{self.allowed_at_parting:.2g}: {FACTOR:g}x that plus the {self.dtype} tolerance)")
        if self.chaotic_from is not None:
            through = (f"compared through step {self.compared_through}, where they agree (weights at most "
                       f"{self.largest_gap:.2g} apart)" if self.compared_through else "nothing could be compared")
            return (f"agree as far as can be told: at lr {self.lr:g} and batch {self.batch_size} training amplifies "
                    f"rounding until two correct implementations part, at {self.where(self.chaotic_from)}; "
                    f"{through}; nothing beyond is blamed")
        if self.envelope_measured:
            return (f"agree within the noise envelope: weights at most {self.largest_gap:.2g} apart over {self.steps} "
                    f"steps, where two correct implementations drift {self.envelope or 0:.2g} apart (allowed: "
                    f"{FACTOR:g}x that plus the {self.dtype} tolerance)")
        when = f"at the end of every epoch ({self.steps} steps)" if self.at_epoch_ends else f"over {self.steps} steps"
        return (f"agree: weights at most {self.largest_gap:.2g} apart {when}, within the {self.dtype} tolerance "
                f"(rtol {self.rtol:g}) without any drift to explain")

    def as_dict(self) -> dict:
        return {"passed": self.passed, "summary": self.summary(), "dtype": self.dtype, "steps": self.steps,
                "steps_per_epoch": self.steps_per_epoch, "compared_through": self.compared_through,
                "largest_gap": self.largest_gap, "rtol": self.rtol, "atol": self.atol, "factor": FACTOR,
                "useful": USEFUL, "lr": self.lr, "batch_size": self.batch_size,
                "envelope_measured": self.envelope_measured, "envelope": self.envelope,
                "chaotic_from": self.chaotic_from, "parted_at": self.parted_at,
                "parted_where": self.where(self.parted_at) if self.parted_at else None,
                "gap_at_parting": self.gap_at_parting, "allowed_at_parting": self.allowed_at_parting,
                "at_epoch_ends": self.at_epoch_ends, "note": self.note}


def floor(dtype, scale) -> np.ndarray:
    """The dtype's tolerance for weights of magnitude ``scale`` (a number or an array of them)."""
    rtol, atol = tolerance(dtype, KIND)
    return atol + rtol * np.asarray(scale, dtype=np.float64)


def within_floor(gaps, scales, dtype) -> bool:
    """Every gap within the floor: the twins agree without needing the envelope."""
    gaps = np.asarray(gaps, dtype=np.float64)
    return bool(np.all(np.isfinite(gaps)) and np.all(gaps <= floor(dtype, scales)))


def judge(gaps: Iterable[tuple[float, float]], envelope: Iterable[tuple[float, float]], dtype, *, steps: int,
          lr: float, batch_size: int, steps_per_epoch: int) -> Agreement:
    """The verdict on two sides' per-step ``(gap, weight magnitude)`` against the noise ``envelope``'s per-step
    ``(envelope so far, weight magnitude)`` over the same ``steps`` steps.

    Both are pulled one step at a time, and only until the verdict is settled: the first step beyond what is
    allowed, or the first where the envelope says correct implementations have parted. Callers check
    ``within_floor`` first, so the envelope is measured only when some gap needs explaining.
    """
    dtype = np.dtype(dtype).name
    rtol, atol = tolerance(dtype, KIND)
    common = dict(dtype=dtype, steps=steps, steps_per_epoch=max(steps_per_epoch, 1), rtol=rtol, atol=atol, lr=lr,
                  batch_size=batch_size, envelope_measured=True)
    largest, env = 0.0, 0.0
    for step, ((gap, scale), (env, env_scale)) in enumerate(zip(gaps, envelope), 1):
        if not env <= USEFUL * env_scale:  # NaN and inf count as apart
            return Agreement(True, compared_through=step - 1, largest_gap=largest, envelope=env,
                             chaotic_from=step, **common)
        allowed = FACTOR * env + float(floor(dtype, scale))
        if not gap <= allowed:
            return Agreement(False, compared_through=step, largest_gap=max(largest, gap), envelope=env,
                             parted_at=step, gap_at_parting=gap, allowed_at_parting=allowed, **common)
        largest = max(largest, gap)
    return Agreement(True, compared_through=steps, largest_gap=largest, envelope=env, **common)


def agreed_within_floor(largest_gap: float, dtype, *, steps: int, lr: float, batch_size: int,
                        steps_per_epoch: int, at_epoch_ends: bool = False) -> Agreement:
    """The verdict when every gap looked at (each step's, or each epoch end's) stayed within the floor."""
    dtype = np.dtype(dtype).name
    rtol, atol = tolerance(dtype, KIND)
    return Agreement(True, dtype=dtype, steps=steps, steps_per_epoch=max(steps_per_epoch, 1), compared_through=steps,
                     largest_gap=largest_gap, rtol=rtol, atol=atol, lr=lr, batch_size=batch_size,
                     at_epoch_ends=at_epoch_ends)
