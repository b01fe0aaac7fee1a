"""Does a manual backprop compute the true gradient? Three opinions per parameter, and a diagnosis.

1. **autograd**: the PyTorch twin, built from the model's spec with the same weights, differentiates L.
2. **finite differences**: fourth-order central differences of L in float64, on every coordinate of a small
   network, or on a seeded sample of coordinates of *every* parameter (biases included) of a big one.
3. **directional**: for random unit directions u in each parameter's space, the derivative of L
   along u from forward passes against ``grad . u``; it covers the whole gradient in a few passes.

Opinions 2 and 3 use a float64 ``scratch.MLP`` with the model's spec and weights as the reference for
L, so they judge the gradient against the loss the spec defines, whatever the model's own ``loss`` says.
An opinion whose every sample sits on a ReLU kink is "not checked" (None), and the verdict says it
rests on fewer opinions. Where manual and autograd disagree, finite differences at the coordinates
that disagree most (``report.probes``) decide which side is wrong.

``check_gradients`` accepts any object honouring the gradient part of the ``scratch.MLP`` contract:
``sizes``, ``activation``, ``loss_name``, ``dtype``, ``state_dict()``, ``gradients(X, y)``
(``loss(X, y)`` too, for the report). A learner's subclass with its own ``gradients`` qualifies.

Lesson: ``NeuralNetMLP.backward`` is what is being checked; ``loss.backward()`` is the reference.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import torch

from torch_impl import build_model, loss_function

from ..agreement.tolerances import Comparison, compare_arrays, tolerance
from ..twins.transfer import TORCH_DTYPES, scratch_to_torch
from .diagnosis import diagnose
from .finite_differences import (
    FULL_FD_LIMIT,
    Probe,
    directional_check,
    fd_coords,
    finite_difference_check,
    probe_disagreements,
    reference_model,
)

OPINIONS = {"fd": "finite differences", "dir": "directional"}


@dataclass
class ParamCheck:
    """The three opinions on one parameter's gradient; a numeric opinion is None when not checked."""

    autograd: Comparison
    label: str = ""                  # the name the model's own code uses, when it is not the state-dict key
    fd_max_abs: float | None = None
    fd_max_rel: float | None = None
    fd_tol: float | None = None      # the tolerance in the units of fd_max_rel
    fd_coords: int = 0
    fd_passed: bool | None = None
    dir_max_rel: float | None = None
    dir_tol: float | None = None
    dir_checked: int = 0
    dir_passed: bool | None = None

    name = property(lambda self: self.autograd.name)
    shape = property(lambda self: self.autograd.shape)
    max_abs_diff = property(lambda self: self.autograd.max_abs_diff)
    max_rel_diff = property(lambda self: self.autograd.max_rel_diff)
    cosine = property(lambda self: self.autograd.cosine)
    problem = property(lambda self: self.autograd.problem)

    @property
    def shown(self) -> str:
        return self.label or self.name

    @property
    def passed(self) -> bool:
        return self.autograd.passed and self.fd_passed is not False and self.dir_passed is not False

    @property
    def failed_opinions(self) -> list[str]:
        return [w for w, bad in (("autograd", not self.autograd.passed), (OPINIONS["fd"], self.fd_passed is False),
                                 (OPINIONS["dir"], self.dir_passed is False)) if bad]

    @property
    def not_checked(self) -> list[str]:
        return [OPINIONS[k] for k in ("fd", "dir") if getattr(self, f"{k}_passed") is None]

    def as_dict(self) -> dict:
        return {**self.autograd.as_dict(), "label": self.shown, "autograd_passed": self.autograd.passed,
                "passed": self.passed, "rel_tolerance": self.autograd.rel_tolerance,
                "fd_max_abs_diff": self.fd_max_abs, "fd_max_rel_diff": self.fd_max_rel, "fd_rel_tolerance": self.fd_tol,
                "fd_coords": self.fd_coords, "fd_passed": self.fd_passed,
                "directional_max_rel_diff": self.dir_max_rel, "directional_rel_tolerance": self.dir_tol,
                "directions_checked": self.dir_checked,
                "directional_passed": self.dir_passed, "not_checked": self.not_checked}


def _tol(x: float | None) -> str:
    return f"{'' if x is None else f'({x:.0e})':>8}"


def _num(x: float | None, width: int, fmt: str = ".2e") -> str:
    return f"{'not checked' if x is None else format(x, fmt):>{width}}"


@dataclass
class GradientReport:
    """One row per parameter, the losses of both sides, the verdict, and a diagnosis when it fails."""

    dtype: str
    rows: list[ParamCheck]
    loss_manual: float
    loss_autograd: float
    torch_loss: str
    diagnosis: list = field(default_factory=list)  # compare.gradcheck.diagnosis.Finding, filled when a check fails
    probes: list[Probe] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)  # state-dict key -> the model's own name

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.rows)

    def label(self, name: str) -> str:
        return self.names.get(name, name)

    @property
    def not_checked(self) -> list[str]:
        """``"<parameter>: <opinion>"`` for every numeric opinion that had nothing to check."""
        return [f"{r.shown}: {o}" for r in self.rows for o in r.not_checked]

    def verdict(self) -> str:
        """"passed" or "FAILED", and which opinions it rests on when some were not checked."""
        words = "passed" if self.passed else "FAILED"
        if self.not_checked:
            words += (f", resting on fewer opinions: not checked ({'; '.join(self.not_checked)}): every sample "
                      f"of those sits on a ReLU kink or the gradient could not be compared")
        return words

    def as_dict(self) -> dict:
        rtol, atol = tolerance(self.dtype, "gradient")
        return {"dtype": self.dtype, "passed": self.passed, "verdict": self.verdict(),
                "not_checked": self.not_checked, "torch_loss": self.torch_loss, "rtol": rtol, "atol": atol,
                "fd_rtol": tolerance(self.dtype, "finite_difference")[0],
                "directional_rtol": tolerance(self.dtype, "directional")[0],
                "loss_manual": self.loss_manual, "loss_autograd": self.loss_autograd,
                "params": [r.as_dict() for r in self.rows],
                "probes": [{**p.as_dict(), "label": self.label(p.name)} for p in self.probes],
                "diagnosis": [f.as_dict() for f in self.diagnosis]}

    def summary(self) -> str:
        """The check in one line: "gradient check: passed (4 parameters; ...)" or "gradient check: FAILED (...)"."""
        n = len(self.rows)
        if self.passed and not self.not_checked:
            return (f"gradient check: passed ({n} parameters, {self.dtype}: autograd, finite differences and "
                    f"directional derivatives agree)")
        if self.passed:
            return f"gradient check: {self.verdict()}"
        bad = [r.shown for r in self.rows if not r.passed]
        return f"gradient check: FAILED ({len(bad)} of {n} parameters wrong: {', '.join(bad)})"

    def __str__(self) -> str:
        return self.table()

    def table(self) -> str:
        """What ``mlp-compare gradcheck`` prints, and ``str(report)``: one row per parameter with the three
        opinions and its verdict, then the diagnosis (one line per finding), then ``summary()``'s one line."""
        w = max([10, *(len(r.shown) for r in self.rows)])
        head = (f"{'parameter':<{w}} {'shape':<9} {'autograd rel':>12} {'(tol)':>8} {'cosine':>9} "
                f"{'fin.diff rel':>12} {'(tol)':>8} {'coords':>6} {'direct. rel':>11} {'(tol)':>8}  verdict")
        lines = [head]
        for r in self.rows:
            verdict = "ok" if r.passed else "FAIL " + ", ".join(r.failed_opinions)
            verdict += f" ({r.problem})" if r.problem else ""
            verdict += "".join(f"; {o} not checked" for o in r.not_checked)
            lines.append(f"{r.shown:<{w}} {'x'.join(map(str, r.shape)):<9} {r.max_rel_diff:>12.2e} "
                         f"{_tol(r.autograd.rel_tolerance)} {r.cosine:>9.5f} {_num(r.fd_max_rel, 12)} {_tol(r.fd_tol)} "
                         f"{r.fd_coords:>6} {_num(r.dir_max_rel, 11)} {_tol(r.dir_tol)}  {verdict}")
        lines.append("rel: max |yours - reference| / max |reference| over what that opinion compares; a factor c "
                     "reads |c - 1| in every column")
        lines += [f"diagnosis: {f.message}" for f in self.diagnosis]
        return "\n".join([*lines, self.summary()])


def autograd_gradients(model, X: np.ndarray, y: np.ndarray, torch_loss: str | None = None
                       ) -> tuple[float, dict[str, np.ndarray]]:
    """Loss and gradients from the twin ``nn.Sequential`` with ``model``'s weights, on the CPU."""
    dtype = np.dtype(model.dtype)
    net = build_model(model.sizes, model.activation, model.loss_name).to(TORCH_DTYPES[dtype])
    scratch_to_torch(model, net)
    loss = loss_function(torch_loss or model.loss_name)(net(torch.from_numpy(np.asarray(X, dtype=dtype))),
                                                        torch.from_numpy(np.asarray(y, dtype=np.int64)))
    l2 = getattr(model, "l2", 0.0)   # --l2: the penalty on the weights a learner's loss carries
    if l2:
        loss = loss + l2 * sum((p * p).sum() for k, p in net.named_parameters() if k.endswith("weight"))
    loss.backward()
    return loss.item(), {k: p.grad.numpy() for k, p in net.named_parameters() if p.grad is not None}


def check_gradients(model, X: np.ndarray, y: np.ndarray, torch_loss: str | None = None,
                    seed: int = 0, names: Mapping[str, str] | None = None) -> GradientReport:
    """Check ``model.gradients(X, y)`` three ways, parameter by parameter; diagnose any failure.

    ``torch_loss`` replaces the twin's loss (``"mse-mean"`` is ``nn.MSELoss()``: the 10x trap).
    ``seed`` picks the sampled coordinates and the random directions. ``names`` maps a state-dict
    key (``"2.weight"``) to the name the model's own code uses (``"weight_out"``): the table and the
    findings speak it, the JSON rows carry it as ``label`` beside the key.
    """
    names = dict(names or {})
    dtype = np.dtype(model.dtype)
    manual = model.gradients(X, y)
    loss_auto, auto = autograd_gradients(model, X, y, torch_loss)
    ref = reference_model(model)
    X64, y64 = np.asarray(X, dtype=np.float64), np.asarray(y)
    rng = np.random.default_rng(seed)
    full = sum(p.size for p in ref.state_dict().values()) <= FULL_FD_LIMIT
    fd_rtol, dir_rtol = tolerance(dtype, "finite_difference")[0], tolerance(dtype, "directional")[0]
    true_grads = ref.gradients(X64, y64)
    total_norm = float(np.sqrt(sum(np.vdot(g, g) for g in true_grads.values())))
    scales = {k: float(np.max(np.abs(g), initial=0.0)) for k, g in true_grads.items()}
    loss0 = ref.loss(X64, y64)
    rows = []
    for name, expected in auto.items():
        got = manual.get(name)
        if got is None:
            cmp = Comparison(name, tuple(expected.shape), np.inf, np.inf, 0.0, *tolerance(dtype, "gradient"),
                             False, "missing: gradients() returned no entry")
        else:
            cmp = compare_arrays(name, got, expected, "gradient", dtype)
        row = ParamCheck(cmp, names.get(name, ""))
        if got is not None and np.shape(got) == expected.shape:  # otherwise nothing to difference against
            g64 = np.asarray(got, dtype=np.float64)
            row.fd_max_abs, row.fd_max_rel, row.fd_tol, row.fd_coords, row.fd_passed = finite_difference_check(
                ref, X64, y64, name, g64, scales[name], fd_rtol, fd_coords(expected.shape, full, rng), loss0)
            row.dir_max_rel, row.dir_tol, row.dir_checked, row.dir_passed = directional_check(
                ref, X64, y64, name, g64, total_norm, dir_rtol, rng, loss0)
        rows.append(row)
    report = GradientReport(dtype.name, rows, float(model.loss(X, y)), loss_auto, torch_loss or model.loss_name,
                            names=names)
    disputed = [r.name for r in rows if not r.autograd.passed and np.shape(manual.get(r.name)) == r.shape]
    report.probes = probe_disagreements(ref, X64, y64, manual, auto, disputed, scales, fd_rtol, loss0)
    if not report.passed:
        report.diagnosis = diagnose(model, X, y, manual, auto, true_grads, report)
    return report


def assert_gradients_match(model, X: np.ndarray, y: np.ndarray, **kwargs) -> GradientReport:
    """For a learner's own pytest file: raise ``AssertionError`` with the table and diagnosis on failure."""
    report = check_gradients(model, X, y, **kwargs)
    if not report.passed:
        raise AssertionError("manual gradients do not match:\n" + report.table())
    return report
