"""Grading the exercise's PyTorch side: the learner's network, loss, training step and evaluation.

These cells are PyTorch by design: a learner's first ``nn.Sequential``, their loss, their ``zero_grad`` /
``backward`` / ``step`` and their evaluation, each run in the notebook beside the book's NumPy network on
the same weights and digits. Each check returns what the next one needs, or raises ``ExerciseFailed`` with
what differs in plain words: a float32 network fed float64 digits, ``nn.MSELoss()`` (the 10x trap), a step
without ``zero_grad()`` (found by replaying the step with the gradients summed over the batches so far), an
evaluation without ``torch.no_grad()`` (a forward hook reads ``torch.is_grad_enabled()``; saved-tensor hooks
count the bytes kept for a backward that never comes).

Lesson: the book's ``NeuralNetMLP``, its loss, its ``train`` loop and ``compute_mse_and_acc``, in PyTorch.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

import scratch
from torch_impl import idiomatic

from ..data.load import Dataset
from ..data.schedule import BatchSchedule
from .grade import ExerciseFailed

SHAPES = [(50, 784), (50,), (10, 50), (10,)]   # weight_h, bias_h, weight_out, bias_out: each shape once
STEPS = 3                                       # training steps replayed beside optimizer.step()
LR = 0.1


def _theirs(name: str, fn, *args):
    """Their function's result; their exception as one line (the stub asks to be filled in)."""
    try:
        return fn(*args)
    except NotImplementedError:
        raise ExerciseFailed(f"fill in {name} in the cell above: it still raises NotImplementedError") from None
    except Exception as e:  # noqa: BLE001  their code: any error is theirs, said in one line
        message = str(e).splitlines()[0] if str(e) else ""
        if isinstance(e, RuntimeError) and "dtype" in message:
            raise ExerciseFailed(f"{name} raised {type(e).__name__}: {message}. {DTYPE_ADVICE}") from None
        raise ExerciseFailed(f"{name} raised {type(e).__name__}: {message}") from None


DTYPE_ADVICE = ("The digits come as float64 tensors (torch.from_numpy keeps NumPy's float64) and nn.Linear makes "
                "float32 weights: this exercise computes in float64, like the book, so call .double() on the "
                "network (training in float32 would feed it X.float() instead)")


def book_model(seed: int) -> scratch.NeuralNetMLP:
    return scratch.NeuralNetMLP(num_features=784, num_hidden=50, num_classes=10, random_seed=seed)


def _load_book_weights(net: nn.Module, model: scratch.NeuralNetMLP) -> None:
    """The book's four arrays into ``net``'s parameters, each by its shape (each shape is one parameter's):
    what ``copy_book_weights`` does by key, whatever the learner named them or in which order."""
    by_shape = {v.shape: v for v in (model.weight_h, model.bias_h, model.weight_out, model.bias_out)}
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.from_numpy(by_shape[tuple(p.shape)]))


def check_network(make_network, data: Dataset, seed: int = 123) -> nn.Module:
    """Their ``make_network()``: an ``nn.Module`` of the book's shapes, in float64, whose output is the book's."""
    net = _theirs("make_network", make_network)
    if not isinstance(net, nn.Module):
        raise ExerciseFailed(f"make_network must return an nn.Module (an nn.Sequential, say), got {type(net).__name__}")
    shapes = [tuple(p.shape) for p in net.parameters()]
    if sorted(shapes) != sorted(SHAPES):
        raise ExerciseFailed(f"your network's parameters have the shapes {shapes}; the book's are {SHAPES} "
                             f"(nn.Linear(784, 50) then nn.Linear(50, 10), weights stored (out, in))")
    dtypes = sorted({str(p.dtype).removeprefix("torch.") for p in net.parameters()})
    if dtypes != ["float64"]:
        raise ExerciseFailed(f"your network's parameters are {', '.join(dtypes)}, the digits float64. {DTYPE_ADVICE}")
    model = book_model(seed)
    _load_book_weights(net, model)
    X = data.X_valid[:100]
    with torch.no_grad():
        out = _theirs("your network", net, torch.from_numpy(X))
    a_out = model.forward(X)[1]
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != a_out.shape:
        raise ExerciseFailed(f"your network's output on 100 digits should be a tensor of shape {a_out.shape}, got "
                             f"{getattr(out, 'shape', type(out).__name__)}")
    gap = float(np.max(np.abs(out.numpy() - a_out)))
    if gap > 1e-12:
        z_out = model.forward(X)[0] @ model.weight_out.T + model.bias_out
        last = (" It gives z_out itself: end with nn.Sigmoid(), the book's a_out = sigmoid(z_out)"
                if np.allclose(out.numpy(), z_out, rtol=1e-12, atol=1e-12) else "")
        raise ExerciseFailed(f"your network's output differs from the book's forward by up to {gap:.2g} on the same "
                             f"weights: the book's is Linear(784, 50), Sigmoid(), Linear(50, 10), Sigmoid().{last}")
    return net


def check_loss(loss_function, data: Dataset, seed: int = 123) -> None:
    """Their ``loss_function(output, y)``: the book's L, a tensor autograd can go back through."""
    model = book_model(seed)
    X, y = data.X_valid[:100], data.y_valid[:100]
    output = torch.from_numpy(model.forward(X)[1]).requires_grad_()
    loss = _theirs("loss_function", loss_function, output, torch.from_numpy(y))
    if not isinstance(loss, torch.Tensor) or loss.ndim != 0:
        raise ExerciseFailed(f"loss_function must return a 0-d tensor, got {type(loss).__name__}"
                             + (" (a Python number: keep the tensor, loss.backward() needs it; .item() is for "
                                "printing)" if isinstance(loss, (float, int)) else ""))
    if not loss.requires_grad:
        raise ExerciseFailed("your loss does not lead back to the output (no grad_fn): compute it with torch "
                             "operations on output, without .detach(), .item() or NumPy, so loss.backward() works")
    book = model.loss(X, y)
    ratio = loss.item() / book
    if abs(ratio - 1) <= 1e-12:
        return
    if abs(ratio * 10 - 1) <= 1e-9:
        raise ExerciseFailed(f"your loss is {loss.item():.6g}, exactly 1/10 of the book's L = {book:.6g}: it averages "
                             f"over the 10 classes too, as nn.MSELoss() does. The book's backward differentiates the "
                             f"squared error summed over the classes, averaged over the examples: "
                             f"((output - onehot) ** 2).sum(dim=1).mean(). With nn.MSELoss() every gradient is 10x "
                             f"smaller (the 10x trap)")
    if abs(ratio / len(y) - 1) <= 1e-9:
        raise ExerciseFailed(f"your loss is {len(y)} times the book's: it sums over the examples; take the mean")
    raise ExerciseFailed(f"your loss is {loss.item():.6g}, the book's L {book:.6g} (ratio {ratio:.6g}): the book's "
                         f"is ((output - onehot) ** 2).sum(dim=1).mean(), onehot = F.one_hot(y, 10)")


def _param_arrays(net: nn.Module) -> list[np.ndarray]:
    return [p.detach().numpy().copy() for p in net.parameters()]


def _replay(seed: int, data: Dataset, batches, accumulate: bool) -> list[list[np.ndarray]]:
    """The weights after each step of the reference step (``accumulate``: never zeroing the gradients)."""
    net = idiomatic.make_net()
    idiomatic.copy_book_weights(net, book_model(seed))
    optimizer = idiomatic.make_optimizer(net, LR)
    states = []
    for idx in batches:
        if not accumulate:
            optimizer.zero_grad()
        idiomatic.loss_fn(net(torch.from_numpy(data.X_train[idx])), torch.from_numpy(data.y_train[idx])).backward()
        optimizer.step()
        states.append(_param_arrays(net))
    return states


def _same(a: list[np.ndarray], b: list[np.ndarray]) -> bool:
    return all(np.allclose(x, y, rtol=1e-12, atol=1e-15) for x, y in zip(a, b))


def check_step(train_step, make_network, data: Dataset, seed: int = 123) -> None:
    """Their ``train_step(net, optimizer, X, y)`` on their network for a few steps beside the book's
    update through ``optimizer.step()``, from the same weights on the same batches; names the first that parts."""
    net = check_network(make_network, data, seed)
    optimizer = torch.optim.SGD(net.parameters(), lr=LR)
    batches = BatchSchedule(len(data.y_train), 100, seed).epoch()[:STEPS]
    right, summed = _replay(seed, data, batches, False), _replay(seed, data, batches, True)
    before = _param_arrays(net)
    filled: list[bool] = []   # did loss.backward() reach the parameters during their step?
    for p in net.parameters():
        p.register_post_accumulate_grad_hook(lambda _: filled.append(True))
    for k, idx in enumerate(batches):
        filled.clear()
        _theirs("train_step", train_step, net, optimizer, torch.from_numpy(data.X_train[idx]),
                torch.from_numpy(data.y_train[idx]))
        now = _param_arrays(net)
        if _same(now, right[k]):
            before = now
            continue
        where = f"at step {k + 1}"
        if _same(now, before):
            if not filled:
                raise ExerciseFailed(f"{where} your train_step did not move the weights, and no gradient reached "
                                     f"them: call loss.backward() (then optimizer.step())")
            if all(p.grad is None or not torch.any(p.grad) for p in net.parameters()):
                raise ExerciseFailed(f"{where} your train_step did not move the weights: loss.backward() filled "
                                     f"the gradients, but they were gone before optimizer.step() could use them: "
                                     f"optimizer.zero_grad() comes first in the step, before loss.backward()")
            raise ExerciseFailed(f"{where} your train_step did not move the weights: call optimizer.step() after "
                                 f"loss.backward()")
        if k > 0 and _same(now, summed[k]):
            raise ExerciseFailed(f"{where} your step used the sum of this batch's and the previous batches' "
                                 f"gradients: call optimizer.zero_grad() before loss.backward() (.grad accumulates)")
        moved = np.concatenate([(a - b).ravel() for a, b in zip(now, before)])
        want = np.concatenate([(a - b).ravel() for a, b in zip(right[k], before)])
        s = float(np.vdot(moved, want) / np.vdot(want, want))
        if np.allclose(moved, s * want, rtol=1e-9, atol=1e-15):
            hint = " (1/10: is the loss nn.MSELoss(), averaged over the classes too?)" if abs(s * 10 - 1) < 1e-6 else ""
            raise ExerciseFailed(f"{where} your step moved the weights {s:.6g} times as far as optimizer.step() with "
                                 f"the book's loss and learning rate {LR}{hint}")
        gap = max(float(np.max(np.abs(a - b))) for a, b in zip(now, right[k]))
        raise ExerciseFailed(f"{where} your weights are {gap:.2g} away from optimizer.step()'s: a step is "
                             f"optimizer.zero_grad(), loss = loss_function(net(X), y), loss.backward(), "
                             f"optimizer.step()")


class GradWatch:
    """While active: whether any module's forward ran with gradients on, and the bytes saved for backward."""

    def __init__(self, net: nn.Module):
        self.net, self.recording, self.saved_bytes = net, False, 0

    def _hook(self, module, inputs, output) -> None:
        self.recording |= torch.is_grad_enabled()

    def _pack(self, t: torch.Tensor) -> torch.Tensor:
        self.saved_bytes += t.element_size() * t.nelement()
        return t

    def __enter__(self) -> GradWatch:
        self.handles = [m.register_forward_hook(self._hook) for m in self.net.modules()]
        self.saving = torch.autograd.graph.saved_tensors_hooks(self._pack, lambda t: t)
        self.saving.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.saving.__exit__(*exc)
        for h in self.handles:
            h.remove()


def check_evaluate(evaluate, data: Dataset, seed: int = 123) -> float:
    """Their ``evaluate(net, X, y)``: the accuracy on the validation digits, with no graph recorded."""
    net = idiomatic.make_net()
    idiomatic.copy_book_weights(net, book_model(seed))
    X, y = torch.from_numpy(data.X_valid), torch.from_numpy(data.y_valid)
    with GradWatch(net) as watch:
        acc = _theirs("evaluate", evaluate, net, X, y)
    want = idiomatic.accuracy(net, X, y)
    value = float(acc.item() if isinstance(acc, torch.Tensor) and acc.numel() == 1 else acc) \
        if isinstance(acc, (torch.Tensor, float, int, np.floating)) else None
    if value is None or abs(value - want) > 1e-12:
        raise ExerciseFailed(f"evaluate should return the fraction of the {len(y)} digits whose largest output is "
                             f"their label ({want:.4f} for the book's initial weights), got {acc!r}")
    if watch.recording:
        raise ExerciseFailed(f"your evaluation records the graph for a backward that never comes: "
                             f"{watch.saved_bytes / 2**20:.2f} MiB saved for backward on these {len(y)} digits. Wrap "
                             f"it in `with torch.no_grad():` (and call net.eval() first, good manners for layers "
                             f"like dropout)")
    return value

