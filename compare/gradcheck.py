"""Does a manual backprop compute the true gradient? Three opinions per parameter, and a diagnosis.

1. **autograd**: the PyTorch twin, built from the model's spec with the same weights, differentiates L.
2. **finite differences**: fourth-order central differences of L in float64, on every coordinate of a small
   network, or on a seeded sample of coordinates of *every* parameter (biases included) of a big one.
3. **directional**: for random unit directions u in each parameter's space, the derivative of L
   along u from forward passes against ``grad . u``; it covers the whole gradient in a few passes.

Opinions 2 and 3 use a float64 ``scratch.MLP`` with the model's spec and weights as the reference for
L, so they judge the gradient against the loss the spec defines, whatever the model's own ``loss`` says.

``check_gradients`` accepts any object honouring the gradient part of the ``scratch.MLP`` contract:
``sizes``, ``activation``, ``loss_name``, ``dtype``, ``state_dict()``, ``gradients(X, y)``
(``loss(X, y)`` too, for the report). A learner's subclass with its own ``gradients`` qualifies.

Lesson: ``NeuralNetMLP.backward`` is what is being checked; ``loss.backward()`` is the reference.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch

import scratch
from scratch import losses
from torch_impl import build_model, loss_function

from .tolerances import Comparison, compare_arrays, tolerance
from .transfer import TORCH_DTYPES, scratch_to_torch

FULL_FD_LIMIT = 600   # networks with at most this many parameters get every coordinate checked
FD_SAMPLES = 12       # otherwise: this many seeded coordinates per parameter
FD_STEP = 1e-3        # h of the fourth-order stencil: truncation ~h^4, rounding ~eps |L| / h
DIRECTIONS = 2        # random unit directions per parameter


@dataclass
class ParamCheck:
    """The three opinions on one parameter's gradient."""

    autograd: Comparison
    fd_max_abs: float = 0.0
    fd_max_rel: float = 0.0
    fd_coords: int = 0
    fd_passed: bool = True
    dir_max_rel: float = 0.0
    dir_passed: bool = True

    name = property(lambda self: self.autograd.name)
    shape = property(lambda self: self.autograd.shape)
    max_abs_diff = property(lambda self: self.autograd.max_abs_diff)
    max_rel_diff = property(lambda self: self.autograd.max_rel_diff)
    cosine = property(lambda self: self.autograd.cosine)
    problem = property(lambda self: self.autograd.problem)

    @property
    def passed(self) -> bool:
        return self.autograd.passed and self.fd_passed and self.dir_passed

    def as_dict(self) -> dict:
        return {**self.autograd.as_dict(), "autograd_passed": self.autograd.passed, "passed": self.passed,
                "fd_max_abs_diff": self.fd_max_abs, "fd_max_rel_diff": self.fd_max_rel,
                "fd_coords": self.fd_coords, "fd_passed": self.fd_passed,
                "directional_max_rel_diff": self.dir_max_rel, "directional_passed": self.dir_passed}


@dataclass
class GradientReport:
    """One row per parameter, the losses of both sides, the verdict, and a diagnosis when it fails."""

    dtype: str
    rows: list[ParamCheck]
    loss_manual: float
    loss_autograd: float
    torch_loss: str
    diagnosis: list = field(default_factory=list)  # compare.diagnosis.Finding, filled when a check fails

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.rows)

    def as_dict(self) -> dict:
        rtol, atol = tolerance(self.dtype, "gradient")
        return {"dtype": self.dtype, "passed": self.passed, "torch_loss": self.torch_loss,
                "rtol": rtol, "atol": atol,
                "fd_rtol": tolerance(self.dtype, "finite_difference")[0],
                "directional_rtol": tolerance(self.dtype, "directional")[0],
                "loss_manual": self.loss_manual, "loss_autograd": self.loss_autograd,
                "params": [r.as_dict() for r in self.rows],
                "diagnosis": [f.as_dict() for f in self.diagnosis]}

    def table(self) -> str:
        """A plain-text table: one row per parameter, the three opinions, the verdict; then the diagnosis."""
        head = (f"{'parameter':<10} {'shape':<9} {'autograd abs':>12} {'autograd rel':>12} {'cosine':>9} "
                f"{'fin.diff rel':>12} {'coords':>6} {'direct. rel':>11}  verdict")
        lines = [head]
        for r in self.rows:
            verdict = "ok" if r.passed else "FAIL " + ", ".join(
                w for w, bad in (("autograd", not r.autograd.passed), ("finite-diff", not r.fd_passed),
                                 ("directional", not r.dir_passed)) if bad)
            lines.append(f"{r.name:<10} {'x'.join(map(str, r.shape)):<9} {r.max_abs_diff:>12.2e} "
                         f"{r.max_rel_diff:>12.2e} {r.cosine:>9.5f} {r.fd_max_rel:>12.2e} {r.fd_coords:>6} "
                         f"{r.dir_max_rel:>11.2e}  {verdict}")
        lines += [f"diagnosis: {f.message}" for f in self.diagnosis]
        return "\n".join(lines)


def reference_model(model) -> scratch.MLP:
    """A float64 ``scratch.MLP`` with ``model``'s spec and (upcast) weights: the reference for L."""
    ref = scratch.MLP(model.sizes, model.activation, model.loss_name, dtype=np.float64)
    ref.load_state_dict({k: np.asarray(v, dtype=np.float64) for k, v in model.state_dict().items()})
    return ref


def autograd_gradients(model, X: np.ndarray, y: np.ndarray, torch_loss: str | None = None
                       ) -> tuple[float, dict[str, np.ndarray]]:
    """Loss and gradients from the twin ``nn.Sequential`` with ``model``'s weights, on the CPU."""
    dtype = np.dtype(model.dtype)
    net = build_model(model.sizes, model.activation, model.loss_name).to(TORCH_DTYPES[dtype])
    scratch_to_torch(model, net)
    loss = loss_function(torch_loss or model.loss_name)(net(torch.from_numpy(np.asarray(X, dtype=dtype))),
                                                        torch.from_numpy(np.asarray(y, dtype=np.int64)))
    loss.backward()
    return loss.item(), {k: p.grad.numpy() for k, p in net.named_parameters()}


def _loss_along(ref: scratch.MLP, X, y, move: Callable[[float], None]) -> float | None:
    """dL/dt of L(w(t)) at t = 0, by the fourth-order central difference (four forward passes).

    ``move(t)`` sets the parameters to w(t); w(0) is restored at the end. Returns None when a ReLU
    unit switches on or off inside the stencil: there L has a kink and no difference quotient is
    meaningful, so that sample is skipped rather than misjudged.
    """
    h = FD_STEP
    values, patterns = [], set()
    # t = 0 is evaluated only for ReLU, whose on/off pattern there is the one to compare against.
    steps = (-2 * h, -h, 0.0, h, 2 * h) if ref.activation == "relu" else (-2 * h, -h, h, 2 * h)
    for t in steps:
        move(t)
        out, activations = ref.forward_with_cache(X)
        values.append(losses.VALUES[ref.loss_name](out, y))
        if ref.activation == "relu":
            patterns.add(b"".join(np.packbits(a > 0).tobytes() for a in activations[1:]))
    move(0.0)
    if len(patterns) > 1:
        return None
    if len(values) == 5:
        del values[2]
    return (values[0] - 8 * values[1] + 8 * values[2] - values[3]) / (12 * h)


def _rounding_bound(loss: float) -> float:
    # Each loss value is off by a few ulps of |L|; the stencil's weights (1 + 8 + 8 + 1) / 12h magnify it.
    return 8 * 1.5 * np.finfo(np.float64).eps * max(abs(loss), 1.0) / FD_STEP


def finite_difference_check(ref: scratch.MLP, X, y, name: str, grad: np.ndarray, scale: float,
                            rtol: float, coords: list[tuple[int, ...]], loss0: float) -> tuple[float, float, int, bool]:
    """Difference quotients of the reference loss at ``coords`` against ``grad``.

    Returns ``(max abs diff, max abs diff / scale, coordinates checked, passed)``; ``scale`` is the
    parameter's largest reference gradient entry, so tiny entries are not judged by their own size.
    """
    param = ref.state_dict()[name]
    worst, checked = 0.0, 0
    for i in coords:
        old = param[i]

        def move(t, i=i, old=old):
            param[i] = old + t

        numeric = _loss_along(ref, X, y, move)
        if numeric is not None:
            checked += 1
            worst = max(worst, abs(numeric - float(grad[i])))
    rel, passed = _verdict(worst, scale, rtol, loss0)
    return worst, rel, checked, passed


def directional_check(ref: scratch.MLP, X, y, name: str, grad: np.ndarray, scale: float, rtol: float,
                      rng: np.random.Generator, loss0: float) -> tuple[float, bool]:
    """``grad . u`` against the derivative of L along random unit directions u of one parameter.

    Returns ``(max |difference| / scale, passed)``. ``scale`` is the norm of the *whole* reference
    gradient: a parameter whose gradient has all but vanished (deep sigmoid stacks) would otherwise
    be judged by float64's rounding of L rather than by its gradient.
    """
    param = ref.state_dict()[name]
    start = param.copy()
    worst = 0.0
    for _ in range(DIRECTIONS):
        u = rng.standard_normal(param.shape)
        u /= np.linalg.norm(u)

        def move(t, u=u):
            param[...] = start + t * u

        numeric = _loss_along(ref, X, y, move)
        if numeric is not None:
            worst = max(worst, abs(numeric - float(np.sum(grad * u))))
    return _verdict(worst, scale, rtol, loss0)


def _verdict(worst: float, scale: float, rtol: float, loss0: float) -> tuple[float, bool]:
    """``(worst / scale, passed)``: within ``rtol`` of ``scale`` plus float64's rounding of L (see ``_rounding_bound``)."""
    rel = worst / scale if scale > 0 else (0.0 if worst == 0 else np.inf)
    return rel, bool(worst <= rtol * scale + _rounding_bound(loss0))


def _fd_coords(shape: tuple[int, ...], full: bool, rng: np.random.Generator) -> list[tuple[int, ...]]:
    size = int(np.prod(shape))
    flat = np.arange(size) if full or size <= FD_SAMPLES else rng.choice(size, FD_SAMPLES, replace=False)
    return [np.unravel_index(int(k), shape) for k in flat]


def check_gradients(model, X: np.ndarray, y: np.ndarray, torch_loss: str | None = None,
                    seed: int = 0) -> GradientReport:
    """Check ``model.gradients(X, y)`` three ways, parameter by parameter; diagnose any failure.

    ``torch_loss`` replaces the twin's loss (``"mse-mean"`` is ``nn.MSELoss()``: the 10x trap).
    ``seed`` picks the sampled coordinates and the random directions.
    """
    from .diagnosis import diagnose  # diagnosis builds on this module's results

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
    loss0 = ref.loss(X64, y64)
    rows = []
    for name, expected in auto.items():
        got = manual.get(name)
        if got is None:
            row = ParamCheck(Comparison(name, tuple(expected.shape), np.inf, np.inf, 0.0, *tolerance(dtype, "gradient"),
                                        False, "missing: gradients() returned no entry"))
        else:
            row = ParamCheck(compare_arrays(name, got, expected, "gradient", dtype))
        if got is None or np.shape(got) != expected.shape:
            row.fd_passed = row.dir_passed = False
        else:
            g64 = np.asarray(got, dtype=np.float64)
            coords = _fd_coords(expected.shape, full, rng)
            row.fd_max_abs, row.fd_max_rel, row.fd_coords, row.fd_passed = finite_difference_check(
                ref, X64, y64, name, g64, float(np.max(np.abs(true_grads[name]), initial=0.0)), fd_rtol, coords,
                loss0)
            row.dir_max_rel, row.dir_passed = directional_check(ref, X64, y64, name, g64, total_norm, dir_rtol, rng,
                                                                loss0)
        rows.append(row)
    report = GradientReport(dtype.name, rows, float(model.loss(X, y)), loss_auto, torch_loss or model.loss_name)
    if not report.passed:
        report.diagnosis = diagnose(model, X, y, manual, auto, true_grads, report)
    return report


def assert_gradients_match(model, X: np.ndarray, y: np.ndarray, **kwargs) -> GradientReport:
    """For a learner's own pytest file: raise ``AssertionError`` with the table and diagnosis on failure."""
    report = check_gradients(model, X, y, **kwargs)
    if not report.passed:
        raise AssertionError("manual gradients do not match:\n" + report.table())
    return report
