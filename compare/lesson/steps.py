"""The bridge lesson's steps, one function each: run on both twins, measured into the step's record.

Each function, named by its step's key in ``compare.lesson.pages.STEPS``, takes what that step needs, records the shapes at that step, the measured agreement
(``measured | scratch | PyTorch | max abs diff | agree?``) and notes into its ``Measured``, and returns what a
later step needs; ``compare.lesson.measure`` calls them in the lesson's order.

Lesson: the whole of "Implementing a Multi-Layer NN", from loading the digits to the misclassified examples.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

import scratch
import torch_impl
from torch_impl.idiomatic import forward_keeping_grads, loss_fn

from ..agreement.tolerances import compare_arrays
from ..data.load import Dataset, preprocess
from ..data.schedule import BatchSchedule
from ..report.run_page import sci
from ..twins.lockstep import TorchData
from ..twins.transfer import max_weight_diff, scratch_to_torch, torch_state_numpy
from .intermediates import PAIRS, book_value, locals_at_return

BATCH = 100           # the lesson's minibatch_size
LR = 0.1              # the lesson's learning rate
HIDDEN, CLASSES = 50, 10
# the lesson's names of the parameters, by their nn.Sequential keys
NAMES = {"0.weight": "weight_h", "0.bias": "bias_h", "2.weight": "weight_out", "2.bias": "bias_out"}


def shape_of(a) -> str:
    """``(100, 784) float64`` for an array or a tensor."""
    return f"({', '.join(map(str, a.shape))}{',' if len(a.shape) == 1 else ''}) {str(a.dtype).removeprefix('torch.')}"


def tensor(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a))


class Measured:
    """One step's shapes, measured rows (``measured | scratch | PyTorch | max abs diff | agree?``) and notes."""

    def __init__(self) -> None:
        self.shapes: list[tuple[str, str]] = []
        self.rows: list[list[str]] = []
        self.bridge: list[list[str]] = []   # the backward's intermediates: book, autograd, what, shape, diff, agree?
        self.notes: list[str] = []
        self.worst: float | None = None

    def agree(self, what: str, a, b, kind: str = "forward", dtype=np.float64) -> float:
        """Compare two arrays (or numbers) with the tolerance of ``kind`` in ``dtype`` (the lower precision of the
        two sides); adds a row."""
        a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
        c = compare_arrays(what, a, b, kind, dtype)
        show = lambda v: repr(float(v)) if v.ndim == 0 else f"({', '.join(map(str, v.shape))}) array"  # noqa: E731
        self.rows.append([what, show(a), show(b), sci(c.max_abs_diff), "yes" if c.passed else "**NO**"])
        self.worst = max(self.worst or 0.0, c.max_abs_diff)
        return c.max_abs_diff

    def row(self, what: str, s: str = "", t: str = "", diff: str = "", ok: str = "") -> None:
        self.rows.append([what, s, t, diff, ok])

    def as_dict(self) -> dict:
        return {"shapes": self.shapes, "rows": self.rows, "bridge": self.bridge, "notes": self.notes,
                "worst": "—" if self.worst is None else sci(self.worst)}


def load(st: Measured, data: Dataset) -> None:
    """Load: the dataset's arrays, and the twin's tensors sharing their memory."""
    tdata = TorchData.from_dataset(data, torch.device("cpu"))
    st.shapes = [(k, shape_of(getattr(data, k))) for k in ("X_train", "y_train", "X_valid", "y_valid", "X_test", "y_test")]
    shared = tdata.X_train.data_ptr() == data.X_train.ctypes.data
    # Where the tensor is the array's memory (the next row), one batch of rows shows the values; all of a
    # full-size set would be 43 million comparisons of a number with itself (2.6 s at Fashion-MNIST's size).
    rows = slice(0, BATCH) if shared else slice(None)
    st.agree("`X_train[:100]` and the same rows of its tensor" if shared else "`X_train` and its tensor",
             data.X_train[rows], tdata.X_train[rows].numpy())
    st.row("the tensor shares the array's memory", "", "yes" if shared else "no (copied)")


def normalise(st: Measured, data: Dataset, Xb: np.ndarray, loaded: np.ndarray) -> None:
    """Normalise: the batch's pixels scaled again by ``preprocess`` and by torchvision; ``loaded`` is the batch
    in the run's dtype (a float32 run's rows are float32's rounding)."""
    h, w = data.image_shape
    pixels = np.rint((Xb / 2 + 0.5) * 255).astype(np.uint8).reshape(-1, h, w)   # the batch's raw pixels again
    st.shapes = [("pixels", shape_of(pixels)), ("preprocess(pixels)", shape_of(preprocess(pixels)))]
    st.agree("`preprocess(pixels)` and the dataset's rows", preprocess(pixels, loaded.dtype), loaded)
    from torchvision.transforms import functional as TF  # only this comparison needs torchvision

    tv = TF.normalize(tensor(pixels).double().div(255).unsqueeze(1), [0.5], [0.5]).flatten(1)
    st.agree("`preprocess` and torchvision `ToTensor` + `Normalize((0.5,), (0.5,))`", preprocess(pixels), tv.numpy())
    st.row("smallest and largest value of `X_train`", f"{data.X_train.min():g} … {data.X_train.max():g}")


def onehot(st: Measured, yb: np.ndarray) -> torch.Tensor:
    """One-hot targets by hand and by ``F.one_hot``; returns the twin's (B, 10) as float64."""
    oh_s, oh_t = scratch.int_to_onehot(yb, CLASSES), F.one_hot(tensor(yb), CLASSES)
    st.shapes = [("y", shape_of(yb)), ("int_to_onehot(y, 10)", shape_of(oh_s)), ("F.one_hot(y, 10)", shape_of(oh_t))]
    st.agree("one-hot targets", oh_s, oh_t.double().numpy())
    return oh_t.double()


def split(st: Measured, data: Dataset) -> None:
    """Split: the three sets' sizes and how evenly each holds the classes."""
    st.shapes = [(k, shape_of(getattr(data, k))) for k in ("X_train", "X_valid", "X_test")]
    for part in ("train", "valid", "test"):
        counts = np.bincount(getattr(data, f"y_{part}"), minlength=CLASSES)
        st.row(f"examples per class, {part}", f"{counts.min()} to {counts.max()}", "the same arrays")


def init(st: Measured, n_features: int, seed: int) -> tuple[scratch.NeuralNetMLP, nn.Sequential]:
    """Initialise: the lesson's weights, copied into a seeded ``nn.Sequential``; returns both twins."""
    model = scratch.NeuralNetMLP(n_features, HIDDEN, CLASSES, random_seed=seed)
    torch.manual_seed(seed)
    net = torch_impl.build_model([n_features, HIDDEN, CLASSES], "sigmoid", "mse").double()
    own = max_weight_diff(model, net)
    scratch_to_torch(model, net)
    st.shapes = [(f"{NAMES[k]} / {k}", shape_of(v)) for k, v in model.state_dict().items()]
    for k, v in model.state_dict().items():
        st.agree(f"`{NAMES[k]}` and `{k}` after the copy", v, net.state_dict()[k].numpy())
    st.notes.append(f"Before the copy, `nn.Linear`'s own initialisation differed from the lesson's by up to {sci(own)}.")
    return model, net


def forward(st: Measured, model: scratch.NeuralNetMLP, net: nn.Sequential,
            Xb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Forward pass on the batch; returns the lesson's ``a_h`` (B, 50) and ``a_out`` (B, 10)."""
    a_h, a_out = model.forward(Xb)
    with torch.no_grad():
        h_t, out_t = net[:2](tensor(Xb)), net(tensor(Xb))
    st.shapes = [("x", shape_of(Xb)), ("a_h / net[:2](x)", shape_of(a_h)), ("a_out / net(x)", shape_of(a_out))]
    st.agree("hidden activations `a_h`", a_h, h_t.numpy())
    st.agree("outputs `a_out`", a_out, out_t.numpy())
    return a_h, a_out


def loss(st: Measured, model: scratch.NeuralNetMLP, net: nn.Sequential, Xb: np.ndarray, yb: np.ndarray,
         a_out: np.ndarray, onehot: torch.Tensor) -> torch.Tensor:
    """Loss L and the printed MSE on both sides; returns the twin's L, its graph kept for the backward."""
    out_t = net(tensor(Xb))
    loss_t = torch_impl.squared_error_loss(out_t, tensor(yb))
    st.shapes = [("a_out / net(x)", shape_of(a_out)), ("L", "() scalar")]
    st.agree("loss L", model.loss(Xb, yb), loss_t.item())
    st.agree("printed MSE", scratch.mse_loss(yb, a_out), ((out_t - onehot) ** 2).mean().item())
    return loss_t


def backward(st: Measured, model: scratch.NeuralNetMLP, net: nn.Sequential, loss_t: torch.Tensor,
             Xb: np.ndarray, yb: np.ndarray, a_h: np.ndarray, a_out: np.ndarray) -> None:
    """Backward pass: the book's intermediates beside autograd's (``retain_grad()``), then the four gradients.

    ``st.bridge`` gets one row per link of the chain rule: the book's name, autograd's tensor, shape,
    max abs difference, agree?; ``st.rows`` one per parameter gradient against ``.grad``.
    """
    lesson_grads, book = locals_at_return(type(model).backward,   # the book's, or a subclass's
                                          lambda: model.backward(Xb, a_h, a_out, yb))
    net.zero_grad()
    kept = forward_keeping_grads(net, tensor(Xb))   # z_h, a_h, z_out, a_out, each keeping its .grad
    L = loss_fn(kept["a_out"], tensor(yb))
    st.agree("L recomputed layer by layer and the loss step's L", L.item(), loss_t.item())
    L.backward()
    for expression, name, what in PAIRS:
        grad = kept[name].grad
        if grad is None:   # retain_grad() asks backward() to keep it; without it a non-leaf's .grad stays None
            raise RuntimeError(f"`{name}.grad` is None after loss.backward(): call `{name}.retain_grad()` first")
        mine = book_value(expression, book)
        c = compare_arrays(expression, mine, grad.numpy(), "gradient", np.float64)
        st.bridge.append([f"`{expression}`", f"`{name}.grad`", what, shape_of(mine), sci(c.max_abs_diff),
                          "yes" if c.passed else "**NO**"])
        st.worst = max(st.worst or 0.0, c.max_abs_diff)
    params = dict(net.named_parameters())
    for lesson_name, key, g in zip(("d_loss__dw_out", "d_loss__db_out", "d_loss__d_w_h", "d_loss__d_b_h"),
                                   ("2.weight", "2.bias", "0.weight", "0.bias"), lesson_grads):
        grad = params[key].grad
        if grad is None:   # loss.backward() fills .grad for every parameter L depends on
            raise RuntimeError(f"`{key}.grad` is None after loss.backward(): L does not depend on `{key}`")
        st.shapes.append((f"{lesson_name} / {key}.grad", shape_of(g)))
        st.agree(f"`{lesson_name}` and `{key}.grad`", g, grad.numpy(), "gradient")
    st.notes.append("`delta_out` *is* `z_out.grad`: the book's \"delta (rule) placeholder\" is the gradient of L "
                    "with respect to the output layer's pre-activations, which autograd computes on its way back "
                    "and throws away unless `retain_grad()` asks it to keep it. Each parameter gradient is then one "
                    "product with what the forward pass saw: `delta_out.T @ a_h`, `delta_h.T @ x`.")


def update(st: Measured, model: scratch.NeuralNetMLP, net: nn.Sequential, Xb: np.ndarray,
           yb: np.ndarray) -> torch.optim.Optimizer:
    """Update: one SGD step on the batch on each side; returns the twin's optimizer for the epochs."""
    opt = torch_impl.make_optimizer(net, LR)
    start = {k: v.copy() for k, v in model.state_dict().items()}
    scratch.sgd_step(model, Xb, yb, LR)
    torch_impl.train_step(net, torch_impl.squared_error_loss, opt, tensor(Xb), tensor(yb))
    diffs = [st.agree(f"`{NAMES[k]}` and `{k}` after one step", v, net.state_dict()[k].numpy())
             for k, v in model.state_dict().items()]
    moved = max(float(np.abs(v - start[k]).max()) for k, v in model.state_dict().items())
    st.notes.append(f"The step (learning rate {LR}) moved the weights by up to {sci(moved)}; the twins still agree "
                    f"to {sci(max(diffs))}.")
    return opt


def minibatches(st: Measured, model: scratch.NeuralNetMLP, net: nn.Sequential, opt: torch.optim.Optimizer,
                X: np.ndarray, y: np.ndarray, seed: int) -> None:
    """Mini-batches and epochs: one more epoch on both sides, the same seeded batches in the same order."""
    batches = BatchSchedule(len(y), BATCH, seed).epoch()
    Xt_, yt_ = tensor(X), tensor(y)
    scratch.train_epoch(model, ((X[i], y[i]) for i in batches), LR)
    torch_impl.train_epoch(net, torch_impl.squared_error_loss, opt, ((Xt_[tensor(i)], yt_[tensor(i)]) for i in batches))
    st.shapes = [("one epoch", f"{len(batches)} batches"), ("X batch", shape_of(X[batches[0]])),
                 ("y batch", shape_of(y[batches[0]]))]
    flat = lambda sd: np.concatenate([np.ravel(np.asarray(v)) for v in sd.values()])  # noqa: E731
    st.agree(f"every weight after one more epoch ({len(batches)} steps)", flat(model.state_dict()),
             flat(torch_state_numpy(net)))


def dtypes(st: Measured, model: scratch.NeuralNetMLP, Xb: np.ndarray, yb: np.ndarray) -> None:
    """float64 and float32: the book's float64 against the twin in float64 and in float32, same weights."""
    a_h, a_out = model.forward(Xb)
    d_loss__d_w_h = model.backward(Xb, a_h, a_out, yb)[2]
    for dtype in (torch.float64, torch.float32):
        net = torch_impl.build_model([Xb.shape[1], HIDDEN, CLASSES], "sigmoid", "mse").to(dtype)
        scratch_to_torch(model, net)
        out = net(tensor(Xb).to(dtype))
        torch_impl.squared_error_loss(out, tensor(yb)).backward()
        name = str(dtype).removeprefix("torch.")
        # each judged by the one agreement policy, at the tolerance of the lower precision of the two
        st.agree(f"`a_out`: the book (float64) / `net.{'double' if name == 'float64' else 'float'}()` ({name})",
                 a_out, out.detach().double().numpy(), "forward", np.dtype(name))
        grad = dict(net.named_parameters())["0.weight"].grad
        assert grad is not None   # backward() just ran
        st.agree(f"`d_loss__d_w_h`: the book / `0.weight.grad` in {name}", d_loss__d_w_h, grad.double().numpy(),
                 "gradient", np.dtype(name))
    st.shapes = [("torch.from_numpy(X)", "float64"), ("nn.Linear(784, 50)", "float32 (torch's default)")]
    st.notes.append("float32 keeps about 7 significant digits, float64 about 16: in float32 the twin differs from "
                    "the book by rounding of about 1e-7 of the values, in float64 by about 1e-16. Train in float32 "
                    "for speed (`X.float()`); compare in float64 (`.double()`) to see a mistake smaller than that.")


def evaluate(st: Measured, model: scratch.NeuralNetMLP, net: nn.Sequential, Xv: np.ndarray,
             yv: np.ndarray) -> None:
    """Evaluate: validation accuracy and printed MSE on both sides."""
    _, a_v = model.forward(Xv)
    ev = torch_impl.evaluate(net, tensor(Xv), tensor(yv), "mse")
    st.shapes = [("X_valid", shape_of(Xv)), ("outputs", shape_of(a_v))]
    st.agree("validation accuracy", scratch.accuracy(yv, a_v.argmax(axis=1)), ev["acc"])
    st.agree("validation printed MSE", scratch.mse_loss(yv, a_v), ev["mse"])


def misclassified(st: Measured, model: scratch.NeuralNetMLP, net: nn.Sequential, Xt: np.ndarray,
                  yt: np.ndarray) -> None:
    """Misclassified examples: how many test images each twin gets wrong, the first few, and any disagreement."""
    _, a_t = model.forward(Xt)
    with torch.inference_mode():
        pred_t = net(tensor(Xt)).argmax(dim=1).numpy()
    pred_s = a_t.argmax(axis=1)
    st.shapes = [("X_test", shape_of(Xt)), ("predictions", shape_of(pred_s))]
    first = lambda p: ", ".join(f"#{i}: {yt[i]}→{p[i]}" for i in np.flatnonzero(p != yt)[:4])  # noqa: E731
    st.row("misclassified test images", str(int(np.sum(pred_s != yt))), str(int(np.sum(pred_t != yt))))
    st.row("first errors (#index: true→predicted)", first(pred_s), first(pred_t))
    n_diff = int(np.sum(pred_s != pred_t))
    st.row("test images labelled differently", "", "", str(n_diff), "yes" if n_diff == 0 else "**NO**")
    st.notes.append(f"After one step and one epoch the network is still a beginner ({int(np.sum(pred_s != yt))} of "
                    f"{len(yt)} wrong); what matters here is that both twins make the same mistakes. "
                    "`mlp-compare run` trains for 50 epochs.")
