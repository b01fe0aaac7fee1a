"""The backward step as a bridge: the book's hand-written intermediates beside autograd's own.

The book's ``NeuralNetMLP.backward`` names every link of the chain rule (``d_loss__d_a_out``, ``delta_out``,
``d_loss__a_h``, ``d_a_h__d_z_h``) and keeps them as locals; autograd keeps the same numbers as the
``.grad`` of the forward pass's intermediates when asked to (``retain_grad()``, in
``torch_impl.idiomatic.forward_keeping_grads``). The book's locals are read as its ``backward`` returns
(a profile hook, removed again at once), so what is compared is the code the lesson quotes, not a copy of it.

Lesson: ``NeuralNetMLP.backward`` of "Implementing a Multi-Layer NN", Part 1 and Part 2.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TypeVar

import numpy as np

R = TypeVar("R")
# (the book's expression, autograd's tensor whose .grad holds it, what it is)
PAIRS = (
    ("d_loss__d_a_out", "a_out", "dL/d(output activations)"),
    ("delta_out", "z_out", "dL/d(output pre-activations): the output layer's delta"),
    ("d_loss__a_h", "a_h", "dL/d(hidden activations)"),
    ("d_loss__a_h * d_a_h__d_z_h", "z_h", "dL/d(hidden pre-activations): the hidden layer's delta"),
)


def locals_at_return(fn: Callable, call: Callable[[], R]) -> tuple[R, dict[str, object]]:
    """Run ``call()`` and return its result with the locals ``fn`` held when it last returned.

    A profile hook sees each Python function return with its frame; it is installed for the one call only
    and the hook that was there before (a debugger's, a profiler's) is put back.
    """
    seen: dict[str, object] = {}
    code = getattr(fn, "__code__", None)
    if code is None:
        raise TypeError(f"{fn!r} is not a Python function: its locals cannot be read; pass the function itself")

    def hook(frame, event, arg):
        if event == "return" and frame.f_code is code:
            seen.clear()
            seen.update(frame.f_locals)

    before = sys.getprofile()
    sys.setprofile(hook)
    try:
        result = call()
    finally:
        sys.setprofile(before)
    return result, seen


def book_value(expression: str, book_locals: dict[str, object]) -> np.ndarray:
    """A local of the book's backward, or the product ``a * b`` of two (the hidden delta is never named)."""
    names = [part.strip() for part in expression.split("*")]
    missing = [n for n in names if n not in book_locals]
    if missing:
        raise KeyError(f"the backward has no local {missing[0]!r}; expected the book's names "
                       f"({', '.join(p[0] for p in PAIRS)})")
    value = np.asarray(book_locals[names[0]])
    for n in names[1:]:
        value = value * np.asarray(book_locals[n])
    return value
