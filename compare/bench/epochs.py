"""The work that is timed: synthetic batches, the BLAS floor's epoch and both twins' training epochs.

Every epoch runs on the same pre-gathered batches (synthetic data of MNIST's shape: the values do not
change the work). The BLAS floor of a network is its epoch's matrix products alone, written into
preallocated arrays: per batch and layer the forward ``a @ W.T``, the weight gradient ``delta.T @ a``
and, above the first layer, ``delta @ W``. Nothing else a training step does (activations, loss,
updates, Python) is in it.

Lesson: the training loop of "Implementing a Multi-Layer NN" (784 -> 50 -> 10, batch 100, 55,000 rows).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import DTypeLike

if TYPE_CHECKING:
    from ..twins.lockstep import Twins

Batches = list[tuple[np.ndarray, np.ndarray]]  # [(X_b (B, D), y_b (B,)), ...]


def synthetic_data(rows: int, dtype: DTypeLike, seed: int = 0, features: int = 784,
                   classes: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """X (rows, features) uniform in [-1, 1] like scaled pixels, y (rows,) int64 labels."""
    rng = np.random.default_rng(seed)
    return rng.uniform(-1, 1, size=(rows, features)).astype(dtype), rng.integers(0, classes, size=rows)


def gather_batches(X: np.ndarray, y: np.ndarray, batch_size: int, seed: int) -> Batches:
    """One epoch's shuffled batches, each gathered once into its own contiguous arrays."""
    from ..data.schedule import BatchSchedule

    return [(np.take(X, i, axis=0), np.take(y, i)) for i in BatchSchedule(len(y), batch_size, seed).epoch()]


def epoch_flops(sizes: Sequence[int], batch_size: int, steps: int) -> int:
    """Floating-point operations (2 per multiply-add) of one epoch's matrix products."""
    per_step = sum(2 * batch_size * n_in * n_out * (2 if i == 0 else 3)
                   for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])))
    return per_step * steps


def floor_epoch(sizes: Sequence[int], batches: Batches, dtype: DTypeLike) -> Callable[[], None]:
    """The epoch's matrix products alone, into preallocated outputs (see the module docstring)."""
    rng = np.random.default_rng(1)
    B = batches[0][0].shape[0]
    Ws = [rng.normal(0, 0.1, (o, i)).astype(dtype) for i, o in zip(sizes[:-1], sizes[1:])]
    hidden = [rng.uniform(0, 1, (B, n)).astype(dtype) for n in sizes[1:-1]]  # inputs of layers 1 .. L-1
    deltas = [rng.normal(0, 0.01, (B, n)).astype(dtype) for n in sizes[1:]]
    z = [np.empty((B, n), dtype) for n in sizes[1:]]
    dW = [np.empty_like(W) for W in Ws]
    da = [np.empty((B, n), dtype) for n in sizes[:-1]]

    def run() -> None:
        for Xb, _ in batches:
            for i, W in enumerate(Ws):
                a = Xb if i == 0 else hidden[i - 1]
                np.matmul(a, W.T, out=z[i])                  # forward (B, out)
                np.matmul(deltas[i].T, a, out=dW[i])         # weight gradient (out, in)
                if i > 0:
                    np.matmul(deltas[i], W, out=da[i])       # gradient for the layer below (B, in)
    return run


def twin_epochs(sizes: Sequence[int], batches: Batches, dtype: DTypeLike, lr: float,
                seed: int, device: str | None = None) -> tuple[Twins, dict[str, Callable[[], object]]]:
    """``(twins, {"scratch": epoch, "torch": epoch})``: both twins, same initial weights, and a
    callable that trains each for one epoch on ``batches``.

    scratch: ``sgd_step`` per batch, i.e. ``MLP.gradients`` then the update of the live
    ``state_dict()`` arrays. torch: the idiomatic ``train_epoch`` (zero_grad, backward, step), on
    ``device`` (the batches are copied there first; the epoch ends with its losses copied back, which
    waits for a GPU to finish).
    """
    import torch

    import scratch
    import torch_impl

    from ..twins.lockstep import make_twins

    twins = make_twins(list(sizes), seed=seed, dtype=np.dtype(dtype), lr=lr, device=device)
    tbatches = [(torch.from_numpy(Xb).to(twins.device), torch.from_numpy(yb).to(twins.device))  # CPU: shares memory
                for Xb, yb in batches]
    return twins, {"scratch": lambda: scratch.train_epoch(twins.scratch, batches, lr),
                   "torch": lambda: torch_impl.train_epoch(twins.net, twins.loss_fn, twins.optimizer, tbatches)}
