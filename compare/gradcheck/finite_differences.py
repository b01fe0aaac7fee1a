"""The two numeric opinions on a gradient, and the probe that settles a disagreement with the twin.

Everything here differentiates L of a float64 ``scratch.MLP`` (``reference_model``) by fourth-order
central differences: on single coordinates (``finite_difference_check``), along random unit
directions (``directional_check``), and at the coordinates where the manual gradient and autograd
differ most (``probe_disagreements``), so that blame goes where the loss itself says it belongs.

An opinion whose every sample sits on a ReLU kink has nothing to say: it returns ``None`` for its
verdict ("not checked"), never a passing 0.0.

Lesson: the book checks nothing numerically; this is the "gradient checking" of any backprop course.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

import scratch
from scratch import losses

from ..agreement.tolerances import relative

FULL_FD_LIMIT = 600   # networks with at most this many parameters get every coordinate checked
FD_SAMPLES = 12       # otherwise: this many seeded coordinates per parameter
FD_STEP = 1e-3        # h of the fourth-order stencil: truncation ~h^4, rounding ~eps |L| / h
DIRECTIONS = 2        # random unit directions per parameter
PROBES = 3            # coordinates probed per parameter where manual and autograd differ most


class PenalisedMLP(scratch.MLP):
    """``scratch.MLP`` whose L adds ``l2`` times the weights' squared norm (not the biases'): the reference
    for a check run with ``--l2`` (``l2 = 0``: the plain network)."""

    def __init__(self, *args, l2: float = 0.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.l2 = l2

    def penalty(self) -> float:
        return self.l2 * sum(float(np.sum(w * w)) for k, w in self.state_dict().items() if k.endswith("weight"))

    def loss(self, X, y) -> float:
        return super().loss(X, y) + self.penalty()

    def gradients(self, X, y) -> dict[str, np.ndarray]:
        grads = super().gradients(X, y)
        return {k: g + 2 * self.l2 * self.state_dict()[k] if k.endswith("weight") and self.l2 else g
                for k, g in grads.items()}


def reference_model(model) -> PenalisedMLP:
    """A float64 ``scratch.MLP`` with ``model``'s spec, (upcast) weights and L2 penalty: the reference for L."""
    ref = PenalisedMLP(model.sizes, model.activation, model.loss_name, dtype=np.float64, l2=getattr(model, "l2", 0.0))
    ref.load_state_dict({k: np.asarray(v, dtype=np.float64) for k, v in model.state_dict().items()})
    return ref


def loss_slope(ref: PenalisedMLP, X, y, move: Callable[[float], None]) -> float | None:
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
        values.append(losses.VALUES[ref.loss_name](out, y) + ref.penalty())
        if ref.activation == "relu":
            patterns.add(b"".join(np.packbits(a > 0).tobytes() for a in activations[1:]))
    move(0.0)
    if len(patterns) > 1:
        return None
    if len(values) == 5:
        del values[2]
    return (values[0] - 8 * values[1] + 8 * values[2] - values[3]) / (12 * h)


def coordinate_slope(ref: PenalisedMLP, X, y, name: str, index: tuple[int, ...]) -> float | None:
    """dL/d param[index] by ``loss_slope``; None at a ReLU kink."""
    param = ref.state_dict()[name]
    old = param[index]

    def move(t):
        param[index] = old + t

    return loss_slope(ref, X, y, move)


def rounding_bound(loss: float) -> float:
    """What float64's rounding of L alone can put into one difference quotient."""
    # Each loss value is off by a few ulps of |L|; the stencil's weights (1 + 8 + 8 + 1) / 12h magnify it.
    return 8 * 1.5 * np.finfo(np.float64).eps * max(abs(loss), 1.0) / FD_STEP


def verdict(worst: float, reference: float, scale: float, rtol: float, loss0: float, checked: int
            ) -> tuple[float | None, float | None, bool | None]:
    """``(worst / reference, tolerance in the same units, passed)``, or all None when no sample was checked.

    ``reference`` is the largest numeric derivative compared (the relative difference's one meaning, see
    ``compare.agreement.tolerances``); the verdict is within ``rtol`` of ``scale`` plus float64's rounding of
    L (``rounding_bound``), shown in the units of the relative difference.
    """
    if checked == 0:
        return None, None, None
    allowed = rtol * scale + rounding_bound(loss0)
    denominator = reference if reference > 0 else scale
    rel = relative(worst, denominator)
    tol = allowed / denominator if denominator > 0 else float("inf")
    return rel, tol, bool(worst <= allowed)


def finite_difference_check(ref: PenalisedMLP, X, y, name: str, grad: np.ndarray, scale: float, rtol: float,
                            coords: list[tuple[int, ...]], loss0: float
                            ) -> tuple[float | None, float | None, float | None, int, bool | None]:
    """Difference quotients of the reference loss at ``coords`` against ``grad``.

    Returns ``(max abs diff, relative difference, its tolerance, coordinates checked, passed)``; ``scale`` is
    the parameter's largest reference gradient entry, so tiny entries are not judged by their own size. All
    but the count are None when every coordinate sits on a ReLU kink.
    """
    worst, reference, checked = 0.0, 0.0, 0
    for i in coords:
        numeric = coordinate_slope(ref, X, y, name, i)
        if numeric is not None:
            checked += 1
            worst = max(worst, abs(numeric - float(grad[i])))
            reference = max(reference, abs(numeric))
    rel, tol, passed = verdict(worst, reference, scale, rtol, loss0, checked)
    return (worst if checked else None), rel, tol, checked, passed


def directional_check(ref: PenalisedMLP, X, y, name: str, grad: np.ndarray, scale: float, rtol: float,
                      rng: np.random.Generator, loss0: float
                      ) -> tuple[float | None, float | None, int, bool | None]:
    """``grad . u`` against the derivative of L along random unit directions u of one parameter.

    Returns ``(relative difference, its tolerance, directions checked, passed)``; all but the count are
    None when every direction crosses a ReLU kink. The relative difference is over the largest derivative
    along the directions; the verdict's ``scale`` is the norm of the *whole* reference gradient: a
    parameter whose gradient has all but vanished (deep sigmoid stacks) would otherwise be judged by
    float64's rounding of L rather than by its gradient.
    """
    param = ref.state_dict()[name]
    start = param.copy()
    worst, reference, checked = 0.0, 0.0, 0
    for _ in range(DIRECTIONS):
        u = rng.standard_normal(param.shape)
        u /= np.linalg.norm(u)

        def move(t, u=u):
            param[...] = start + t * u

        numeric = loss_slope(ref, X, y, move)
        if numeric is not None:
            checked += 1
            worst = max(worst, abs(numeric - float(np.sum(grad * u))))
            reference = max(reference, abs(numeric))
    rel, tol, passed = verdict(worst, reference, scale, rtol, loss0, checked)
    return rel, tol, checked, passed


def fd_coords(shape: tuple[int, ...], full: bool, rng: np.random.Generator) -> list[tuple[int, ...]]:
    """Every coordinate of ``shape`` when ``full``, else ``FD_SAMPLES`` seeded ones."""
    size = int(np.prod(shape))
    flat = np.arange(size) if full or size <= FD_SAMPLES else rng.choice(size, FD_SAMPLES, replace=False)
    return [tuple(int(j) for j in np.unravel_index(int(k), shape)) for k in flat]


@dataclass(frozen=True)
class Probe:
    """Finite differences at one coordinate where the manual gradient and autograd disagree."""

    name: str
    index: tuple[int, ...]
    manual: float
    autograd: float
    finite_difference: float | None  # None: the coordinate sits on a ReLU kink
    tolerance: float                 # how far from the difference quotient still counts as agreeing

    @property
    def sides_with(self) -> str:
        """"manual", "autograd", "both" (the two are closer than finite differences can tell), "neither", or "kink"."""
        if self.finite_difference is None:
            return "kink"
        m = abs(self.finite_difference - self.manual) <= self.tolerance
        a = abs(self.finite_difference - self.autograd) <= self.tolerance
        return {(True, True): "both", (True, False): "manual", (False, True): "autograd"}.get((m, a), "neither")

    def where(self, label: str | None = None) -> str:
        return f"{label or self.name}[{', '.join(map(str, self.index))}]"

    def as_dict(self) -> dict:
        return {"name": self.name, "index": list(self.index), "manual": self.manual, "autograd": self.autograd,
                "finite_difference": self.finite_difference, "tolerance": self.tolerance,
                "sides_with": self.sides_with}


def probe_disagreements(ref: PenalisedMLP, X, y, manual: dict, autograd: dict, names: list[str],
                        scales: dict[str, float], rtol: float, loss0: float) -> list[Probe]:
    """Finite differences at the ``PROBES`` coordinates of each parameter in ``names`` where
    ``|manual - autograd|`` is largest (manual and autograd of the same shape, ``scales`` as in
    ``finite_difference_check``). Sampled coordinates and directions can miss a sparse error; these
    coordinates cannot, so only they may decide which side is wrong.
    """
    probes = []
    for name in names:
        m, a = np.asarray(manual[name], dtype=np.float64), np.asarray(autograd[name], dtype=np.float64)
        diff = np.abs(m - a).ravel()
        diff[~np.isfinite(diff)] = np.inf
        tol = rtol * scales[name] + rounding_bound(loss0)
        for k in np.argsort(-diff, kind="stable")[:PROBES]:
            if diff[k] == 0:
                break
            i = tuple(int(j) for j in np.unravel_index(int(k), m.shape))
            probes.append(Probe(name, i, float(m[i]), float(a[i]),
                                coordinate_slope(ref, X, y, name, i), tol))
    return probes
