"""``--compare-dtypes``: the same run again in the other float type, one row per dtype.

The rerun comes after a finished first run, which may have taken many minutes, so its failure must
never cost that run: a divergence or a Ctrl-C during the rerun becomes its row's ``status``
(``"diverged"`` / ``"interrupted"``) and ``message``, beside the numbers of the epochs it finished.
A learning rate too large for float32 is ``"skipped"``. Any other exception is a bug; the caller
records it (``"failed"``), writes the first run's outputs, then lets it surface.

Row (``metrics["dtype_comparison"][dtype]``): ``status``, ``epochs_done``, ``max_weight_diff``
(one number per finished epoch), ``history_max_diff``; a complete row adds ``test_disagreements`` and
``torch_over_scratch``, a stopped one ``message`` (and ``stopped``: the divergence's epoch and step).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..config import FLOAT32_MAX, RunConfig
from ..data.load import load_dataset
from .lockstep import LockstepResult, TorchData, TrainingStopped, lockstep_train, make_twins, predict_test_set


def history_max_diff(history: dict[str, list[dict]]) -> float:
    """Largest |scratch - torch| over every numeric field of every epoch."""
    diffs = [abs(s[k] - t[k]) for s, t in zip(history["scratch"], history["torch"]) for k in s if k != "epoch"]
    return float(max(diffs, default=0.0))


def dtype_row(result: LockstepResult, preds: dict[str, np.ndarray]) -> dict:
    """What the dtype comparison shows of one finished run."""
    t = result.timing
    return {"status": "complete", "epochs_done": result.epochs_done, "max_weight_diff": result.max_weight_diff,
            "history_max_diff": history_max_diff(result.history),
            "test_disagreements": int(np.sum(preds["scratch"] != preds["torch"])),
            "torch_over_scratch": t["torch"]["train_s"] / t["scratch"]["train_s"]}


def stopped_row(status: str, message: str, result: LockstepResult | None = None, detail: dict | None = None) -> dict:
    """A rerun that did not finish: why, and the numbers of the epochs it did finish."""
    result = result or LockstepResult()
    row = {"status": status, "message": message, "epochs_done": result.epochs_done,
           "max_weight_diff": result.max_weight_diff}
    if result.epochs_done:
        row["history_max_diff"] = history_max_diff(result.history)
    if detail:
        row["stopped"] = detail
    return row


def other_dtype(dtype: str) -> str:
    return "float32" if dtype == "float64" else "float64"


def rerun_in_other_dtype(config: RunConfig, sizes: list[int],
                         progress: Callable[[str, int], None] | None = None) -> dict[str, dict]:
    """The same run (seed, split, initial weights, batches) in the other float type: ``{dtype: row}``.

    The data is loaded again in that dtype rather than cast, so float64 inputs are never float32's
    rounded pixels. ``progress(dtype, epoch)`` is called after each of its epochs. Divergence and
    Ctrl-C end up in the row, never raised.
    """
    other = other_dtype(config.dtype)
    if other == "float32" and config.lr > FLOAT32_MAX:
        return {other: stopped_row("skipped", f"learning rate {config.lr:g} does not fit in float32 "
                                              f"(largest {FLOAT32_MAX:.4g}), so there is no float32 run")}
    epoch_done = None if progress is None else (lambda epoch: progress(other, epoch))
    result = None
    try:
        data = load_dataset(config.dataset, config.data_dir, config.valid_size, config.seed, np.dtype(other))
        twins = make_twins(sizes, config.activation, config.loss, config.seed, np.dtype(other), config.lr,
                           config.device)
        tdata = TorchData.from_dataset(data, twins.device)
        result = lockstep_train(twins, data, config.epochs, config.batch_size, config.seed,
                                progress=epoch_done, tdata=tdata)
        return {other: dtype_row(result, predict_test_set(twins, data, tdata))}
    except TrainingStopped as e:
        return {other: stopped_row(e.reason, str(e), e.result, e.detail if e.reason == "diverged" else None)}
    except KeyboardInterrupt:  # while loading, building the twins or scoring the test set, outside the epochs
        when = "after all its epochs, while scoring the test set" if result else "before its first epoch"
        return {other: stopped_row("interrupted", f"interrupted {when}", result)}
