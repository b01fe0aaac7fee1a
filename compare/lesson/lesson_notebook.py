"""``lesson.ipynb``: the bridge lesson as a notebook that runs, step by step, in ``pages.STEPS``' order.

Per step: a markdown cell (what happens, why, the shapes), the NumPy code and its PyTorch counterpart
quoted from the source (``torch_impl.idiomatic`` for PyTorch: what a learner writes), a cell that runs
them on real digits, and a check cell that prints how far the two sides are apart (``agree``). The
book's methods are quoted as functions of ``self`` and attached to a subclass of ``scratch.NeuralNetMLP``,
so a learner who changes a line of one sees the check below it move. Then the 10x trap, as cells to change.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nbformat import NotebookNode

from .notebook import INSTALL, code, markdown, notebook, quote, write_notebook
from .pages import STEPS, TRAP_TITLE


@dataclass(frozen=True)
class Cells:
    shapes: str                 # the arrays of the step, with their shapes
    quotes: tuple[str, ...]     # "module:qualname", in the order shown: NumPy first, then PyTorch
    run: str                    # runs the quoted code on real digits
    check: str                  # prints the agreement (and fails when the sides part)


CELLS = {
    "load": Cells(
        "`data.X_train` (3500, 784) float64, `data.y_train` (3500,) int64; the twin's tensors share their memory.",
        ("compare.data.load:load_dataset",),
        "data = compare.load_dataset(\"mnist-5k\", seed=SEED)   # the project's, whose source is above\n"
        "X_train_t, y_train_t = torch.from_numpy(data.X_train), torch.from_numpy(data.y_train)",
        "agree(\"training digits\", data.X_train, X_train_t)\n"
        "print(\"shares memory:\", X_train_t.data_ptr() == data.X_train.ctypes.data)"),
    "normalise": Cells(
        "raw images (n, 784) uint8 in [0, 255] -> (n, 784) float64 in [-1, 1].",
        ("compare.data.load:preprocess",),
        "raw, _ = load_embedded_mnist()\n"
        "X_scaled = preprocess(raw[:100])                                   # NumPy, the cell above\n"
        "X_scaled_t = (torch.from_numpy(raw[:100]).double() / 255. - 0.5) / 0.5   # ToTensor, Normalize((0.5,), (0.5,))\n"
        "X_scaled_t = X_scaled_t.flatten(start_dim=1)                             # (100, 28, 28) -> (100, 784)",
        "agree(\"scaled pixels\", X_scaled, X_scaled_t)\n"
        "print(\"range:\", X_scaled.min(), X_scaled.max())"),
    "onehot": Cells(
        "labels `y` (n,) int -> one-hot (n, 10) float64, one 1 per row.",
        ("scratch.lesson:int_to_onehot", "scratch.losses:onehot"),
        "y_batch = data.y_train[:100]\n"
        "onehot_numpy = int_to_onehot(y_batch, 10)\n"
        "onehot_torch = nn.functional.one_hot(torch.from_numpy(y_batch), num_classes=10)",
        "agree(\"one-hot targets\", onehot_numpy, onehot_torch)"),
    "split": Cells(
        "train (3500, 784), validation (500, 784), test (1000, 784); each class in proportion.",
        ("compare.data.load:stratified_indices",),
        "rest, drawn = stratified_indices(data.y_train, 500, np.random.default_rng(SEED))\n"
        "print(\"per class in the whole:\", np.bincount(data.y_train))\n"
        "print(\"per class in 500 drawn:\", np.bincount(data.y_train[drawn]))",
        "share = np.bincount(data.y_train) / len(data.y_train)\n"
        "agree(\"drawn per class vs 500 x share\", np.bincount(data.y_train[drawn]), 500 * share, atol=1)"),
    "init": Cells(
        "`weight_h` (50, 784), `bias_h` (50,), `weight_out` (10, 50), `bias_out` (10,): (out, in), as "
        "`nn.Linear` stores them, so the copy needs no transpose.",
        ("scratch.lesson:NeuralNetMLP.__init__", "torch_impl.idiomatic:make_net",
         "torch_impl.idiomatic:copy_book_weights"),
        "class NeuralNetMLP(scratch.NeuralNetMLP):\n"
        "    \"\"\"The book's network; the cells of this notebook attach its methods.\"\"\"\n\n"
        "NeuralNetMLP.__init__ = __init__   # the cell above\n"
        "model = NeuralNetMLP(num_features=784, num_hidden=50, num_classes=10, random_seed=SEED)\n"
        "net = make_net()\n"
        "copy_book_weights(net, model)\n"
        "net",
        "agree(\"weight_h vs net[0].weight\", model.weight_h, net[0].weight)\n"
        "agree(\"bias_h vs net[0].bias\", model.bias_h, net[0].bias)\n"
        "agree(\"weight_out vs net[2].weight\", model.weight_out, net[2].weight)\n"
        "agree(\"bias_out vs net[2].bias\", model.bias_out, net[2].bias)"),
    "forward": Cells(
        "`x` (100, 784) -> `z_h`, `a_h` (100, 50) -> `z_out`, `a_out` (100, 10).",
        ("scratch.lesson:NeuralNetMLP.forward",),
        "NeuralNetMLP.forward = forward   # the cell above\n"
        "X_batch, y_batch = data.X_train[:100], data.y_train[:100]\n"
        "X_t, y_t = torch.from_numpy(X_batch), torch.from_numpy(y_batch)\n"
        "a_h, a_out = model.forward(X_batch)\n"
        "out = net(X_t)   # PyTorch: call the Sequential",
        "agree(\"a_h vs net[:2](X)\", a_h, net[:2](X_t))\n"
        "agree(\"a_out vs net(X)\", a_out, out)"),
    "loss": Cells(
        "`a_out` (100, 10) and `y` (100,) -> one number; L = 10 x the printed MSE.",
        ("scratch.lesson:mse_loss", "scratch.lesson:NeuralNetMLP.loss", "torch_impl.idiomatic:loss_fn"),
        "NeuralNetMLP.loss = loss   # the cell above\n"
        "L_numpy = model.loss(X_batch, y_batch)\n"
        "L_torch = loss_fn(net(X_t), y_t)\n"
        "print(\"L:\", L_numpy, \" printed MSE:\", mse_loss(y_batch, a_out))",
        "agree(\"loss L\", L_numpy, L_torch)"),
    "backward": Cells(
        "the book's intermediates `d_loss__d_a_out`, `delta_out` (100, 10), `d_loss__a_h` and the hidden delta "
        "(100, 50) are autograd's `a_out.grad`, `z_out.grad`, `a_h.grad`, `z_h.grad`; each gradient has its "
        "parameter's shape.",
        ("scratch.lesson:NeuralNetMLP.backward", "torch_impl.idiomatic:forward_keeping_grads"),
        "NeuralNetMLP.backward = backward   # the cell above\n"
        "a_h, a_out = model.forward(X_batch)\n"
        "# run the book's backward and keep the locals it held when it returned: its named intermediates\n"
        "grads, book = locals_at_return(backward, lambda: model.backward(X_batch, a_h, a_out, y_batch))\n"
        "d_loss__dw_out, d_loss__db_out, d_loss__d_w_h, d_loss__d_b_h = grads\n"
        "net.zero_grad()\n"
        "kept = forward_keeping_grads(net, X_t)     # z_h, a_h, z_out, a_out, each keeping its .grad\n"
        "loss_fn(kept[\"a_out\"], y_t).backward()   # PyTorch: autograd fills every .grad",
        "agree(\"d_loss__d_a_out vs a_out.grad\", book[\"d_loss__d_a_out\"], kept[\"a_out\"].grad)\n"
        "agree(\"delta_out vs z_out.grad\", book[\"delta_out\"], kept[\"z_out\"].grad)\n"
        "agree(\"d_loss__a_h vs a_h.grad\", book[\"d_loss__a_h\"], kept[\"a_h\"].grad)\n"
        "agree(\"d_loss__a_h * d_a_h__d_z_h vs z_h.grad\", book[\"d_loss__a_h\"] * book[\"d_a_h__d_z_h\"], "
        "kept[\"z_h\"].grad)\n"
        "agree(\"d_loss__dw_out vs .grad\", d_loss__dw_out, net[2].weight.grad)\n"
        "agree(\"d_loss__db_out vs .grad\", d_loss__db_out, net[2].bias.grad)\n"
        "agree(\"d_loss__d_w_h vs .grad\", d_loss__d_w_h, net[0].weight.grad)\n"
        "agree(\"d_loss__d_b_h vs .grad\", d_loss__d_b_h, net[0].bias.grad)"),
    "dtype": Cells(
        "`X_t` float64 (NumPy's); `make_net()` float64 (its `.double()`); `.float()` makes it torch's usual float32.",
        (),
        "net32 = make_net().float()          # torch's usual dtype: float32\n"
        "copy_book_weights(net32, model)     # the book's float64 weights, rounded to float32\n"
        "try:\n"
        "    net32(X_t)                      # float64 digits into float32 layers\n"
        "except RuntimeError as e:\n"
        "    print(\"RuntimeError:\", e)\n"
        "out32 = net32(X_t.float())          # train in float32: feed it float32\n"
        "print(\"float64 net:\", (out - torch.from_numpy(a_out)).abs().max().item())\n"
        "print(\"float32 net:\", (out32.double() - torch.from_numpy(a_out)).abs().max().item())",
        "agree(\"a_out vs the float32 net, to float32's rounding\", a_out, out32.double(), rtol=1e-5, atol=1e-6)"),
    "update": Cells(
        "every parameter moves by `-learning_rate * gradient`, in place; shapes unchanged.",
        ("scratch.lesson:train", "torch_impl.idiomatic:train_step"),
        "optimizer = torch.optim.SGD(net.parameters(), lr=0.1)\n"
        "a_h, a_out = model.forward(X_batch)\n"
        "d_loss__d_w_out, d_loss__d_b_out, d_loss__d_w_h, d_loss__d_b_h = model.backward(X_batch, a_h, a_out, y_batch)\n"
        "model.weight_h -= 0.1 * d_loss__d_w_h          # the four update lines of the book's train()\n"
        "model.bias_h -= 0.1 * d_loss__d_b_h\n"
        "model.weight_out -= 0.1 * d_loss__d_w_out\n"
        "model.bias_out -= 0.1 * d_loss__d_b_out\n"
        "loss_t = train_step(net, optimizer, X_t, y_t)   # zero_grad, backward, step",
        "agree(\"weight_h after one step\", model.weight_h, net[0].weight)\n"
        "agree(\"weight_out after one step\", model.weight_out, net[2].weight)"),
    "minibatches": Cells(
        f"{3500 // 100} batches of (100, 784) per epoch; both sides eat the same batches in the same order.",
        ("scratch.lesson:minibatch_generator", "scratch.lesson:compute_mse_and_acc", "torch_impl.idiomatic:train_epoch"),
        "EPOCHS = 5\n"
        "model = NeuralNetMLP(num_features=784, num_hidden=50, num_classes=10, random_seed=SEED)\n"
        "net = make_net()\n"
        "copy_book_weights(net, model)\n"
        "optimizer = torch.optim.SGD(net.parameters(), lr=0.1)\n"
        "epoch_loss, _, _ = train(model, data.X_train, data.y_train, data.X_valid, data.y_valid, EPOCHS,\n"
        "                         rng=np.random.default_rng(SEED))   # the book's loop, its shuffles from this rng\n"
        "rng = np.random.default_rng(SEED)                           # the same shuffles again, for PyTorch\n"
        "losses_torch = []\n"
        "for epoch in range(EPOCHS):\n"
        "    batches = list(minibatch_generator(data.X_train, data.y_train, 100, rng))\n"
        "    losses_torch += train_epoch(net, optimizer, [(torch.from_numpy(X), torch.from_numpy(y)) for X, y in batches])\n"
        "plt.plot(losses_torch, label=\"PyTorch: L on each batch\")\n"
        "plt.plot([35 * (e + 1) for e in range(EPOCHS)], [10 * m for m in epoch_loss], \"o\", label=\"the book: 10 x printed MSE, per epoch\")\n"
        "plt.xlabel(\"step\"); plt.ylabel(\"loss L\"); plt.legend(); plt.show()",
        "agree(\"weight_h after training\", model.weight_h, net[0].weight)\n"
        "agree(\"weight_out after training\", model.weight_out, net[2].weight)"),
    "evaluate": Cells(
        "`X_valid` (500, 784) -> predicted labels (500,) -> one accuracy.",
        ("scratch.lesson:accuracy", "torch_impl.idiomatic:predict"),
        "X_valid_t, y_valid_t = torch.from_numpy(data.X_valid), torch.from_numpy(data.y_valid)\n"
        "acc_numpy = accuracy(data.y_valid, model.forward(data.X_valid)[1].argmax(axis=1))\n"
        "acc_torch = (predict(net, X_valid_t) == y_valid_t).double().mean()\n"
        "print(f\"validation accuracy after {EPOCHS} epochs: NumPy {acc_numpy:.4f}, PyTorch {acc_torch:.4f}\")",
        "agree(\"validation accuracy\", acc_numpy, acc_torch)"),
    "misclassified": Cells(
        "`X_test` (1000, 784) -> predictions (1000,); the misclassified digits shown as 28 x 28 images.",
        (),
        "pred_numpy = model.forward(data.X_test)[1].argmax(axis=1)\n"
        "pred_torch = predict(net, torch.from_numpy(data.X_test))\n"
        "wrong = np.flatnonzero(pred_numpy != data.y_test)\n"
        "fig, axes = plt.subplots(1, 8, figsize=(10, 2))\n"
        "for ax, i in zip(axes, wrong):\n"
        "    ax.imshow(data.X_test[i].reshape(28, 28), cmap=\"Greys\")\n"
        "    ax.set_title(f\"{data.y_test[i]} -> {pred_numpy[i]}\"); ax.axis(\"off\")\n"
        "plt.show()\n"
        "print(f\"{len(wrong)} of {len(data.y_test)} test digits misclassified\")",
        "agree(\"test predictions\", pred_numpy, pred_torch, rtol=0, atol=0)"),
}

SETUP = """\
from __future__ import annotations   # the quoted source is written with it: annotations are not evaluated

%matplotlib inline
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import nn

import compare
import scratch
from compare.data.load import load_embedded_mnist
from compare.lesson.agree import agree
from compare.lesson.intermediates import locals_at_return
from scratch import losses
from scratch.activations import sigmoid

torch.set_default_dtype(torch.float64)   # the twin computes in float64, as NumPy does
SEED = {seed}
started = time.perf_counter()"""

TRAP = [
    markdown(f"## {len(STEPS) + 1}. {TRAP_TITLE}\n\nThe book's backward differentiates L, the squared error **summed over the 10 "
             "classes** and averaged over the n examples. A first PyTorch port reaches for `nn.MSELoss()`, which "
             "averages over all n x 10 entries: its gradients are 10 times smaller, so at the same learning rate "
             "the port learns slower. Change the cell below and run the next ones again."),
    code("loss_fn = nn.MSELoss()   # what a first port writes"),
    code("def gradient_ratio(loss_fn):\n"
         "    \"\"\"|the book's d_loss__dw_out| / |the same gradient by autograd of loss_fn|, from the same weights.\"\"\"\n"
         "    model = NeuralNetMLP(num_features=784, num_hidden=50, num_classes=10, random_seed=SEED)\n"
         "    net = make_net()\n"
         "    copy_book_weights(net, model)\n"
         "    onehot_t = nn.functional.one_hot(y_t, num_classes=10).double()\n"
         "    loss_fn(net(X_t), onehot_t).backward()\n"
         "    a_h, a_out = model.forward(X_batch)\n"
         "    d_loss__dw_out = model.backward(X_batch, a_h, a_out, y_batch)[0]\n"
         "    ratio = np.linalg.norm(d_loss__dw_out) / np.linalg.norm(net[2].weight.grad.numpy())\n"
         "    print(f\"the book's gradient / this loss's gradient: {ratio:.6f}\")\n\n"
         "gradient_ratio(loss_fn)"),
    markdown("The ratio is 10: the number of classes. The fix is one line: sum over the classes, average over the "
             "examples. Run it and the cell after it: the ratio becomes 1."),
    code("loss_fn = lambda output, onehot: ((output - onehot) ** 2).sum(dim=1).mean()   # the fix"),
    code("gradient_ratio(loss_fn)"),
]


def lesson_cells(seed: int = 123) -> list[NotebookNode]:
    cells = [markdown(
        "# The bridge lesson: NumPy beside PyTorch, cell by cell\n\n"
        "The network of \"Implementing a Multi-Layer NN\" (784 -> 50 -> 10, sigmoid, squared error, mini-batch SGD, "
        "learning rate 0.1), written twice: the book's `NeuralNetMLP` in NumPy and an `nn.Sequential` trained the "
        "PyTorch way. Every code cell marked with a `# file:line` label is the project's real source; run them "
        "top to bottom. Each step ends with a check cell that prints how far the two sides are apart: a few "
        "times 1e-16 is the last bit of a float64." + INSTALL), code(SETUP.format(seed=seed))]
    for i, step in enumerate(STEPS, 1):
        c = CELLS[step.key]
        cells.append(markdown(f"## {i}. {step.title}\n\n{step.text}\n\n**Shapes:** {c.shapes}"))
        for target in c.quotes:
            cells.append(quote(target))
        cells += [code(c.run), code(c.check)]
    cells += TRAP
    cells += [markdown("## Done\n\nThe cell below prints how long the notebook took to run, top to bottom."),
              code("print(f\"executed in {time.perf_counter() - started:.1f} s\")")]
    return cells


def lesson_notebook(seed: int = 123) -> NotebookNode:
    return notebook(lesson_cells(seed))


def write_lesson_notebook(out: Path, seed: int = 123) -> Path:
    """Write ``out/lesson.ipynb`` (outputs empty); returns its path."""
    return write_notebook(lesson_notebook(seed), Path(out) / "lesson.ipynb")
