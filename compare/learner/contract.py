"""The learner's values beside the twin's: forward, every intermediate they hand over, and the gradient check.

1. **forward**: their outputs (``a_h``, ``a_out`` for the book's shape) against the twin's on the same
   weights and batch, after making sure two calls agree (a forward that draws random numbers cannot be
   compared with anything). A forward that disagrees stops the check, with a hint at the likely cause.
2. **intermediates**: in the spirit of a ``cmp(name, mine, torch)`` table, each value under the learner's
   own name (``d_loss__dw_out``), with shape, exact / close / DIFFERS and the largest difference.
3. **gradients**: ``compare.gradcheck.check_gradients`` (autograd, finite differences, directional
   derivatives) with its rows and diagnosis in the learner's names (``weight_out``, not ``2.weight``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import torch

from torch_impl import build_model

from ..agreement.tolerances import Comparison, compare_arrays
from ..gradcheck.check import GradientReport, autograd_gradients, check_gradients
from ..gradcheck.diagnosis import Finding
from ..twins.transfer import TORCH_DTYPES, scratch_to_torch
from .mistakes import backward_findings, book_forward_finding
from .network import Network, factor_of, scaled_loss_finding
from .penalty import l2_coefficient, l2_finding, their_lambdas


def what(key: str) -> str:
    """What a forward value is, in words: ``a_h2`` -> "hidden activation 2"."""
    if key.startswith("a_h"):
        return f"hidden activation {key[3:]}".rstrip()
    return "output"


@dataclass
class Row:
    """One line of the intermediates table: the learner's name, what it is, and how it compares."""

    name: str
    what: str
    comparison: Comparison

    @property
    def verdict(self) -> str:
        c = self.comparison
        return "exact" if c.passed and c.max_abs_diff == 0 else "close" if c.passed else "DIFFERS"

    def as_dict(self) -> dict:
        return {"name": self.name, "what": self.what, "verdict": self.verdict, **self.comparison.as_dict()}


def twin_net(learner) -> torch.nn.Sequential:
    """The twin ``nn.Sequential`` of ``learner``'s spec, holding a copy of its weights."""
    net = build_model(learner.sizes, learner.activation, learner.loss_name).to(TORCH_DTYPES[learner.dtype])
    scratch_to_torch(learner, net)
    return net


def twin_forward(learner, X: np.ndarray) -> dict[str, np.ndarray]:
    with torch.no_grad():
        outs = learner.twin_outputs(twin_net(learner), torch.from_numpy(np.asarray(X, dtype=learner.dtype)))
    return {k: v.numpy() for k, v in outs.items()}


def check_forward(learner, X: np.ndarray) -> tuple[list[Row], list[Finding], dict[str, np.ndarray]]:
    """``(rows, findings, their outputs)``; findings mean the check stops here."""
    saved = learner.snapshot()
    try:
        first = learner.forward(X.copy())
        learner.restore(saved)
        again = learner.forward(X.copy())
    finally:
        learner.restore(saved)
    for key, value in first.items():
        if not np.array_equal(value, again[key]):
            gap = float(np.max(np.abs(value - again[key])))
            label = learner.output_labels[key]
            return [], [Finding("nondeterministic", f"forward gave a different {label} on a second call with the same "
                                f"weights and input (up to {gap:.2g} apart): something random runs in forward "
                                f"(dropout? np.random?); the check needs forward to depend on the weights and x "
                                f"only")], first
    twin = twin_forward(learner, X)
    rows = [Row(learner.output_labels[k], what(k), compare_arrays(learner.output_labels[k], first[k], twin[k],
                                                                  "forward", learner.dtype)) for k in first]
    bad = next((k for k, r in zip(first, rows) if not r.comparison.passed), None)
    if bad is None:
        return rows, [], first
    if learner.kind == "book":
        finding = book_forward_finding(learner, X, first, twin, bad)
    else:
        gap = rows[list(first).index(bad)].comparison.max_abs_diff
        finding = Finding("forward", f"forward(X) differs from the twin's by up to {gap:.2g}: compare your layers "
                          f"with the twin's nn.Sequential ({learner.activation} hidden units, {learner.loss_name} "
                          f"output)")
    return rows, [finding], first


def gradient_order(keys) -> list[str]:
    """The output layer first, weight before bias: the order backprop computes them (and the book returns them)."""
    return sorted(keys, key=lambda k: (-int(k.split(".")[0]), k.endswith("bias")))


def check_intermediates(learner, X: np.ndarray, y: np.ndarray,
                        forward_rows: list[Row]) -> tuple[list[Row], list[Finding]]:
    """Every value the learner hands over against the twin's; a finding names the first that differs.

    ``forward_rows`` are ``check_forward``'s; the gradients come from this ``learner``'s own forward pass
    (a class that ignores its seed has other weights in every instance).
    """
    saved = learner.snapshot()
    try:
        outputs = learner.forward(X.copy())
        grads = learner.backward(X.copy(), outputs, y.copy())
    finally:
        learner.restore(saved)
    _, auto = autograd_gradients(learner, X, y)
    rows = list(forward_rows)
    for key in gradient_order(auto):
        label = learner.gradient_labels[key]
        rows.append(Row(label, f"dL/d {learner.param_names[key]}",
                        compare_arrays(label, learner.orient(key, grads[key]), learner.orient(key, auto[key]),
                                       "gradient", learner.dtype)))
    bad = next((r for r in rows if not r.comparison.passed), None)
    if bad is None:
        return rows, []
    c = bad.comparison
    return rows, [Finding("first-difference", f"{bad.name} ({bad.what}) is the first value that differs from the "
                          f"twin's: max abs diff {c.max_abs_diff:.2g}, max rel diff {c.max_rel_diff:.2g} "
                          f"(tolerance rtol {c.rtol:g}); everything before it agrees", [bad.name])]


def check_gradient_opinions(learner, X: np.ndarray, y: np.ndarray, seed: int) -> tuple[GradientReport, list[Finding]]:
    """The three-opinion check on ``learner``, in its names, with the learners' own mistakes recognised first."""
    report = check_gradients(learner, X, y, seed=seed, names=learner.param_names)
    # Findings keep state-dict keys in params (the gallery and the JSON rely on them); a learner reads theirs.
    report.diagnosis = [dataclasses.replace(f, params=[report.label(n) for n in f.params]) for f in report.diagnosis]
    if report.passed:
        return report, []
    manual = learner.gradients(X, y)
    ours = backward_findings(learner, X, y, manual)
    if learner.kind != "book":
        return report, ours + list(report.diagnosis)
    auto = autograd_gradients(learner, X, y)[1]
    k = l2_coefficient(manual, auto, learner.state_dict(), learner.dtype, learner.l2)
    if k is not None:   # the rest of their backward is right: the penalty is all that differs
        weights = [learner.param_names[n] for n in auto if n.endswith("weight")]
        return report, [Finding("l2-penalty", l2_finding(k, learner.l2, their_lambdas(learner.obj)), weights)]
    # Cross-entropy's gradient times a constant: named for it. (For the book's squared error the gallery's
    # factors say more: the 2 of the square, the classes, the batch size.)
    if learner.loss_name != "mse":
        c = factor_of(manual, auto, learner.dtype)
        if c is not None:
            network = Network(learner.activation, learner.output, learner.loss_name)
            ours.insert(0, Finding("loss-factor", scaled_loss_finding(network, c, len(y), learner.sizes[-1]),
                                   list(learner.param_names.values())))
            return report, ours + [f for f in report.diagnosis if not f.kind.startswith("factor")]
    return report, ours + list(report.diagnosis)
