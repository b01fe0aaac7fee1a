"""What a learner's method hands back, checked before anything is compared: arity, type, shape, finiteness.

A value that fails raises ``BadReturn`` carrying a ``Finding`` in the learner's words ("backward returned
3 values; expected 4: (d_w_out, d_b_out, d_w_h, d_b_h)"; "your 1st returned array has the shape of
weight_h's gradient"). A value that passes comes back as a fresh
NumPy array of the check's dtype: a later call of their code cannot change what the check holds.
"""

from __future__ import annotations

import numpy as np

from ..gradcheck.diagnosis import Finding

LAYOUT_WORDS = {"out_in": "(out, in)", "in_out": "(in, out)"}
GRADIENT_FORMULA = {"out_in": "delta.T @ a_in", "in_out": "a_in.T @ delta"}


class BadReturn(Exception):
    """A learner's method returned something the check cannot use; ``finding`` says what and what to do."""

    def __init__(self, finding: Finding):
        super().__init__(finding.message)
        self.finding = finding


def _dims(shape) -> str:
    return "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"


def ordinal(i: int) -> str:
    """1 -> "1st", 2 -> "2nd", 11 -> "11th"."""
    return f"{i}{'th' if 10 <= i % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(i % 10, 'th')}"


def _which(value, names, shapes, owners) -> str:
    """Which expected values are missing, or which returned ones are extra, told by their shapes; "" if unclear."""
    if shapes is None:
        return ""
    got = [np.shape(v) if isinstance(v, np.ndarray) else None for v in value]
    left = list(got)
    missing = []
    for name, shape, owner in zip(names, shapes, owners):
        if shape in left:
            left.remove(shape)
        else:
            missing.append(f"{name} ({owner}'s gradient, shape {_dims(shape)})")
    if len(value) < len(names) and len(missing) == len(names) - len(value):
        return f"; the one{'s' * (len(missing) > 1)} missing: {', '.join(missing)}"
    expected = list(shapes)
    extra = []
    for i, shape in enumerate(got, 1):
        if shape in expected:
            expected.remove(shape)
        else:
            extra.append(f"the {ordinal(i)}" + (f", shape {_dims(shape)}," if shape is not None else ""))
    if len(value) > len(names) and len(extra) == len(value) - len(names):
        return f"; {' and '.join(extra)} is not the gradient of any parameter: leave it out"
    return ""


def as_tuple(value, method: str, names: tuple[str, ...], shapes: tuple | None = None,
             owners: tuple[str, ...] | None = None) -> tuple:
    """``value`` as a tuple of ``len(names)`` items, or ``BadReturn`` naming what came back.

    With the expected ``shapes`` and their ``owners`` (the parameter each value is the gradient of), a
    wrong count also says which value is missing or which is extra.
    """
    expected = f"{len(names)}: ({', '.join(names)})"
    if owners:
        expected += f", the gradients of {', '.join(owners)} in that order"
    if not isinstance(value, (tuple, list)):
        raise BadReturn(Finding("return-arity", f"{method} returned a {type(value).__name__}; expected a tuple "
                                f"of {expected}"))
    if len(value) != len(names):
        raise BadReturn(Finding("return-arity", f"{method} returned {len(value)} values; expected {expected}"
                                + _which(value, names, shapes, owners or names)))
    return tuple(value)


def check_order(value: tuple, method: str, names: tuple[str, ...], shapes: tuple, owners: tuple[str, ...],
                book_names: tuple[str, ...]) -> None:
    """``BadReturn`` ("return-order") when a returned array has another parameter's gradient shape, not its own.

    ``names`` are the learner's for each position, ``book_names`` the book's; a transposed gradient is
    left to ``as_array``'s finding.
    """
    for i, (v, shape) in enumerate(zip(value, shapes)):
        got = np.shape(v) if isinstance(v, np.ndarray) else None
        if got is None or got == shape or got == shape[::-1]:
            continue
        other = next((j for j, s in enumerate(shapes) if s == got), None)
        if other is not None:
            raise BadReturn(Finding("return-order", f"your {ordinal(i + 1)} returned array ({names[i]}) has the "
                                    f"shape of {owners[other]}'s gradient {_dims(got)}: the book returns "
                                    f"{', '.join(book_names)} (the output layer first, each weight before its "
                                    f"bias); {method} must return its gradients in that order",
                                    [owners[other]]))


def as_array(value, method: str, name: str, shape: tuple[int, ...], dtype, param: str | None = None,
             layout: str = "out_in") -> np.ndarray:
    """``value`` checked to be a finite numeric NumPy array of ``shape``; returns a copy in ``dtype``.

    ``param`` (with its storage ``layout``) names the parameter a gradient belongs to, for the words of a
    shape finding.
    """
    where = f"{method}'s {name}"
    if not isinstance(value, np.ndarray) or value.dtype.kind not in "fiu":
        kind = type(value).__name__ if not isinstance(value, np.ndarray) else f"array of {value.dtype}"
        hint = (" (a torch tensor: call .detach().numpy())" if type(value).__module__.startswith("torch")
                else ": build it with NumPy operations, or wrap it in np.asarray(...)")
        raise BadReturn(Finding("not-array", f"{where} is a {kind}; expected a NumPy float array of shape "
                                f"{_dims(shape)}{hint}", [param] if param else []))
    if value.shape != tuple(shape):
        raise BadReturn(_shape_finding(where, name, value.shape, tuple(shape), param, layout))
    bad = ~np.isfinite(value)
    if bad.any():
        n_nan, n_inf = int(np.isnan(value).sum()), int(np.isinf(value).sum())
        what = " and ".join(w for w, k in ((f"{n_nan} NaN", n_nan), (f"{n_inf} infinite", n_inf)) if k)
        raise BadReturn(Finding("not-finite", f"{where} holds {what} values (of {value.size}): look for a division "
                                f"by zero (a standard deviation of constant pixels, a count of 0) or np.exp of a large "
                                f"number", [param] if param else []))
    return np.array(value, dtype=dtype, copy=True)


def _shape_finding(where: str, name: str, got, expected, param, layout) -> Finding:
    if param is None:
        return Finding("shape", f"{where} has shape {_dims(got)}; expected {_dims(expected)}")
    if len(got) == 2 and got == expected[::-1]:
        return Finding("transposed", f"{where} has shape {_dims(got)} but {param} is {_dims(expected)}: the "
                       f"gradient is transposed. A gradient has its parameter's shape; with weights stored "
                       f"{LAYOUT_WORDS[layout]} it is {GRADIENT_FORMULA[layout]}", [param])
    hint = ""
    if len(got) == 2 and 1 in got and int(np.prod(got)) == int(np.prod(expected)):
        hint = ": sum over the batch with axis=0 and without keepdims"
    return Finding("shape", f"{where} has shape {_dims(got)}; {param} is {_dims(expected)} and its gradient must "
                   f"have the same shape{hint}", [param])
