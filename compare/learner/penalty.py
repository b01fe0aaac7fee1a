"""An L2 penalty in the learner's backward: recognised from their gradients, with its λ, and the ``--l2`` that
checks it as written.

A backward that adds ``k W`` to every weight's gradient and nothing to the biases' differentiates the loss
plus an L2 penalty. Whether they wrote λ‖W‖² (gradient 2λW) or (λ/2)‖W‖² (gradient λW) cannot be read
from the gradient alone; it can from their λ, when their object holds it under a name that says so
(``l2_lambda``, ``reg``, ``weight_decay``...): the finding then says which, and the ``--l2`` that matches
(``--l2 λ`` adds λ‖W‖² to the twin's loss).

Lesson: the chapter's closing pointer to regularisation; ``weight_decay`` in ``torch.optim.SGD``.
"""

from __future__ import annotations

import math
import re

import numpy as np

from .handles import attribute_names, read_all
from .network import CLOSE, matches

# Names that read as a penalty's λ, the surest first: an ``alpha`` may as well be a learning rate.
LAMBDA_NAMES = (re.compile(r"l2|lambda|lmbda|lam$", re.IGNORECASE), re.compile(r"reg|decay|penalty|alpha", re.IGNORECASE))


def l2_coefficient(theirs: dict[str, np.ndarray], reference: dict[str, np.ndarray],
                   weights: dict[str, np.ndarray], dtype, given: float = 0.0) -> float | None:
    """``k`` with ``theirs == reference + k * W`` for every weight and ``theirs == reference`` for every bias
    (within rounding), or None. ``reference`` already carries the ``2 * given * W`` of ``--l2 given``: ``k`` is
    then negative where their penalty is smaller (or absent); their own penalty ``k + 2 given`` is never
    below 0. All three by state-dict key, in the twin's layout."""
    keys = [k for k in reference if k.endswith("weight")]
    if not keys or not all(matches(theirs[k], reference[k], dtype) for k in reference if not k.endswith("weight")):
        return None
    if all(matches(theirs[k], reference[k], dtype) for k in keys):   # a difference too small to name: rounding
        return None
    num = sum(float(np.vdot(theirs[k] - reference[k], weights[k])) for k in keys)
    den = sum(float(np.vdot(weights[k], weights[k])) for k in keys)
    if den == 0 or num == 0:
        return None
    k_ = num / den
    if k_ + 2 * given < -CLOSE[np.dtype(dtype).name] * abs(k_):   # a penalty that pulls weights up: no L2
        return None
    return k_ if all(matches(theirs[k], reference[k] + k_ * weights[k], dtype) for k in keys) else None


def their_lambdas(obj) -> dict[str, float]:
    """``{attribute: value}``: the positive numbers their object holds under names that read as a penalty's λ,
    the surest names first. Reading them is a courtesy: an attribute that cannot be read is left out."""
    found: dict[str, float] = {}
    try:
        names = [n for n, shape in attribute_names(obj).items() if shape is None]
    except Exception:  # noqa: BLE001  their object, or a worker that cannot describe it: no λ to read
        return found
    for pattern in LAMBDA_NAMES:
        for name in (n for n in names if pattern.search(n) and n not in found):
            try:
                value = read_all(obj, [name])[name][0]
            except Exception:  # noqa: BLE001  a property of theirs that raises, or a value that cannot cross
                continue
            if isinstance(value, (np.ndarray, np.generic)) and np.size(value) == 1:   # a NumPy number, as it crossed
                value = np.ravel(value)[0].item()
            if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0:
                found[name] = float(value)
    return found


def _same(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-6 * max(abs(a), abs(b))


def l2_finding(k: float, given: float = 0.0, lambdas: dict[str, float] | None = None) -> str:
    """A backward whose weights' gradients carry ``k * W`` beyond the twin's (whose loss adds ``given`` ‖W‖²), in
    words: the λ, how the penalty was written when their own λ says so, and the ``--l2`` that matches."""
    total = k + 2 * given   # their penalty's gradient is total * W
    if total <= CLOSE["float32"] * abs(k):
        return (f"your gradients carry no L2 penalty, but --l2 {given:g} adds λ‖W‖² to the twin's loss: drop --l2, "
                f"or add the penalty's gradient 2λW to each weight's gradient")
    twin = f"the twin's loss adds λ = {given:g} (--l2)" if given else "the twin's loss has none"
    advice = f"pass --l2 {total / 2:.3g}{{}} to compare with weight_decay, or set yours to 0"
    lambdas = lambdas or {}
    for name, value in lambdas.items():   # their λ with gradient 2λW, looked for under every name first
        if _same(value, total / 2):
            return (f"your gradients include an L2 penalty λ‖W‖² with λ = {value:.3g} (your {name}): each weight's "
                    f"gradient carries 2λW, the biases' none; {twin}: {advice.format('')}")
    for name, value in lambdas.items():
        if _same(value, total):
            return (f"your gradients include an L2 penalty whose gradient is λW with λ = {value:.3g} (your {name}), "
                    f"the biases' none: you wrote (λ/2)‖W‖², and --l2 adds λ‖W‖²; {twin}: {advice.format(' (λ/2)')}")
    return (f"your gradients include an L2 penalty: each weight's gradient carries an extra {total:.3g} times the "
            f"weight, the biases' none; that is the gradient of λ‖W‖² with λ = {total / 2:.3g} (or of (λ/2)‖W‖² "
            f"with λ = {total:.3g}). {twin[0].upper()}{twin[1:]}: {advice.format('')}")
