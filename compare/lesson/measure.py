"""The bridge lesson's measurements: every step of the lesson run on both twins, on real digits.

``measure_lesson`` returns, per step key of ``compare.lesson.pages.STEPS``, the shapes at that step, the
measured agreement rows and notes (each step is one function of ``compare.lesson.steps``, called here in the
lesson's order); ``measure_trap`` works the 10x trap through with real numbers.

Lesson: the whole of "Implementing a Multi-Layer NN", from loading the digits to the misclassified examples.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

import scratch
import torch_impl
from scratch.lesson import train

from ..data.load import Dataset, describe_batch, gradient_check_batch, label_counts, load_dataset
from ..data.schedule import BatchSchedule
from ..twins.threads import same_threads
from ..twins.transfer import scratch_to_torch
from . import steps as step
from .steps import BATCH, CLASSES, HIDDEN, LR, NAMES, Measured, tensor
from .walkthrough import WALK_EPOCHS, WalkthroughRun, walkthrough_inputs

LESSON_TRAIN = 3500   # training examples the demos use (all of mnist-5k's): one epoch is a blink
TRAP_EPOCHS = 5       # epochs of the 10x-trap demonstration: enough to see the gap open


def lesson_arrays(data: Dataset, seed: int) -> dict[str, np.ndarray]:
    """float64 copies (the lesson's network is float64): a seeded pick of up to ``LESSON_TRAIN`` training
    rows, the validation and the test set; ``batch``, the indices into the pick of the one batch the lesson
    compares forward, loss, gradients and a step on (``BATCH`` rows, stratified and seeded as every gradient
    check here is, so every class is present), and that batch as loaded."""
    pick = np.random.default_rng(seed).permutation(len(data.y_train))[:LESSON_TRAIN]
    batch = gradient_check_batch(data.y_train[pick], BATCH, seed, CLASSES)
    f64 = lambda a: np.asarray(a, dtype=np.float64)  # noqa: E731
    return {"X": f64(data.X_train[pick]), "y": data.y_train[pick], "Xv": f64(data.X_valid), "yv": data.y_valid,
            "Xt": f64(data.X_test), "yt": data.y_test, "batch": batch, "batch_as_loaded": data.X_train[pick[batch]]}


def twins(n_features: int, seed: int) -> tuple[scratch.NeuralNetMLP, nn.Sequential]:
    """The lesson's ``NeuralNetMLP`` and the float64 ``nn.Sequential`` holding a copy of its weights."""
    model = scratch.NeuralNetMLP(n_features, HIDDEN, CLASSES, random_seed=seed)
    net = torch_impl.build_model([n_features, HIDDEN, CLASSES], "sigmoid", "mse").double()
    scratch_to_torch(model, net)
    return model, net


def start_script(a: dict, seed: int) -> WalkthroughRun:
    """The PyTorch column started on the lesson's arrays ``a`` (``lesson_arrays``), to run while the caller
    does other work."""
    model = scratch.NeuralNetMLP(a["X"].shape[1], HIDDEN, CLASSES, random_seed=seed)
    return WalkthroughRun(walkthrough_inputs(a["X"], a["y"], a["Xv"], a["yv"], a["Xt"], a["yt"], model, seed))


NOT_RUN = ("The PyTorch column was not run for this page: `mlp-compare run` keeps to its time budget, and a fresh "
           "interpreter with torch and its optimizer takes about 4 s. `mlp-compare lesson` runs it, cell by cell, and "
           "sets each cell's own results beside the book's.")


def measure_lesson(data: Dataset | None = None, seed: int = 123, run_script: bool = True) -> dict:
    """Run every step of the lesson on both sides and measure how well they agree. Lesson: all of it.
    ``run_script``: also run the PyTorch column as shown, in a fresh interpreter (``start_script``), while the
    other steps are measured, and set its cells' results beside the book's."""
    data = data if data is not None else load_dataset("mnist-5k", seed=seed)
    a = lesson_arrays(data, seed)
    started = start_script(a, seed) if run_script else None
    try:
        with same_threads(1):  # its arrays are small, where extra threads only cost (and wait badly when busy)
            return _measure(data, seed, a, started)
    finally:
        if started is not None:
            started.close()


def _measure(data: Dataset, seed: int, a: dict, started: WalkthroughRun | None) -> dict:
    """Every step in the lesson's order on ``data`` and its ``lesson_arrays`` ``a``; each records into its own
    ``Measured``, keyed as ``pages.STEPS``."""
    X, y, Xb, yb = a["X"], a["y"], a["X"][a["batch"]], a["y"][a["batch"]]
    records: dict[str, Measured] = defaultdict(Measured)   # one per step
    step.load(records["load"], data)
    step.normalise(records["normalise"], data, Xb, a["batch_as_loaded"])
    onehot = step.onehot(records["onehot"], yb)
    step.split(records["split"], data)
    model, net = step.init(records["init"], data.n_features, seed)
    step.dtypes(records["dtype"], model, Xb, yb)
    a_h, a_out = step.forward(records["forward"], model, net, Xb)
    loss_t = step.loss(records["loss"], model, net, Xb, yb, a_out, onehot)
    step.backward(records["backward"], model, net, loss_t, Xb, yb, a_h, a_out)
    opt = step.update(records["update"], model, net, Xb, yb)
    step.minibatches(records["minibatches"], model, net, opt, X, y, seed)
    step.evaluate(records["evaluate"], model, net, a["Xv"], a["yv"])
    step.misclassified(records["misclassified"], model, net, a["Xt"], a["yt"])
    if started is not None:
        measure_script(records, a, seed, started)
    else:
        records["minibatches"].notes.append(NOT_RUN)
    about = (f"{data.name}: {len(y)} training rows picked with seed {seed}, batches of {BATCH}; the steps on one "
             f"batch use a stratified draw of {BATCH} of them, {describe_batch(label_counts(yb, CLASSES))}")
    return {"about": about,
            "steps": {k: v.as_dict() for k, v in records.items()}, "trap": measure_trap(a, data.n_features, seed)}


def measure_trap(a: dict, n_features: int, seed: int) -> dict:
    """The 10x trap in numbers: L, the printed MSE, ``nn.MSELoss()``, their gradients, and short trainings."""
    model, net = twins(n_features, seed)
    Xb, yb = a["X"][a["batch"]], a["y"][a["batch"]]
    out = net(tensor(Xb))
    onehot = F.one_hot(tensor(yb), CLASSES).double()
    L, mse = torch_impl.squared_error_loss(out, tensor(yb)), torch.nn.MSELoss()(out, onehot)
    g_L = torch.autograd.grad(L, list(net.parameters()), retain_graph=True)
    g_M = torch.autograd.grad(mse, list(net.parameters()))
    manual = model.gradients(Xb, yb)
    grads = [{"name": name, "manual_vs_L": float(np.max(np.abs(manual[name] - gl.numpy()))),
              "ratio": float(gl.norm() / gm.norm()),
              "deviation": float((gl - 10 * gm).abs().max() / gl.abs().max())}
             for (name, _), gl, gm in zip(net.named_parameters(), g_L, g_M)]
    X, y, Xv, yv = tensor(a["X"]), tensor(a["y"]), tensor(a["Xv"]), tensor(a["yv"])
    runs = {}
    for label, loss, lr in (("L (the twin), lr 0.1", "mse", LR), ("nn.MSELoss(), lr 0.1", "mse-mean", LR),
                            ("nn.MSELoss(), lr 1.0", "mse-mean", 10 * LR)):
        _, net_r = twins(n_features, seed)
        opt, loss_fn = torch_impl.make_optimizer(net_r, lr), torch_impl.loss_function(loss)
        schedule = BatchSchedule(len(a["y"]), BATCH, seed)
        accs = []
        for _ in range(TRAP_EPOCHS):
            torch_impl.train_epoch(net_r, loss_fn, opt, ((X[tensor(i)], y[tensor(i)]) for i in schedule.epoch()))
            accs.append(torch_impl.evaluate(net_r, Xv, yv, "mse")["acc"])
        runs[label] = {"valid_acc": accs, "weights": [p.detach().numpy().copy() for p in net_r.parameters()]}
    w1, w3 = runs["L (the twin), lr 0.1"]["weights"], runs["nn.MSELoss(), lr 1.0"]["weights"]
    return {"L": L.item(), "printed_mse": scratch.mse_loss(yb, out.detach().numpy()), "nn_mse": mse.item(),
            "grads": grads, "epochs": TRAP_EPOCHS, "train_rows": len(a["y"]),
            "batch": describe_batch(label_counts(yb, CLASSES)),
            "runs": {k: v["valid_acc"] for k, v in runs.items()},
            "rescaled_gap": max(float(np.max(np.abs(p - q))) for p, q in zip(w1, w3))}


def measure_script(records: dict[str, Measured], a: dict, seed: int, started: WalkthroughRun) -> None:
    """The PyTorch column as it is shown, run whole in a fresh interpreter: each cell's own results beside
    the book's, in that cell's step (rows "as run"), the book's side computed by its own code."""
    model = scratch.NeuralNetMLP(a["X"].shape[1], HIDDEN, CLASSES, random_seed=seed)
    r = started.results()
    X, y = a["X"][:BATCH], a["y"][:BATCH]   # the rows the cells take: X_train[:100]
    a_h, a_out = model.forward(X)
    grads = dict(zip(("2.weight", "2.bias", "0.weight", "0.bias"), model.backward(X, a_h, a_out, y)))
    records["forward"].agree("as run: `a_out` / the cell's `net(X)`, `X_train[:100]`", a_out, r["a_out"])
    for key, name in NAMES.items():
        records["backward"].agree(f"as run: the book's d{name} / the cell's `{key}` `.grad`", grads[key],
                                  r[f"grad {key}"], "gradient")
        records["update"].agree(f"as run: `{name} - 0.1 d{name}` / the cell's `{key}` after `step()`",
                                getattr(model, name) - LR * grads[key], r[f"one step {key}"])
    train(model, a["X"], a["y"], a["Xv"], a["yv"], WALK_EPOCHS, rng=np.random.default_rng(seed), log=None)
    for key, name in NAMES.items():
        records["minibatches"].agree(f"as run: `{name}` after {WALK_EPOCHS} epochs of `train()` / the cell's "
                                     f"`{key}`", getattr(model, name), r[f"trained {key}"])
    records["evaluate"].agree(f"as run: the book's accuracy on all {len(a['yv'])} / the cell's `valid_acc`",
                              scratch.accuracy(a["yv"], model.forward(a["Xv"])[1].argmax(axis=1)), r["valid_acc"])
    pred = model.forward(a["Xt"])[1].argmax(axis=1)
    records["misclassified"].agree("as run: the book's test predictions / the cell's `test_pred`", pred,
                                   r["test_pred"])
    printed = str(r["printed"]).strip().splitlines()
    records["misclassified"].notes.append(f"As run, after {WALK_EPOCHS} epochs, the cells printed: "
                                          + "; ".join(f"`{line}`" for line in printed[-2:]))
    records["minibatches"].notes.append(
        f"The PyTorch column is `torch_impl/walkthrough.py`, cell by cell. When this page was written it ran "
        f"whole, in a fresh interpreter, on these arrays and the book's initial weights, {WALK_EPOCHS} epochs "
        f"over the batches the book's `train()` draws (its `DataLoader` takes them as its `batch_sampler`). "
        f"The rows \"as run\" in each step set that cell's own results beside the book's; the other rows "
        f"measure the twins this page builds, one step and one more epoch into training.")
