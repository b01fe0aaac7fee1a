"""Which kind of class did the learner write? Build it, recognise it, wrap it.

Duck typing, in this order:
1. **the book's shape**: ``weight_h``, ``bias_h``, ``weight_out``, ``bias_out``; ``forward(x)``;
   ``backward(x, a_h, a_out, y)``; or the exercise's deeper one, ``weight_h1`` ... ``weight_hK`` (with their
   biases) before ``weight_out``. Weights stored (out, in) as in the book or (in, out) as many tutorials
   do, told apart by their shapes (each bias gives its layer's width).
2. **the project's contract** (``scratch.MLP``'s), any depth.
Anything else is one line listing what the class has and what is expected, pointing to the README's
ten-line adapter. A class is constructed the book's way, ``NeuralNetMLP(num_features=784, num_hidden=50,
num_classes=10, random_seed=123)``, by keyword or by position; one whose constructor takes ``num_hidden1``,
``num_hidden2``, ... gets that many hidden layers of distinct widths (784 -> 50 -> 30 -> 10), so that the
order of what backward returns can be told from the shapes. An instance is taken as it is (a deep copy).
"""

from __future__ import annotations

import copy
import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..worker.remote import RemoteClass, RemoteInstance
from .blame import CannotCheck, call
from .book import MAX_DEPTH, PARAMS, BookLearner, book_params, default_names, layout_of, writes_stick
from .handles import attribute_names, class_name_of, read
from .project import CONTRACT, ProjectLearner

Learner = BookLearner | ProjectLearner
README_SECTION = "README, 'Check your own NeuralNetMLP'"
BOOK_SHAPE = ("the book's weight_h, bias_h, weight_out, bias_out with forward(x) -> (a_h, a_out) and "
              "backward(x, a_h, a_out, y) -> (d_w_out, d_b_out, d_w_h, d_b_h)")


@dataclass(frozen=True)
class Subject:
    """What is checked: the learner's class name and file, and a maker of fresh adapted instances.

    Every check gets its own instance from ``make()``, so a backward that changes the weights or keeps
    state cannot spoil the checks after it.
    """

    class_name: str
    file: str | None
    make: Callable[[], Learner]


HIDDEN_WIDTHS = (50, 30, 20, 40, 25, 15, 35, 45)   # distinct, and none 784 or 10: shapes tell gradients apart


def hidden_count(sig: inspect.Signature | None) -> int:
    """How many ``num_hidden1``, ``num_hidden2``, ... a constructor takes (0: the chapter's ``num_hidden``)."""
    if sig is None:
        return 0
    numbered = sorted(int(m.group(1)) for p in sig.parameters if (m := re.fullmatch(r"num_hidden(\d+)", p)))
    return len(numbered) if numbered == list(range(1, min(len(numbered), MAX_DEPTH) + 1)) else 0


def sizes_for(sig: inspect.Signature | None, sizes: tuple[int, ...]) -> tuple[int, ...]:
    """The layer sizes a class is built with: ``sizes`` (the chapter's), or one distinct width per
    ``num_hiddenK`` its constructor takes."""
    depth = hidden_count(sig)
    return sizes if depth == 0 else (sizes[0], *HIDDEN_WIDTHS[:depth], sizes[-1])


def constructor_calls(sig: inspect.Signature, sizes: tuple[int, ...], seed: int, dtype) -> list[tuple]:
    """The ``(args, kwargs)`` tried, in order, that ``sig`` accepts."""
    features, *hidden, classes = sizes
    tries: list[tuple[tuple, dict]]
    if "sizes" in sig.parameters:  # the project's contract: MLP(sizes, activation, loss, seed, dtype)
        kwargs: dict = {"sizes": list(sizes)}
        kwargs.update({k: v for k, v in (("seed", seed), ("dtype", dtype)) if k in sig.parameters})
        tries = [((), kwargs)]
    else:
        widths = ({"num_hidden": hidden[0]} if hidden_count(sig) == 0 else
                  {f"num_hidden{k}": h for k, h in enumerate(hidden, 1)})
        tries = [((), dict(num_features=features, **widths, num_classes=classes, random_seed=seed)),
                 ((features, *hidden, classes, seed), {}), ((features, *hidden, classes), {})]
    fits = []
    for args, kwargs in tries:
        try:
            sig.bind(*args, **kwargs)
        except TypeError:
            continue
        fits.append((args, kwargs))
    return fits


def signature_of(cls: Any) -> inspect.Signature | None:
    try:
        return inspect.signature(cls)
    except (TypeError, ValueError):
        return None


def construct(cls: Any, file: str | None, sizes: tuple[int, ...], seed: int, dtype):
    """``cls`` built the book's way (or the contract's), or ``CannotCheck`` quoting both signatures."""
    sig = signature_of(cls)
    fits = constructor_calls(sig, sizes, seed, np.dtype(dtype).name) if sig is not None else []
    if not fits:
        f, *hs, c = sizes
        widths = ", ".join(f"num_hidden{k}={h}" for k, h in enumerate(hs, 1)) if hidden_count(sig) else \
            f"num_hidden={hs[0]}"
        raise CannotCheck(f"cannot construct {cls.__name__}: we call {cls.__name__}(num_features={f}, {widths}, "
                          f"num_classes={c}, random_seed={seed}) (or with those values by position), but its "
                          f"constructor is {cls.__name__}{sig if sig is not None else '(?)'}; give it the book's "
                          f"signature, or build it yourself and pass the instance to compare.check_backprop")
    args, kwargs = fits[0]
    return call(file, "__init__", cls, *args, **kwargs)


def describe(obj) -> str:
    """What ``obj`` has, for an error: its arrays with their shapes, then its public methods."""
    names = attribute_names(obj)
    arrays = [f"{k} {shape}" for k, shape in names.items() if shape is not None]
    others = [k for k, shape in names.items() if shape is None]
    public = (obj.description["public_methods"] if isinstance(obj, RemoteInstance) else
              [k for k, v in inspect.getmembers(type(obj), callable) if not k.startswith("_")])
    return ", ".join(arrays + others + [f"{k}()" for k in public]) or "nothing public"


def recognise(obj, file: str | None, dtype, features: int, classes: int) -> Learner:
    """Wrap ``obj`` in the adapter its attributes call for, or ``CannotCheck`` saying what it has."""
    name = class_name_of(obj)

    def has(attribute: str) -> bool:   # a property of theirs may raise: that is their code raising
        return call(file, f"reading {attribute}", hasattr, obj, attribute)

    if all(has(a) for a in PARAMS.values()):
        return _book(obj, file, dtype, features, classes, PARAMS)
    depth = next((k for k in range(MAX_DEPTH + 1) if not (has(f"weight_h{k + 1}") and has(f"bias_h{k + 1}"))), 0)
    if depth and has("weight_out") and has("bias_out"):
        return _book(obj, file, dtype, features, classes, book_params(depth, numbered=True))
    if all(has(a) for a in CONTRACT):
        learner = ProjectLearner(obj, file)
        if (learner.sizes[0], learner.sizes[-1]) != (features, classes):
            raise CannotCheck(f"{name} has sizes {list(learner.sizes)}; the check feeds it {features}-pixel digits "
                              f"of {classes} classes: build it with sizes [{features}, ..., {classes}]")
        return learner
    raise CannotCheck(f"{name} has {describe(obj)}; expected {BOOK_SHAPE}, or the scratch.MLP contract "
                      f"({', '.join(CONTRACT)}); other names need a ten-line adapter: see the {README_SECTION}")


def _book(obj, file, dtype, features: int, classes: int, params: dict[str, str]) -> BookLearner:
    name = class_name_of(obj)
    arrays = {a: read(obj, a)[0] for a in params.values()}
    for a, v in arrays.items():
        if not isinstance(v, np.ndarray) or v.dtype.kind not in "fiu":
            raise CannotCheck(f"{name}.{a} is a {type(v).__name__}; expected a NumPy float array (as the book "
                              f"makes with rng.normal and np.zeros)")
    weights = [params[k] for k in params if k.endswith("weight")]
    biases = [params[k] for k in params if k.endswith("bias")]
    for a in biases:
        if arrays[a].ndim != 1:
            raise CannotCheck(f"{name}.{a} has shape {arrays[a].shape}; expected a 1-D bias like np.zeros(n)")
    widths = [arrays[b].shape[0] for b in biases]   # each layer's outputs
    layout: dict[str, str | None] = {b: "out_in" for b in biases}
    for i, w in enumerate(weights):   # the first layer's inputs are what the data has: unknown until then
        layout[w] = layout_of(arrays[w].shape, widths[i], widths[i - 1] if i else None)
    if any(layout[w] is None for w in weights):
        shapes = ", ".join(f"{a} {tuple(v.shape)}" for a, v in arrays.items())
        expected = " and ".join(f"{w} (num_{'classes' if w == 'weight_out' else 'hidden' + w[8:]}, "
                                f"{'num_features' if i == 0 else 'num_hidden' + weights[i - 1][8:]})"
                                for i, w in enumerate(weights))
        raise CannotCheck(f"{name}'s shapes do not fit together: {shapes}; expected {expected}, or all transposed")
    n_in, n_out = arrays[weights[0]].shape[1 if layout[weights[0]] == "out_in" else 0], widths[-1]
    if (n_in, n_out) != (features, classes):
        raise CannotCheck(f"{name} takes {n_in} features and has {n_out} outputs; the check feeds it {features}-pixel "
                          f"digits of {classes} classes: build it with num_features={features}, num_classes={classes}")
    outputs, _ = default_names(params)
    for method, params_in in (("forward", ("x",)), ("backward", ("x", *outputs, "y"))):
        try:
            inspect.signature(getattr(obj, method)).bind(*params_in)
        except TypeError:
            raise CannotCheck(f"{name}.{method}{inspect.signature(getattr(obj, method))} cannot be called as "
                              f"{method}({', '.join(params_in)}); expected {BOOK_SHAPE}" +
                              (f", one a_hK per hidden layer ({', '.join(outputs[:-1])})" if len(outputs) > 2
                               else "")) from None
        except ValueError:  # no signature to read (a builtin): let the call itself decide
            pass
    return BookLearner(obj, file, dtype, {k: v for k, v in layout.items() if v}, (n_in, *widths), params)


def subject(obj, file: str | None, sizes: tuple[int, ...], seed: int, dtype) -> Subject:
    """The ``Subject`` for a class (built the book's way for each check) or an instance (deep-copied)."""
    features, classes = sizes[0], sizes[-1]
    if inspect.isclass(obj) or isinstance(obj, RemoteClass):
        sizes = sizes_for(signature_of(obj), sizes)

        def make() -> Learner:
            return recognise(construct(obj, file, sizes, seed, dtype), file, dtype, features, classes)
        name = obj.__name__
    else:
        try:
            original = copy.deepcopy(obj)
        except Exception as e:  # an attribute that cannot be copied: say which kind
            raise CannotCheck(f"cannot copy your {class_name_of(obj)} instance ({type(e).__name__}: {e}); pass "
                              f"the class instead") from None

        def make() -> Learner:
            return recognise(copy.deepcopy(original), file, dtype, features, classes)
        name = class_name_of(obj)
    first = make()  # fail now, in one line, before any data is loaded
    if isinstance(first, BookLearner):
        writes_stick(first)
    return Subject(name, file, make)
