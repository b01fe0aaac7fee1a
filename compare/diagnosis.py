"""When a gradient check fails, say *why*, in words a learner understands, naming the parameter.

Two kinds of evidence:
- the *shape* of the error, parameter by parameter: a constant factor (×num_classes, ×batch size,
  ×2), a flipped sign, an all-zero or missing gradient, a transposed weight gradient;
- *known mistakes*, recomputed: the gradient a backward would give with the activation's
  derivative taken at the wrong place (sigma'(a) instead of sigma'(z)), with a derivative left
  out, and so on. When the learner's gradient equals one of those, we name that mistake.
When neither fits, we localise: the first layer (walking back from the output) whose gradient is
wrong is where the error enters; the layers below inherit it through backprop.

Lesson: ``NeuralNetMLP.backward``'s ``d_loss__d_a_out``, ``d_a_out__d_z_out`` and ``delta_out``
are exactly the places these mistakes live.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

import scratch
from scratch import losses
from scratch.activations import ACTIVATIONS, DERIVATIVES

from .gradcheck import reference_model
from .teaching import TeachingMLP
from .tolerances import tolerance


@dataclass
class Finding:
    kind: str                      # machine-readable: "loss-reduction", "sign-flip", "first-wrong-layer", ...
    message: str                   # one paragraph for the learner
    params: list[str] = field(default_factory=list)
    factor: float | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def _close(a: np.ndarray, b: np.ndarray, rtol: float) -> bool:
    scale = max(float(np.max(np.abs(a), initial=0.0)), float(np.max(np.abs(b), initial=0.0)))
    return bool(np.max(np.abs(a - b), initial=0.0) <= rtol * scale + 1e-300)


def classify(g, r: np.ndarray, rtol: float) -> tuple[str, float | None]:
    """How one manual gradient ``g`` relates to the reference ``r``: a kind and, for scalings, the factor."""
    if g is None:
        return "missing", None
    g = np.asarray(g, dtype=np.float64)
    if g.shape != r.shape:
        if g.ndim == 2 and g.T.shape == r.shape and _close(g.T, r, rtol):
            return "transposed", None
        return "shape", None
    if _close(g, r, rtol):
        return "ok", None
    if not np.any(g) and np.any(r):
        return "zero", None
    if g.ndim == 2 and g.shape[0] == g.shape[1] and _close(g.T, r, rtol):
        return "transposed", None
    rr = float(np.vdot(r, r))
    if rr > 0:
        s = float(np.vdot(g, r)) / rr
        if _close(g, s * r, max(rtol, 1e-9)):
            return ("sign-flip", -1.0) if abs(s + 1) < 1e-6 else ("scale", s)
    return "wrong", None


def _layer_of(name: str) -> int:
    return int(name.split(".")[0]) // 2


def _variant_gradients(ref: scratch.MLP, X, y, hidden_derivative=None, output_delta=None) -> dict:
    """The gradients a backward would compute with a different hidden derivative or output delta.

    ``hidden_derivative(a)`` replaces the derivative (written from the activation's output a);
    ``output_delta(out, y)`` replaces dL/dz_out. This is ``TeachingMLP``'s backward with those plugs.
    """
    variant = TeachingMLP(ref.sizes, ref.activation, ref.loss_name, dtype=ref.dtype)
    variant.load_state_dict(ref.state_dict())
    if output_delta is not None:
        variant.output_delta = output_delta
    if hidden_derivative is not None:
        variant.hidden_derivative = lambda a, layer: hidden_derivative(a)
    return variant.gradients(X, y)


def known_mistakes(ref: scratch.MLP, X, y) -> list[tuple[str, str, dict]]:
    """(kind, explanation, gradients) for classic mistakes that change more than a constant factor."""
    act = ref.activation
    f = ACTIVATIONS[act]
    out = []
    if ref.sizes[1:-1]:  # only networks with hidden layers have hidden derivatives
        # the derivative taken at a = f(z) instead of z; relu'(relu(z)) equals relu'(z), so that
        # mistake is invisible for ReLU
        wrong_place = None if act == "relu" else lambda a: DERIVATIVES[act](f(a))
        if wrong_place is not None:
            out.append(("derivative-at-output",
                        f"the hidden layers take the {act} derivative at the activation a instead of at z: "
                        f"{act}'(a) where {act}'(z) is needed. The forward pass keeps a = {act}(z); "
                        f"write the derivative from a ({'a * (1 - a)' if act == 'sigmoid' else '1 - a**2'}), "
                        f"don't apply {act} to it again",
                        _variant_gradients(ref, X, y, hidden_derivative=wrong_place)))
        if act == "relu":
            explanation = ("the ReLU derivative lets the gradient through units that are off: it must be 0 "
                           "where a = relu(z) is 0 (PyTorch uses 0 at z = 0 too), e.g. (a > 0), not (a >= 0) or 1")
        else:
            explanation = (f"the hidden layers leave out the {act} derivative: after delta @ W, multiply by "
                           f"the activation's derivative before going one layer down")
        out.append(("missing-activation-derivative", explanation,
                    _variant_gradients(ref, X, y, hidden_derivative=np.ones_like)))
        if act == "tanh":
            out.append(("derivative-formula", "the tanh derivative is written 1 - a; it is 1 - a**2",
                        _variant_gradients(ref, X, y, hidden_derivative=lambda a: 1 - a)))
    if ref.loss_name == "mse":
        n = X.shape[0]
        out.append(("missing-output-derivative",
                    "the output layer's delta leaves out the sigmoid derivative a_out * (1 - a_out): "
                    "delta_out = dL/da_out * a_out * (1 - a_out), as in the lesson's d_a_out__d_z_out",
                    _variant_gradients(ref, X, y, output_delta=lambda o, t: 2 * (o - losses.onehot(t, o.shape[1])) / n)))
    return out


def _explain_factor(s: float, n_batch: int, n_classes: int, whose: str) -> tuple[str, str]:
    """(kind, words) for manual = s x reference on every affected parameter."""
    def near(a, b):
        return abs(a - b) <= 1e-6 * abs(b)
    ratio = f"exactly {s:.6g}× the {whose}" if abs(s) >= 1 else f"exactly 1/{1 / s:.6g} of the {whose}"
    if near(s, n_classes) or near(s, 1 / n_classes):
        return "loss-reduction", (
            f"manual gradients are {ratio}: they differ by a factor {n_classes:.1f} = num_classes, a loss-reduction "
            f"mismatch. One side averages the squared error over the {n_classes} classes too (nn.MSELoss()'s "
            f"'mean', the lesson's printed MSE); the lesson's backward differentiates the error summed over "
            f"classes and averaged over examples, ((out - onehot)**2).sum(1).mean()")
    if n_batch > 1 and (near(s, n_batch) or near(s, 1 / n_batch)):
        return "batch-reduction", (
            f"manual gradients are {ratio}: a factor {n_batch} = the batch size. One side sums over the "
            f"examples where the other averages; divide by n exactly once (the lesson does it in "
            f"d_loss__d_a_out = 2 * (a_out - y) / n), and sum, not average, delta for a bias")
    if near(s, 2) or near(s, 0.5):
        return "factor-two", (f"manual gradients are {ratio}: the 2 from the derivative of the square, "
                              f"d(a - y)**2/da = 2 (a - y), is missing or doubled")
    return "scale", f"manual gradients are {ratio}: the direction is right, the scale is not"


def diagnose(model, X, y, manual: dict, autograd: dict, true_grads: dict, report) -> list[Finding]:
    """Findings for a failed check, most specific first."""
    rtol = max(tolerance(model.dtype, "gradient")[0] * 10, 1e-8)
    n_batch, n_classes = int(np.shape(X)[0]), int(model.sizes[-1])
    fd_agrees = all(r.fd_passed and r.dir_passed for r in report.rows)
    findings: list[Finding] = []
    if fd_agrees and not all(r.autograd.passed for r in report.rows):
        # Finite differences side with the manual gradient: the twin is the odd one out.
        reference, whose = autograd, "autograd twin"
        findings.append(Finding("twin-differs", f"finite differences agree with the manual gradients; the "
                                f"twin (loss '{report.torch_loss}') is the one that differs"))
    else:
        reference, whose = true_grads, "true gradient"
    kinds = {name: classify(manual.get(name), r, rtol) for name, r in reference.items()}
    bad = [name for name, (k, _) in kinds.items() if k != "ok"]
    if not bad:
        return findings

    # 1. One constant factor on every wrong parameter.
    factors = [kinds[n][1] for n in bad if kinds[n][0] in ("scale", "sign-flip")]
    if len(factors) == len(bad) and np.allclose(factors, factors[0], rtol=1e-6):
        s = factors[0]
        if kinds[bad[0]][0] == "sign-flip":
            findings.append(Finding("sign-flip", f"{', '.join(bad)}: the gradient has the wrong sign (cosine "
                                    f"-1 with the {whose}): the update would climb the loss (gradient ascent). "
                                    f"Check (a_out - y) vs (y - a_out), and that the update subtracts lr * grad",
                                    bad, -1.0))
        else:
            kind, words = _explain_factor(s, n_batch, n_classes, whose)
            where = "every parameter" if len(bad) == len(reference) else "only " + ", ".join(bad)
            findings.append(Finding(kind, f"{words}. Affected: {where}", bad, s))
        return findings

    # 2. Parameters that are missing, all zero or transposed.
    for name in bad:
        kind = kinds[name][0]
        if kind == "missing":
            findings.append(Finding("missing-gradient", f"{name}: gradients() returned no entry for it", [name]))
        elif kind == "zero":
            findings.append(Finding("zero-gradient", f"{name}: the gradient is all zeros but should not be; "
                                    f"was it forgotten (a bias gradient is delta summed over the batch)?", [name]))
        elif kind == "transposed":
            findings.append(Finding("transposed", f"{name}: the weight gradient is transposed; with W of shape "
                                    f"(out, in) it is delta.T @ a_in, shape {reference[name].shape}", [name]))
        elif kind == "shape":
            findings.append(Finding("shape", f"{name}: gradient shape {np.shape(manual[name])}, expected "
                                    f"{reference[name].shape}", [name]))
    if findings and all(kinds[n][0] in ("missing", "zero", "transposed", "shape") for n in bad):
        return findings

    # 3. A classic mistake, recomputed.
    ref = reference_model(model)
    X64 = np.asarray(X, dtype=np.float64)
    for kind, explanation, grads in known_mistakes(ref, X64, np.asarray(y)):
        if all(classify(manual.get(k), g, rtol)[0] == "ok" for k, g in grads.items()):
            findings.append(Finding(kind, explanation, bad))
            break

    # 4. Where the error enters: the first wrong layer walking back from the output.
    layers = sorted({_layer_of(n) for n in reference}, reverse=True)
    wrong_layers = [i for i in layers if any(_layer_of(n) == i for n in bad)]
    first = wrong_layers[0]
    below = [i for i in layers if i < first]
    names = ", ".join(n for n in reference if _layer_of(n) == first)
    if all(i in wrong_layers for i in below):
        if first == layers[0]:
            where = f"the error is already in the output layer (Linear {first}: {names}), so dL/dz_out is wrong"
        else:
            where = (f"the error enters at Linear layer {first} ({names}); the layers above it are right, so the "
                     f"delta handed down to layer {first} (delta @ W times the activation's derivative) is wrong")
        spread = "; every layer below inherits it through backprop" if below else ""
        findings.append(Finding("first-wrong-layer", where + spread, [n for n in reference if _layer_of(n) <= first]))
    else:
        findings.append(Finding("wrong", f"wrong gradients in {', '.join(bad)} while the layers between them are "
                                f"right: the mistake is local to those parameters' own formulas", bad))
    return findings
