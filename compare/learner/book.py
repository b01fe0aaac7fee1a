"""The book's ``NeuralNetMLP`` shape, seen through the ``scratch.MLP`` contract so the checks can take it.

The learner's class keeps ``weight_h``, ``bias_h``, ``weight_out``, ``bias_out`` and has
``forward(x) -> (a_h, a_out)`` and ``backward(x, a_h, a_out, y) -> (d_w_out, d_b_out, d_w_h, d_b_h)``; the
chapter's exercise grows it to more hidden layers named ``weight_h1`` ... ``weight_hK``, with
``forward(x) -> (a_h1, ..., a_hK, a_out)`` and ``backward(x, a_h1, ..., a_hK, a_out, y)`` returning the
gradients from the output layer down. ``BookLearner`` adds what ``compare.gradcheck.check_gradients``
reads: ``sizes``, ``activation``, ``loss_name``, ``dtype``, ``state_dict()`` (their live arrays under
``nn.Sequential``'s keys, a transposed view of each weight stored ``(in, out)``), ``loss(X, y)`` and
``gradients(X, y)`` (their forward and backward, mapped to ``"2.weight"``, ``"2.bias"``, ``"0.weight"``, ...).

Lesson: ``NeuralNetMLP`` in "Implementing a Multi-Layer NN"; its ``backward`` returns the output layer first.
"""

from __future__ import annotations

import ast
import inspect
import textwrap

import numpy as np

from scratch.losses import mse_value, softmax

from .blame import CannotCheck, call
from .handles import class_name_of, is_remote, method_source, read, read_all, write, write_all
from .returns import as_array, as_tuple, check_order
from .source import parse_text

MAX_DEPTH = 8   # hidden layers named weight_h1 ... weight_h8 at most


def layer_names(depth: int, numbered: bool) -> list[str]:
    """``["h", "out"]`` for the chapter's network; ``["h1", ..., "hK", "out"]`` for ``depth`` numbered layers."""
    return [*(f"h{k}" for k in range(1, depth + 1))] + ["out"] if numbered else ["h"] * depth + ["out"]


def book_params(depth: int = 1, numbered: bool = False) -> dict[str, str]:
    """``{state-dict key: the learner's name}``: ``0.weight`` -> ``weight_h`` (or ``weight_h1``), ...,
    the last Linear's -> ``weight_out``, ``bias_out``."""
    names: dict[str, str] = {}
    for i, layer in enumerate(layer_names(depth, numbered)):
        names[f"{2 * i}.weight"], names[f"{2 * i}.bias"] = f"weight_{layer}", f"bias_{layer}"
    return names


PARAMS = book_params()   # the chapter's four


def return_order(params: dict[str, str]) -> tuple[str, ...]:
    """The order backward returns its gradients in: the output layer first, each weight before its bias."""
    return tuple(sorted(params, key=lambda k: (-int(k.split(".")[0]), k.endswith("bias"))))


def default_names(params: dict[str, str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``(forward's outputs, backward's gradients)`` in the book's words: ``("a_h", "a_out")``,
    ``("d_w_out", "d_b_out", "d_w_h", "d_b_h")``, with the layer numbers where the layers are numbered."""
    layers = [params[k].removeprefix("weight_") for k in params if k.endswith("weight")]
    outputs = tuple(f"a_{layer}" for layer in layers)
    grads = tuple(f"d_{kind}_{params[k].split('_', 1)[1]}" for k in return_order(params)
                  for kind in ("w" if k.endswith("weight") else "b",))
    return outputs, grads


def returned_names(fn, n: int, default: tuple[str, ...]) -> tuple[str, ...]:
    """The variable names of ``fn``'s last ``return a, b, ...`` of ``n`` plain names, read from its source
    (``fn`` a function, or its AST read from the learner's file).

    So a table can say ``d_loss__dw_out`` where the learner wrote ``d_loss__dw_out``; ``default`` when the
    source cannot be read or returns expressions.
    """
    if fn is None:
        return default
    try:
        tree = fn if isinstance(fn, ast.AST) else parse_text(textwrap.dedent(inspect.getsource(fn)))
    except (OSError, TypeError, SyntaxError):
        return default
    for node in reversed([r for r in ast.walk(tree) if isinstance(r, ast.Return)]):
        elts = getattr(node.value, "elts", None)
        if elts and len(elts) == n and all(isinstance(e, ast.Name) for e in elts):
            names = tuple(e.id for e in elts)
            return names if len(set(names)) == n else default
    return default


def layout_of(shape: tuple[int, ...], n_out: int, n_in: int | None) -> str | None:
    """``"out_in"`` or ``"in_out"`` for a weight of ``shape`` with ``n_out`` outputs; None if neither fits."""
    if len(shape) != 2:
        return None
    if shape[0] == n_out and (n_in is None or shape[1] == n_in):
        return "out_in"       # the book's and nn.Linear's layout; also the guess when a square weight is ambiguous
    if shape[1] == n_out and (n_in is None or shape[0] == n_in):
        return "in_out"
    return None


class BookLearner:
    """A learner's book-shaped instance behind the ``scratch.MLP`` gradient contract.

    ``layout`` maps each parameter name to how it is stored; biases are always ``"out_in"``.
    """

    kind = "book"
    activation = "sigmoid"   # the book's network until ``use`` says what theirs is (``network.found_network``)
    loss_name = "mse"
    output = "sigmoid"
    l2 = 0.0                 # --l2: λ of the λ‖W‖² the twin's loss adds, to match a penalty in their backward

    def __init__(self, obj, file: str | None, dtype, layout: dict[str, str], sizes: tuple[int, ...],
                 params: dict[str, str] = PARAMS):
        self.obj, self.file, self.dtype = obj, file, np.dtype(dtype)
        self.layout, self.sizes, self.param_names = layout, tuple(sizes), dict(params)
        self.outputs, default_gradients = default_names(self.param_names)   # ("a_h", "a_out"), the book's words
        self.order = return_order(self.param_names)
        self.shapes = {}
        for name in self.param_names.values():  # the learner's code runs in the check's dtype, on their attributes
            value = read(obj, name)[0]
            if value.dtype != self.dtype:
                try:
                    setattr(obj, name, value.astype(self.dtype))
                except AttributeError:  # a property without a setter
                    raise CannotCheck(f"{class_name_of(obj)}.{name} cannot be set, so it cannot be cast to "
                                      f"{self.dtype}; give the property a setter") from None
            self.shapes[name] = value.shape
        if is_remote(obj):   # its methods' source is read from the file, never from the worker
            forward, backward = (method_source(file, class_name_of(obj), m) for m in ("forward", "backward"))
        else:
            forward, backward = type(obj).forward, type(obj).backward
        self.default_gradients = default_gradients
        self.output_labels = dict(zip(self.outputs, returned_names(forward, len(self.outputs), self.outputs)))
        self.gradient_labels = dict(zip(self.order, returned_names(backward, len(self.order), default_gradients)))

    @property
    def class_name(self) -> str:
        return class_name_of(self.obj)

    def use(self, network) -> BookLearner:
        """Their hidden units and output (a ``network.Network``), so the twin and the loss match what they built."""
        self.activation, self.output, self.loss_name = network.activation, network.output, network.loss_name
        return self

    @property
    def storage(self) -> str:
        """``"out_in"``, ``"in_out"`` or ``"mixed"``: how the weight matrices are stored."""
        kinds = {self.layout[name] for key, name in self.param_names.items() if key.endswith("weight")}
        return kinds.pop() if len(kinds) == 1 else "mixed"

    # --- the learner's arrays -----------------------------------------------------------------

    def params(self) -> dict[str, np.ndarray]:
        """``{learner's name: their array}``, as they store it (live here, a copy from a worker)."""
        return {name: value for name, (value, _) in read_all(self.obj, self.param_names.values()).items()}

    def orient(self, key: str, array: np.ndarray) -> np.ndarray:
        """An array in the twin's layout for ``key``, turned into the learner's layout (and back: it is a transpose)."""
        return array.T if self.layout[self.param_names[key]] == "in_out" else array

    def state_dict(self) -> dict[str, np.ndarray]:
        """Their arrays under ``nn.Sequential``'s keys, (out, in): a transposed view where stored (in, out).
        To read: write through ``load_state_dict``."""
        params = self.params()
        return {key: self.orient(key, params[name]) for key, name in self.param_names.items()}

    def load_state_dict(self, state: dict) -> None:
        """Copy ``state`` (twin's keys and layout) into their own arrays."""
        write_all(self.obj, {name: self.orient(key, np.asarray(state[key])) for key, name in self.param_names.items()})

    # --- their forward and backward, checked on the way out -----------------------------------

    def forward(self, X: np.ndarray) -> dict[str, np.ndarray]:
        """``{"a_h": (B, H), "a_out": (B, C)}`` (``a_h1`` ... ``a_hK`` deeper) from their ``forward(X)``."""
        names = tuple(self.output_labels.values())
        values = as_tuple(call(self.file, "forward", self.obj.forward, X), "forward", names)
        n = X.shape[0]
        return {key: as_array(v, "forward", label, (n, width), self.dtype)
                for key, v, label, width in zip(self.outputs, values, names, self.sizes[1:])}

    def backward(self, X: np.ndarray, outputs: dict[str, np.ndarray], y: np.ndarray) -> dict[str, np.ndarray]:
        """Their ``backward(X, a_h, a_out, y)``, as ``{key: gradient in the twin's layout}`` in state-dict order."""
        names = tuple(self.gradient_labels.values())
        value = call(self.file, "backward", self.obj.backward, X, *(outputs[k] for k in self.outputs), y)
        owners = tuple(self.param_names[k] for k in self.order)
        shapes = tuple(self.shapes[name] for name in owners)
        value = as_tuple(value, "backward", names, shapes, owners)
        check_order(value, "backward", names, shapes, owners, self.default_gradients)
        grads = {}
        for key, g, label in zip(self.order, value, names):
            name = self.param_names[key]
            grads[key] = self.orient(key, as_array(g, "backward", label, self.shapes[name], self.dtype, name,
                                                   self.layout[name]))
        return {key: grads[key] for key in self.param_names}

    def gradients(self, X: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
        """Forward then backward; the weights are put back afterwards, whatever their backward did to them."""
        saved = self.snapshot()
        try:
            return self.backward(X, self.forward(X), y)
        finally:
            self.restore(saved)

    def loss(self, X: np.ndarray, y: np.ndarray) -> float:
        """L from their ``a_out``: squared error summed over classes, or cross-entropy; mean over examples;
        plus ``l2`` times the weights' squared norm."""
        weights = [w for k, w in self.state_dict().items() if k.endswith("weight")] if self.l2 else []
        return self._loss(self.forward(X)["a_out"], y) + self.l2 * sum(float(np.sum(w * w)) for w in weights)

    def _loss(self, a_out: np.ndarray, y: np.ndarray) -> float:
        if self.loss_name != "cross_entropy":   # squared error, on sigmoid or softmax outputs
            return squared_error(a_out, y)
        log_p = np.log(np.maximum(self._probabilities(a_out), np.finfo(a_out.dtype).tiny))
        return float(-np.mean(log_p[np.arange(len(y)), y]))

    def _probabilities(self, a_out: np.ndarray) -> np.ndarray:
        return softmax(a_out) if self.output == "logits" else a_out

    def probabilities(self, X: np.ndarray) -> np.ndarray:
        return self._probabilities(self.forward(X)["a_out"])

    def twin_outputs(self, net, Xt) -> dict:
        """The twin's tensors that stand beside ``forward``'s: each hidden layer's output and the network's
        (a softmax of the twin's logits where theirs is one)."""
        out = net(Xt)
        probabilities = self.output == "softmax" and self.loss_name == "cross_entropy"   # the twin's are logits
        return {key: net[:2 * (i + 1)](Xt) if key != "a_out" else out.softmax(dim=1) if probabilities
                else out for i, key in enumerate(self.outputs)}

    # --- training -----------------------------------------------------------------------------

    def step(self, X: np.ndarray, y: np.ndarray, lr: float) -> float:
        """The book's step: their forward and backward, then ``param -= lr * grad``; returns L before the update."""
        outputs = self.forward(X)
        grads = self.backward(X, outputs, y)
        params = self.params()
        write_all(self.obj, {name: params[name] - lr * self.orient(key, grads[key])
                             for key, name in self.param_names.items()})
        return self._loss(outputs["a_out"], y)

    # --- snapshots, so one buggy call cannot spoil the next check -----------------------------

    def snapshot(self) -> dict[str, tuple[object, tuple, np.ndarray]]:
        """``{name: (their array, its token, a copy of its values)}``; the array itself only here, not from a worker."""
        return {name: (None if is_remote(self.obj) else value, tok, np.array(value, copy=True))
                for name, (value, tok) in read_all(self.obj, self.param_names.values()).items()}

    def tokens(self) -> dict[str, tuple]:
        return {name: tok for name, (_, tok) in read_all(self.obj, self.param_names.values()).items()}

    def restore(self, saved: dict[str, tuple[object, tuple, np.ndarray]]) -> None:
        """Their original arrays, with their original values, back on their attributes."""
        now = self.tokens()
        for name, (array, tok, values) in saved.items():
            if now[name] != tok:  # their code rebound it
                try:
                    setattr(self.obj, name, values.copy() if array is None else array)
                except AttributeError:  # a property without a setter, over an array their code replaced
                    raise CannotCheck(f"{class_name_of(self.obj)}.{name} is a property without a setter, and your "
                                      f"code replaced the array behind it, so the check cannot put your weights "
                                      f"back between checks: update that array in place, or give the property a "
                                      f"setter") from None
        write_all(self.obj, {name: values for name, (_, _, values) in saved.items()})


def writes_stick(learner: BookLearner) -> None:
    """``CannotCheck`` when writing into a weight of the learner's object changes nothing: a property that
    returns a copy. Asked once per class (``adapt.subject``), not of every fresh instance."""
    for name in learner.param_names.values():
        _writes_stick(learner.obj, name)


def _writes_stick(obj, name: str) -> None:
    """``CannotCheck`` when writing into ``obj.<name>`` changes nothing: a property that returns a copy."""
    before = read(obj, name)[0]
    probe = np.array(before, copy=True)
    probe.flat[0] = probe.flat[0] + 1 if probe.size else 0
    write(obj, name, probe)
    stuck = read(obj, name)[0]
    write(obj, name, before)
    if probe.size and not np.array_equal(stuck, probe):
        raise CannotCheck(f"{class_name_of(obj)}.{name} returns a new copy every time it is read, so writing into "
                          f"it changes nothing (your own model.{name} -= learning_rate * grad is lost too): return "
                          f"the array itself, or a view of it")


def squared_error(a_out: np.ndarray, y: np.ndarray) -> float:
    """((a_out - onehot) ** 2).sum(1).mean(): the loss the book's backward differentiates (scratch's L)."""
    return mse_value(a_out, np.asarray(y))