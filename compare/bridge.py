"""The bridge lesson: the lesson's NumPy MLP and its PyTorch twin, step by step, side by side.

Every step quotes the real source of both sides with ``inspect`` (the lesson cannot drift from the
code: a quoted function that disappears fails ``tests/test_bridge.py``), lists the array shapes at
that step and the agreement measured live on real digits when the page is written
(``measure_lesson``). The 10x trap is worked through with real numbers too (``measure_trap``).

Lesson: the whole of "Implementing a Multi-Layer NN", from loading the digits to the misclassified examples.
"""

from __future__ import annotations

import importlib
import inspect
import textwrap
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from threadpoolctl import threadpool_limits
from torch.nn import functional as F

import scratch
import torch_impl

from .data import load_dataset, preprocess
from .html import Code, Columns, Link, Note, Page, Section, Table, read_images, render_html, slug
from .io import write_atomic
from .lockstep import TorchData
from .report import render_markdown_page, sci
from .schedule import BatchSchedule
from .tolerances import compare_arrays
from .transfer import scratch_to_torch


@dataclass(frozen=True)
class Quote:
    """Real source code: ``"module:qualname"``, or only its lines that contain ``only``."""

    target: str
    only: str = ""

    def resolve(self):
        module, qualname = self.target.split(":")
        obj = importlib.import_module(module)
        for part in qualname.split("."):
            obj = getattr(obj, part)
        return obj

    def code(self) -> Code:
        """The quoted text, dedented, labelled ``file:line qualname``."""
        obj = self.resolve()
        lines, start = inspect.getsourcelines(obj)
        numbered = list(enumerate(lines, start))
        if self.only:
            numbered = [(n, line) for n, line in numbered if self.only in line]
        text = textwrap.dedent("".join(line for _, line in numbered))
        module = inspect.getmodule(obj).__name__   # where it is defined, not where it was imported from
        first = numbered[0][0] if numbered else start
        return Code(text, f"{module.replace('.', '/')}.py:{first} {self.target.split(':')[1]}")


@dataclass(frozen=True)
class Step:
    key: str
    title: str
    text: str                        # what happens here, and what PyTorch automates
    scratch: tuple[Quote, ...] = ()
    torch: tuple[Quote, ...] = ()
    shared: tuple[Quote, ...] = ()   # code both twins run: one pipeline, no copy of it per twin


Q = Quote
STEPS = (
    Step("load", "Load the digits",
         "One loader for both twins (the lesson fetches MNIST with `fetch_openml`; here the embedded 5,000 digits "
         "or the IDX files). The twin gets the very same arrays as tensors: `torch.from_numpy` shares the memory, "
         "nothing is copied or re-read.",
         shared=(Q("compare.data:load_dataset"),), torch=(Q("compare.lockstep:TorchData.from_dataset"),)),
    Step("normalise", "Normalise and flatten",
         "The lesson scales pixels with `((X / 255.) - .5) * 2` to [−1, 1] and flattens each image to 784 "
         "features. torchvision's `ToTensor()` then `Normalize((0.5,), (0.5,))` is the same scaling.",
         shared=(Q("compare.data:preprocess"),)),
    Step("onehot", "One-hot targets",
         "The lesson turns labels into one-hot rows by hand; PyTorch has `F.one_hot`.",
         scratch=(Q("scratch.lesson:int_to_onehot"), Q("scratch.losses:onehot")),
         torch=(Q("torch_impl.model:squared_error_loss", only="one_hot"),)),
    Step("split", "Split: train, validation, test",
         "A seeded, stratified split, made once: both twins train, validate and test on the same examples.",
         shared=(Q("compare.data:stratified_indices"),)),
    Step("init", "Initialise the weights",
         "The lesson draws `normal(0, 0.1)` weights from `RandomState(123)`. `nn.Linear` draws its own "
         "(Kaiming-uniform) and seeds do not transfer between NumPy and torch, so the weights are drawn once, in "
         "NumPy, and copied: same keys, same (out, in) layout, no transposes.",
         scratch=(Q("scratch.lesson:NeuralNetMLP.__init__"),),
         torch=(Q("torch_impl.model:build_model"), Q("compare.transfer:scratch_to_torch"))),
    Step("forward", "Forward pass",
         "`np.dot(x, W.T) + b` and the sigmoid, by hand; in PyTorch `nn.Linear` and `nn.Sigmoid` in an "
         "`nn.Sequential`, called as `net(X)`.",
         scratch=(Q("scratch.lesson:NeuralNetMLP.forward"),), torch=(Q("torch_impl.model:build_model"),)),
    Step("loss", "Loss",
         "L is the squared error summed over the classes, averaged over the examples: the loss whose "
         "gradient the lesson's backward computes. The lesson prints `mse_loss`, which is 10× smaller.",
         scratch=(Q("scratch.lesson:mse_loss"), Q("scratch.lesson:NeuralNetMLP.loss")),
         torch=(Q("torch_impl.model:squared_error_loss"),)),
    Step("backward", "Backward pass",
         "The lesson writes the chain rule out, layer by layer. PyTorch records the forward pass and "
         "`loss.backward()` fills every parameter's `.grad`: the same numbers, to the last bit or two.",
         scratch=(Q("scratch.lesson:NeuralNetMLP.backward"),), torch=(Q("torch_impl.train:train_step"),)),
    Step("update", "Update the weights",
         "`W -= learning_rate * dW` for every parameter; in PyTorch `optimizer.step()` with plain SGD "
         "(after `optimizer.zero_grad()`, because `.grad` accumulates).",
         scratch=(Q("scratch.train:sgd_step"),),
         torch=(Q("torch_impl.train:make_optimizer"), Q("torch_impl.train:train_step", only="optimizer."))),
    Step("minibatches", "Mini-batches and epochs",
         "The lesson shuffles and slices index arrays; here one seeded schedule hands both twins the same "
         "batches in the same order (a `DataLoader` would shuffle with torch's own generator).",
         scratch=(Q("scratch.lesson:minibatch_generator"), Q("scratch.train:train_epoch")),
         torch=(Q("torch_impl.train:train_epoch"),), shared=(Q("compare.schedule:BatchSchedule.epoch"),)),
    Step("evaluate", "Evaluate",
         "Accuracy and the printed MSE on the validation set, without shuffling (the book's evaluation "
         "shuffles with the global RNG and so moves every later batch). PyTorch evaluates under "
         "`torch.inference_mode()`: no graph is recorded.",
         scratch=(Q("scratch.lesson:accuracy"), Q("scratch.lesson:mse_loss")),
         torch=(Q("torch_impl.train:evaluate"),)),
    Step("misclassified", "Misclassified examples",
         "The predicted class is the output with the largest value, `argmax` over the classes, on either side.",
         scratch=(Q("scratch.mlp:MLP.predict"),), torch=(Q("compare.lockstep:predict_test_set"),)),
)
TRAP_TITLE = "The 10× trap, with real numbers"
TRAP_QUOTES = (Q("scratch.lesson:NeuralNetMLP.backward", only="d_loss__d_a_out ="),
               Q("scratch.lesson:mse_loss", only="np.mean"),
               Q("torch_impl.model:squared_error_loss", only="sum(dim=1)"),
               Q("torch_impl.model:mse_mean_loss", only="mse_loss("))
# The one list tests/test_bridge.py checks: every quoted object exists and its quoted text is not empty.
QUOTED = tuple(dict.fromkeys(q for s in STEPS for q in (*s.scratch, *s.torch, *s.shared))) + TRAP_QUOTES


LESSON_TRAIN = 3500   # training examples the demos use (all of mnist-5k's): one epoch is a blink
BATCH = 100           # the lesson's minibatch_size
LR = 0.1              # the lesson's learning rate
TRAP_EPOCHS = 5       # epochs of the 10x-trap demonstration: enough to see the gap open
HIDDEN, CLASSES = 50, 10


def _shape(a) -> str:
    """``(100, 784) float64`` for an array or a tensor."""
    return f"({', '.join(map(str, a.shape))}{',' if len(a.shape) == 1 else ''}) {str(a.dtype).removeprefix('torch.')}"


def _t(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a))


class _Measured:
    """One step's shapes, measured rows (``measured | scratch | PyTorch | max abs diff | agree?``) and notes."""

    def __init__(self):
        self.shapes: list[tuple[str, str]] = []
        self.rows: list[list[str]] = []
        self.notes: list[str] = []
        self.worst: float | None = None

    def agree(self, what: str, a, b, kind: str = "forward") -> float:
        """Compare two float64 arrays (or numbers) with the float64 tolerance of ``kind``; adds a row."""
        a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
        c = compare_arrays(what, a, b, kind, np.float64)
        show = lambda v: repr(float(v)) if v.ndim == 0 else f"({', '.join(map(str, v.shape))}) array"  # noqa: E731
        self.rows.append([what, show(a), show(b), sci(c.max_abs_diff), "yes" if c.passed else "**NO**"])
        self.worst = max(self.worst or 0.0, c.max_abs_diff)
        return c.max_abs_diff

    def row(self, what: str, s: str = "", t: str = "", diff: str = "", ok: str = "") -> None:
        self.rows.append([what, s, t, diff, ok])

    def as_dict(self) -> dict:
        return {"shapes": self.shapes, "rows": self.rows, "notes": self.notes,
                "worst": "—" if self.worst is None else sci(self.worst)}


def lesson_arrays(data, seed: int) -> dict[str, np.ndarray]:
    """float64 copies (the lesson's network is float64): a seeded pick of up to ``LESSON_TRAIN`` training
    rows (its first ``BATCH`` is the batch), the validation and the test set; and the batch as loaded."""
    pick = np.random.default_rng(seed).permutation(len(data.y_train))[:LESSON_TRAIN]
    f64 = lambda a: np.asarray(a, dtype=np.float64)  # noqa: E731
    return {"X": f64(data.X_train[pick]), "y": data.y_train[pick], "Xv": f64(data.X_valid), "yv": data.y_valid,
            "Xt": f64(data.X_test), "yt": data.y_test, "batch_as_loaded": data.X_train[pick[:BATCH]]}


def twins(n_features: int, seed: int):
    """The lesson's ``NeuralNetMLP`` and the float64 ``nn.Sequential`` holding a copy of its weights."""
    model = scratch.NeuralNetMLP(n_features, HIDDEN, CLASSES, random_seed=seed)
    net = torch_impl.build_model([n_features, HIDDEN, CLASSES], "sigmoid", "mse").double()
    scratch_to_torch(model, net)
    return model, net


@contextmanager
def one_thread():
    """Both libraries on one thread while the lesson measures: its arrays are small, where extra threads
    only cost (and wait badly on a busy machine)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(limits=1, user_api="blas"):
            yield
    finally:
        torch.set_num_threads(before)


def measure_lesson(data=None, seed: int = 123) -> dict:
    """Run every step of the lesson on both sides and measure how well they agree. Lesson: all of it."""
    data = data if data is not None else load_dataset("mnist-5k", seed=seed)
    with one_thread():
        return _measure(data, seed)


def _measure(data, seed: int) -> dict:
    a = lesson_arrays(data, seed)
    X, y, Xb, yb = a["X"], a["y"], a["X"][:BATCH], a["y"][:BATCH]
    Xbt, ybt = _t(Xb), _t(yb)
    steps = {s.key: _Measured() for s in STEPS}

    st = steps["load"]
    tdata = TorchData.from_dataset(data, torch.device("cpu"))
    st.shapes = [(k, _shape(getattr(data, k))) for k in ("X_train", "y_train", "X_valid", "y_valid", "X_test", "y_test")]
    st.agree("`X_train` and its tensor", data.X_train, tdata.X_train.numpy())
    st.row("the tensor shares the array's memory", "", "yes" if tdata.X_train.data_ptr() == data.X_train.ctypes.data
           else "no (copied)")

    st = steps["normalise"]
    h, w = data.image_shape
    pixels = np.rint((Xb / 2 + 0.5) * 255).astype(np.uint8).reshape(-1, h, w)   # the batch's raw pixels again
    st.shapes = [("pixels", _shape(pixels)), ("preprocess(pixels)", _shape(preprocess(pixels)))]
    loaded = a["batch_as_loaded"]   # in the run's dtype: a float32 run's rows are float32's rounding
    st.agree("`preprocess(pixels)` and the dataset's rows", preprocess(pixels, loaded.dtype), loaded)
    from torchvision.transforms import functional as TF  # only this comparison needs torchvision

    tv = TF.normalize(_t(pixels).double().div(255).unsqueeze(1), [0.5], [0.5]).flatten(1)
    st.agree("`preprocess` and torchvision `ToTensor` + `Normalize((0.5,), (0.5,))`", preprocess(pixels), tv.numpy())
    st.row("smallest and largest value of `X_train`", f"{data.X_train.min():g} … {data.X_train.max():g}")

    st = steps["onehot"]
    oh_s, oh_t = scratch.int_to_onehot(yb, CLASSES), F.one_hot(ybt, CLASSES)
    st.shapes = [("y", _shape(yb)), ("int_to_onehot(y, 10)", _shape(oh_s)), ("F.one_hot(y, 10)", _shape(oh_t))]
    st.agree("one-hot targets", oh_s, oh_t.double().numpy())

    st = steps["split"]
    st.shapes = [(k, _shape(getattr(data, k))) for k in ("X_train", "X_valid", "X_test")]
    for split in ("train", "valid", "test"):
        counts = np.bincount(getattr(data, f"y_{split}"), minlength=CLASSES)
        st.row(f"examples per class, {split}", f"{counts.min()} to {counts.max()}", "the same arrays")

    st = steps["init"]
    model = scratch.NeuralNetMLP(data.n_features, HIDDEN, CLASSES, random_seed=seed)
    torch.manual_seed(seed)
    net = torch_impl.build_model([data.n_features, HIDDEN, CLASSES], "sigmoid", "mse").double()
    own = max(float(np.abs(p.numpy() - model.state_dict()[k]).max()) for k, p in net.state_dict().items())
    scratch_to_torch(model, net)
    names = {"0.weight": "weight_h", "0.bias": "bias_h", "2.weight": "weight_out", "2.bias": "bias_out"}
    st.shapes = [(f"{names[k]} / {k}", _shape(v)) for k, v in model.state_dict().items()]
    for k, v in model.state_dict().items():
        st.agree(f"`{names[k]}` and `{k}` after the copy", v, net.state_dict()[k].numpy())
    st.notes.append(f"Before the copy, `nn.Linear`'s own initialisation differed from the lesson's by up to {sci(own)}.")

    st = steps["forward"]
    a_h, a_out = model.forward(Xb)
    with torch.no_grad():
        h_t, out_t = net[:2](Xbt), net(Xbt)
    st.shapes = [("x", _shape(Xb)), ("a_h / net[:2](x)", _shape(a_h)), ("a_out / net(x)", _shape(a_out))]
    st.agree("hidden activations `a_h`", a_h, h_t.numpy())
    st.agree("outputs `a_out`", a_out, out_t.numpy())

    st = steps["loss"]
    out_t = net(Xbt)
    loss_t = torch_impl.squared_error_loss(out_t, ybt)
    st.shapes = [("a_out / net(x)", _shape(a_out)), ("L", "() scalar")]
    st.agree("loss L", model.loss(Xb, yb), loss_t.item())
    st.agree("printed MSE", scratch.mse_loss(yb, a_out), ((out_t - oh_t.double()) ** 2).mean().item())

    st = steps["backward"]
    lesson_grads = model.backward(Xb, a_h, a_out, yb)
    net.zero_grad()
    loss_t.backward()
    params = dict(net.named_parameters())
    for lesson_name, key, g in zip(("d_loss__dw_out", "d_loss__db_out", "d_loss__d_w_h", "d_loss__d_b_h"),
                                   ("2.weight", "2.bias", "0.weight", "0.bias"), lesson_grads):
        st.shapes.append((f"{lesson_name} / {key}.grad", _shape(g)))
        st.agree(f"`{lesson_name}` and `{key}.grad`", g, params[key].grad.numpy(), "gradient")

    st = steps["update"]
    opt = torch_impl.make_optimizer(net, LR)
    start = {k: v.copy() for k, v in model.state_dict().items()}
    scratch.sgd_step(model, Xb, yb, LR)
    torch_impl.train_step(net, torch_impl.squared_error_loss, opt, Xbt, ybt)
    for k, v in model.state_dict().items():
        st.agree(f"`{names[k]}` and `{k}` after one step", v, net.state_dict()[k].numpy())
    moved = max(float(np.abs(v - start[k]).max()) for k, v in model.state_dict().items())
    st.notes.append(f"The step (learning rate {LR}) moved the weights by up to {sci(moved)}; the twins still agree "
                    f"to {sci(st.worst)}.")

    st = steps["minibatches"]
    batches = BatchSchedule(len(y), BATCH, seed).epoch()
    Xt_, yt_ = _t(X), _t(y)
    scratch.train_epoch(model, ((X[i], y[i]) for i in batches), LR)
    torch_impl.train_epoch(net, torch_impl.squared_error_loss, opt, ((Xt_[_t(i)], yt_[_t(i)]) for i in batches))
    st.shapes = [("one epoch", f"{len(batches)} batches"), ("X batch", _shape(X[batches[0]])),
                 ("y batch", _shape(y[batches[0]]))]
    flat = lambda sd: np.concatenate([np.ravel(np.asarray(v)) for v in sd.values()])  # noqa: E731
    st.agree(f"every weight after one more epoch ({len(batches)} steps)", flat(model.state_dict()),
             flat({k: v.detach() for k, v in net.state_dict().items()}))

    st = steps["evaluate"]
    _, a_v = model.forward(a["Xv"])
    ev = torch_impl.evaluate(net, _t(a["Xv"]), _t(a["yv"]), "mse")
    st.shapes = [("X_valid", _shape(a["Xv"])), ("outputs", _shape(a_v))]
    st.agree("validation accuracy", scratch.accuracy(a["yv"], a_v.argmax(axis=1)), ev["acc"])
    st.agree("validation printed MSE", scratch.mse_loss(a["yv"], a_v), ev["mse"])

    st = steps["misclassified"]
    _, a_t = model.forward(a["Xt"])
    with torch.inference_mode():
        pred_t = net(_t(a["Xt"])).argmax(dim=1).numpy()
    pred_s, yt = a_t.argmax(axis=1), a["yt"]
    st.shapes = [("X_test", _shape(a["Xt"])), ("predictions", _shape(pred_s))]
    first = lambda p: ", ".join(f"#{i}: {yt[i]}→{p[i]}" for i in np.flatnonzero(p != yt)[:4])  # noqa: E731
    st.row("misclassified test images", str(int(np.sum(pred_s != yt))), str(int(np.sum(pred_t != yt))))
    st.row("first errors (#index: true→predicted)", first(pred_s), first(pred_t))
    n_diff = int(np.sum(pred_s != pred_t))
    st.row("test images labelled differently", "", "", str(n_diff), "yes" if n_diff == 0 else "**NO**")
    st.notes.append(f"After one step and one epoch the network is still a beginner ({int(np.sum(pred_s != yt))} of "
                    f"{len(yt)} wrong); what matters here is that both twins make the same mistakes. "
                    "`mlp-compare run` trains for 50 epochs.")
    return {"about": f"{data.name} ({len(y)} training rows picked with seed {seed}, batches of {BATCH})",
            "steps": {k: v.as_dict() for k, v in steps.items()}, "trap": measure_trap(a, data.n_features, seed)}


def measure_trap(a: dict, n_features: int, seed: int) -> dict:
    """The 10x trap in numbers: L, the printed MSE, ``nn.MSELoss()``, their gradients, and short trainings."""
    model, net = twins(n_features, seed)
    Xb, yb = a["X"][:BATCH], a["y"][:BATCH]
    out = net(_t(Xb))
    onehot = F.one_hot(_t(yb), CLASSES).double()
    L, mse = torch_impl.squared_error_loss(out, _t(yb)), torch.nn.MSELoss()(out, onehot)
    g_L = torch.autograd.grad(L, list(net.parameters()), retain_graph=True)
    g_M = torch.autograd.grad(mse, list(net.parameters()))
    manual = model.gradients(Xb, yb)
    grads = [{"name": name, "manual_vs_L": float(np.max(np.abs(manual[name] - gl.numpy()))),
              "ratio": float(gl.norm() / gm.norm()),
              "deviation": float((gl - 10 * gm).abs().max() / gl.abs().max())}
             for (name, _), gl, gm in zip(net.named_parameters(), g_L, g_M)]
    runs = {}
    for label, loss, lr in (("L (the twin), lr 0.1", "mse", LR), ("nn.MSELoss(), lr 0.1", "mse-mean", LR),
                            ("nn.MSELoss(), lr 1.0", "mse-mean", 10 * LR)):
        _, net_r = twins(n_features, seed)
        opt, loss_fn = torch_impl.make_optimizer(net_r, lr), torch_impl.loss_function(loss)
        schedule = BatchSchedule(len(a["y"]), BATCH, seed)
        X, y = _t(a["X"]), _t(a["y"])
        accs = []
        for _ in range(TRAP_EPOCHS):
            torch_impl.train_epoch(net_r, loss_fn, opt, ((X[_t(i)], y[_t(i)]) for i in schedule.epoch()))
            accs.append(torch_impl.evaluate(net_r, _t(a["Xv"]), _t(a["yv"]), "mse")["acc"])
        runs[label] = {"valid_acc": accs, "weights": [p.detach().numpy().copy() for p in net_r.parameters()]}
    w1, w3 = runs["L (the twin), lr 0.1"]["weights"], runs["nn.MSELoss(), lr 1.0"]["weights"]
    return {"L": L.item(), "printed_mse": scratch.mse_loss(yb, out.detach().numpy()), "nn_mse": mse.item(),
            "grads": grads, "epochs": TRAP_EPOCHS, "train_rows": len(a["y"]),
            "runs": {k: v["valid_acc"] for k, v in runs.items()},
            "rescaled_gap": max(float(np.max(np.abs(p - q))) for p, q in zip(w1, w3))}


def trap_blocks(t: dict, quotes=None) -> list:
    """The 10x trap section, from ``measure_trap``'s numbers and the quoted lines."""
    q = list(quotes or TRAP_QUOTES)
    runs = t["runs"]
    shown = range(1, t["epochs"] + 1)
    return [
        "The lesson's backward starts from the derivative of the squared error **summed over the 10 classes** and "
        "averaged over the n examples. The MSE it prints averages over all n × 10 entries. A first PyTorch port "
        "reaches for `nn.MSELoss()`, which is the printed one:",
        Columns([("scratch (NumPy)", [q[0].code(), q[1].code()]), ("PyTorch", [q[2].code(), q[3].code()])]),
        f"On the first batch of {BATCH} digits, before any training:",
        Table(["quantity", "value"], [
            ["L, the loss the backward differentiates", repr(t["L"])],
            ["the lesson's printed MSE (`mse_loss`)", repr(t["printed_mse"])],
            ["`nn.MSELoss()` on one-hot targets", repr(t["nn_mse"])],
            ["L / `nn.MSELoss()`", repr(t["L"] / t["nn_mse"])]]),
        "So every gradient of `nn.MSELoss()` is exactly 10× smaller than the one the lesson's backward computes:",
        Table(["parameter", "lesson backward vs autograd of L, max abs diff", "‖grad L‖ / ‖grad nn.MSELoss‖",
               "max |grad L − 10 · grad MSELoss| / max |grad L|"],
              [[f"`{g['name']}`", sci(g["manual_vs_L"]), repr(g["ratio"]), sci(g["deviation"])] for g in t["grads"]]),
        f"At the same learning rate the port takes steps 10× too short and learns slower. Validation accuracy "
        f"while training on {t['train_rows']} digits, from the same weights and the same batches:",
        Table(["run", *(f"valid acc, epoch {e}" for e in shown)],
              [[k.replace("nn.MSELoss()", "`nn.MSELoss()`"), *(f"{v[e - 1]:.4f}" for e in shown)] for k, v in runs.items()]),
        Note(f"**The trap is a rescaled learning rate.** `nn.MSELoss()` with a 10× larger learning rate retraces the "
             f"twin's run: after {t['epochs']} epochs their weights differ by {sci(t['rescaled_gap'])}. The twin here "
             "avoids the trap by using L itself: `((out - onehot) ** 2).sum(dim=1).mean()`.", "ok"),
    ]


def _measured_table(rows: list[list[str]]) -> Table:
    return Table(["measured", "scratch (NumPy)", "PyTorch", "max abs difference", "agree?"], rows, align="lrrrl")


def step_blocks(step: Step, measured: dict) -> list:
    blocks = [step.text]
    if step.shared:
        blocks += ["Shared by both twins:", *(q.code() for q in step.shared)]
    cols = [(name, [q.code() for q in quotes]) for name, quotes in
            (("scratch (NumPy)", step.scratch), ("PyTorch", step.torch)) if quotes]
    if cols:
        blocks.append(Columns(cols))
    if measured.get("shapes"):
        blocks.append(Table(["array", "shape"], [[f"`{a}`", s] for a, s in measured["shapes"]], align="ll"))
    if measured.get("rows"):
        blocks.append(_measured_table(measured["rows"]))
    blocks += [Note(n) for n in measured.get("notes", [])]
    return blocks


def build_lesson(data=None, seed: int = 123, report: str | None = None) -> Page:
    """The lesson as a page, measured on ``data`` (a ``compare.data.Dataset``; default: mnist-5k)."""
    m = measure_lesson(data, seed)
    page = Page("The bridge lesson: the lesson's NumPy MLP and its PyTorch twin, step by step")
    page.intro = [
        f"The network of \"Implementing a Multi-Layer NN\" (784 → 50 → 10, sigmoid, squared error, mini-batch "
        f"SGD with learning rate 0.1) written twice: `scratch.NeuralNetMLP` in NumPy, and an `nn.Sequential` "
        f"trained the PyTorch way. Every code block below is the real source, quoted with `inspect` when this "
        f"page was written; every number was measured then, on {m['about']}.",
        "A difference of a few times 1e-16 is the last bit of a float64: the two sides compute the same "
        "numbers in a different order. A real mistake (a wrong factor, sign or layer) is off by far more.",
        Table(["step", "largest measured difference"],
              [[[f"{i}. ", Link(s.title, f"#{slug(s.title)}")], m["steps"][s.key]["worst"]]
               for i, s in enumerate(STEPS, 1)]
              + [[[f"{len(STEPS) + 1}. ", Link(TRAP_TITLE, f"#{slug(TRAP_TITLE)}")], "ratio exactly 10"]],
              align="lr"),
    ]
    page.toc = False  # the table above is the contents
    if report:
        page.intro.append(["Back to ", Link("the comparison report", report), "."])
    page.sections = [Section(s.title, step_blocks(s, m["steps"][s.key])) for s in STEPS]
    page.sections.append(Section(TRAP_TITLE, trap_blocks(m["trap"], TRAP_QUOTES)))
    page.footer = "Written by mlp-compare lesson. Every quoted line is the code that ran."
    return page


def write_lesson(out: Path, data=None, seed: int = 123, report: str | None = "report.html") -> Page:
    """Write ``lesson.html`` (self-contained) and ``lesson.md`` into ``out``; returns the page."""
    out = Path(out)
    page = build_lesson(data, seed, report)
    write_atomic(out / "lesson.html", render_html(page, read_images(out, page)))
    md = render_markdown_page(page)
    write_atomic(out / "lesson.md", md.replace("](report.html)", "](report.md)"))
    return page
