"""The bridge lesson's measurements: every step of the lesson run on both twins, on real digits.

``measure_lesson`` returns, per step key of ``compare.bridge.STEPS``, the shapes at that step, the
measured agreement rows and notes; ``measure_trap`` works the 10x trap through with real numbers.

Lesson: the whole of "Implementing a Multi-Layer NN", from loading the digits to the misclassified examples.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import torch
from torch.nn import functional as F

import scratch
import torch_impl

from .data import load_dataset, preprocess
from .lockstep import TorchData
from .report import sci
from .schedule import BatchSchedule
from .threads import same_threads
from .tolerances import compare_arrays
from .transfer import max_weight_diff, scratch_to_torch, torch_state_numpy


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


def measure_lesson(data=None, seed: int = 123) -> dict:
    """Run every step of the lesson on both sides and measure how well they agree. Lesson: all of it."""
    data = data if data is not None else load_dataset("mnist-5k", seed=seed)
    with same_threads(1):  # its arrays are small, where extra threads only cost (and wait badly when busy)
        return _measure(data, seed)


def _measure(data, seed: int) -> dict:
    a = lesson_arrays(data, seed)
    X, y, Xb, yb = a["X"], a["y"], a["X"][:BATCH], a["y"][:BATCH]
    Xbt, ybt = _t(Xb), _t(yb)
    steps: dict[str, _Measured] = defaultdict(_Measured)  # one per lesson step, keyed as bridge.STEPS

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
    own = max_weight_diff(model, net)
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
             flat(torch_state_numpy(net)))

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
    X, y, Xv, yv = _t(a["X"]), _t(a["y"]), _t(a["Xv"]), _t(a["yv"])
    runs = {}
    for label, loss, lr in (("L (the twin), lr 0.1", "mse", LR), ("nn.MSELoss(), lr 0.1", "mse-mean", LR),
                            ("nn.MSELoss(), lr 1.0", "mse-mean", 10 * LR)):
        _, net_r = twins(n_features, seed)
        opt, loss_fn = torch_impl.make_optimizer(net_r, lr), torch_impl.loss_function(loss)
        schedule = BatchSchedule(len(a["y"]), BATCH, seed)
        accs = []
        for _ in range(TRAP_EPOCHS):
            torch_impl.train_epoch(net_r, loss_fn, opt, ((X[_t(i)], y[_t(i)]) for i in schedule.epoch()))
            accs.append(torch_impl.evaluate(net_r, Xv, yv, "mse")["acc"])
        runs[label] = {"valid_acc": accs, "weights": [p.detach().numpy().copy() for p in net_r.parameters()]}
    w1, w3 = runs["L (the twin), lr 0.1"]["weights"], runs["nn.MSELoss(), lr 1.0"]["weights"]
    return {"L": L.item(), "printed_mse": scratch.mse_loss(yb, out.detach().numpy()), "nn_mse": mse.item(),
            "grads": grads, "epochs": TRAP_EPOCHS, "train_rows": len(a["y"]),
            "runs": {k: v["valid_acc"] for k, v in runs.items()},
            "rescaled_gap": max(float(np.max(np.abs(p - q))) for p, q in zip(w1, w3))}
