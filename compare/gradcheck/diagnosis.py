"""When a gradient check fails, say *why*, in words a learner understands, naming the parameter.

First, who is wrong: the twin only when finite differences, taken at the coordinates where the manual
gradient and autograd differ most, side with the manual gradient (``report.probes``); otherwise the
manual gradient, judged against the true one. Then three kinds of evidence:
- what the comparison itself found: a gradient in the wrong dtype, of the wrong shape, or missing;
- the *shape* of the error, parameter by parameter: a constant factor (×num_classes, ×batch size,
  ×2), a flipped sign, an all-zero gradient, a transposed weight gradient;
- *known mistakes*, recomputed or probed (``compare.gradcheck.mistakes``): the derivative taken at the wrong
  place, left out, labels shifted, targets mixed across examples. When one fits, we name it.
Finally we localise: the first layer (walking back from the output) whose weight and bias are both
wrong is where a wrong delta enters; the layers below inherit it. A wrong gradient that backprop would
not spread is local to its own formula. A failing check always gets at least one finding.

Lesson: ``NeuralNetMLP.backward``'s ``d_loss__d_a_out``, ``d_a_out__d_z_out`` and ``delta_out``
are exactly the places these mistakes live.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from ..agreement.tolerances import tolerance
from .factors import explain_factor, sub_batch_factor
from .finite_differences import reference_model
from .mistakes import (
    TARGETS_MIXED,
    known_mistakes,
    penalty_on_biases,
    penalty_on_biases_words,
    shifted_labels,
    targets_mixed,
)
from .naming import layer_of, layer_words, param_words, params_words

LOCALISING = ("first-wrong-layer", "wrong", "manual-differs")  # say where, not which mistake


@dataclass
class Finding:
    kind: str                      # machine-readable: "loss-reduction", "sign-flip", "first-wrong-layer", ...
    message: str                   # one paragraph for the learner
    params: list[str] = field(default_factory=list)  # state-dict keys
    factor: float | None = None
    evidence: list[dict] = field(default_factory=list)  # the probed coordinates behind a blame

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


def _probed(probes, label, per_name: bool = True) -> str:
    """The probed coordinates in words: the worst one of each parameter (all of them in the evidence)."""
    seen, parts = set(), []
    for p in probes:
        if per_name and p.name in seen:
            continue
        seen.add(p.name)
        fd = "a ReLU kink" if p.finite_difference is None else f"{p.finite_difference:.6g}"
        parts.append(f"{p.where(label(p.name))}: manual {p.manual:.6g}, autograd {p.autograd:.6g}, "
                     f"finite difference {fd}")
    return "; ".join(parts)


def _problems(report, manual: dict, reference: dict, rtol: float) -> tuple[list[Finding], set[str]]:
    """One finding per distinct dtype problem, and the names whose values are right apart from it."""
    by_problem: dict[str, list] = {}
    for r in report.rows:
        if r.problem.startswith("dtype"):
            by_problem.setdefault(r.problem, []).append(r)
    loose = max(rtol, 10 * tolerance(np.float32, "gradient")[0])  # values judged at the coarser dtype
    findings, dtype_only = [], set()
    for problem, rows in by_problem.items():
        findings.append(Finding("dtype", f"{', '.join(r.shown for r in rows)}: the gradient comes back in the wrong "
                                f"dtype ({problem}): return it in the parameters' dtype (np.asarray(g, dtype=W.dtype)); "
                                f"a lower precision throws digits away, a higher one hides what the model's own "
                                f"precision does", [r.name for r in rows]))
        dtype_only |= {r.name for r in rows if classify(manual.get(r.name), reference[r.name], loose)[0] == "ok"}
    return findings, dtype_only


def diagnose(model, X, y, manual: dict, autograd: dict, true_grads: dict, report) -> list[Finding]:
    """Findings for a failed check, most specific first; never empty."""
    label = report.label
    rtol = max(tolerance(model.dtype, "gradient")[0] * 10, 1e-8)
    sampled_agree = all(r.fd_passed is not False and r.dir_passed is not False for r in report.rows)
    probes = [p for p in report.probes if p.sides_with != "kink"]
    findings: list[Finding] = []
    if sampled_agree and probes and all(p.sides_with == "manual" for p in probes):
        # The loss itself sides with the manual gradient where the two differ most: the twin is the odd one out.
        reference, whose = autograd, "autograd twin"
        findings.append(Finding(
            "twin-differs", f"finite differences side with the manual gradients where they and the twin (loss "
            f"'{report.torch_loss}') differ most ({_probed(probes, label)}; {len(probes)} coordinates compared): "
            f"the twin is the one that differs", evidence=[p.as_dict() for p in probes]))
    else:
        reference, whose = true_grads, "true gradient"
    problem_findings, dtype_only = _problems(report, manual, reference, rtol)
    findings += problem_findings
    kinds = {name: classify(manual.get(name), r, rtol) for name, r in reference.items() if name not in dtype_only}
    bad = [name for name, (k, _) in kinds.items() if k != "ok"]
    if not bad:
        return findings or [_unresolved(report, probes, label)]
    factor = _constant_factor(kinds, bad, reference, whose, label, X, y, model)
    if factor is not None:
        return findings + [factor]
    structural = _structural(kinds, bad, manual, reference, label)
    if structural and all(kinds[n][0] in STRUCTURAL for n in bad):
        return findings + structural
    findings += structural + _classic_mistake(model, X, y, manual, bad, rtol,
                                                  true_grads if reference is true_grads else None)
    findings.append(_localise(reference, bad, label))
    if sampled_agree and any(p.sides_with == "autograd" for p in probes):
        against = [p for p in probes if p.sides_with == "autograd"]
        findings.append(Finding("manual-differs", f"the sampled coordinates and directions did not catch this, but "
                                f"finite differences where the manual gradient and autograd differ most side with "
                                f"autograd, so the manual gradient is wrong there: {_probed(against, label)}",
                                sorted({p.name for p in probes}), evidence=[p.as_dict() for p in probes]))
    return findings


STRUCTURAL = ("missing", "zero", "transposed", "shape")  # kinds that say what is wrong without a formula


def _constant_factor(kinds: dict, bad: list[str], reference: dict, whose: str, label, X, y, model
                     ) -> Finding | None:
    """One finding when every wrong parameter is the reference times one constant (a sign, 2, n, C, ...)."""
    factors = [f for n in bad if kinds[n][0] in ("scale", "sign-flip") and (f := kinds[n][1]) is not None]
    if not (len(factors) == len(bad) and np.allclose(factors, factors[0], rtol=1e-6)):
        return None
    shown = params_words(bad, reference, label)
    if kinds[bad[0]][0] == "sign-flip":
        check = ("Check (a_out - y) vs (y - a_out), and that the update subtracts lr * grad"
                 if len(bad) == len(reference) else "The other parameters are right: check the sign in the "
                 "formula of only these")
        return Finding("sign-flip", f"{shown}: the gradient has the wrong sign (cosine -1 with the {whose}): the "
                       f"update would climb the loss (gradient ascent). {check}", bad, -1.0)
    # A second batch size can tell a missing / n from a class mean only when the manual side is the suspect.
    recheck = (lambda: sub_batch_factor(model, X, y, bad)) if whose == "true gradient" else None
    kind, words = explain_factor(factors[0], int(np.shape(X)[0]), int(model.sizes[-1]), whose, recheck,
                                 getattr(model, "loss_name", "mse"))
    where = "every parameter" if len(bad) == len(reference) else "only " + shown
    return Finding(kind, f"{words}. Affected: {where}", bad, factors[0])


def _structural(kinds: dict, bad: list[str], manual: dict, reference: dict, label) -> list[Finding]:
    """Parameters whose gradient is missing, all zero, transposed or of the wrong shape."""
    findings = []
    for name in bad:
        kind, who = kinds[name][0], param_words(name, reference, label)
        if kind == "missing":
            findings.append(Finding("missing-gradient", f"{who}: gradients() returned no entry for it", [name]))
        elif kind == "zero" and name.endswith("weight"):
            findings.append(Finding("zero-gradient", f"{who}: the weight gradient is all zeros but should not be; "
                                    f"was it forgotten, or left at np.zeros_like({label(name)})? A weight gradient "
                                    f"is the layer's delta times its input, delta.T @ a_in (x for hidden layer 1, "
                                    f"the activation of the layer below for the others)", [name]))
        elif kind == "zero":
            findings.append(Finding("zero-gradient", f"{who}: the bias gradient is all zeros but should not be; "
                                    f"was it forgotten? A bias gradient is the layer's delta summed over the "
                                    f"batch, delta.sum(axis=0)", [name]))
        elif kind == "transposed":
            findings.append(Finding("transposed", f"{who}: the weight gradient is transposed; with W of shape "
                                    f"(out, in) it is delta.T @ a_in, shape {reference[name].shape}", [name]))
        elif kind == "shape":
            findings.append(Finding("shape", f"{who}: gradient shape {np.shape(manual[name])}, expected "
                                    f"{reference[name].shape}", [name]))
    return findings


def _classic_mistake(model, X, y, manual: dict, bad: list[str], rtol: float, truth: dict | None) -> list[Finding]:
    """A classic mistake the manual gradient equals, recomputed, or found by asking the model itself.
    ``truth``: the true gradients when the manual ones are the suspect (None when the twin is)."""
    def close(g, r):
        return classify(g, r, rtol)[0] == "ok"

    ref = reference_model(model)
    X64, y = np.asarray(X, dtype=np.float64), np.asarray(y)
    if truth is not None:
        k = penalty_on_biases(manual, truth, model.state_dict(), ref.l2, close)
        if k is not None:
            return [Finding("l2-on-biases", penalty_on_biases_words(k, ref.l2), bad)]
    for kind, explanation, grads in known_mistakes(ref, X64, y):
        if all(close(manual.get(k), g) for k, g in grads.items()):
            return [Finding(kind, explanation, bad)]
    # Right on every one-class part rules out a consistent label shift, so this question comes first.
    if truth is not None and targets_mixed(model, ref, np.asarray(X), y, close):
        return [Finding("targets-mixed", TARGETS_MIXED, bad)]
    shift = next((Finding(kind, words, bad) for kind, words, grads in shifted_labels(ref, X64, y)
                  if all(close(manual.get(k), g) for k, g in grads.items())), None)
    return [shift] if shift else []


def _localise(reference: dict, bad: list[str], label) -> Finding:
    """The first layer, walking back from the output, whose weight and bias are both wrong (a wrong delta
    enters there) when every layer below is wrong too; otherwise the wrong parameters' own formulas."""
    layers = sorted({layer_of(n) for n in reference}, reverse=True)
    wrong_layers = [i for i in layers if any(layer_of(n) == i for n in bad)]
    first = wrong_layers[0]
    own = [n for n in reference if layer_of(n) == first]
    layer = layer_words(first, reference, label)
    below = [i for i in layers if i < first]
    if all(n in bad for n in own) and all(i in wrong_layers for i in below):
        if first == layers[0]:
            where = f"the error is already in {layer}, so dL/dz_out (the output delta) is wrong"
        else:
            where = (f"the error enters at {layer}; the layers above it are right, so the delta handed down to "
                     f"it (delta @ W times the activation's derivative) is wrong")
        spread = "; every layer below inherits it through backprop" if below else ""
        return Finding("first-wrong-layer", where + spread, [n for n in reference if layer_of(n) <= first])
    return Finding("wrong", f"wrong gradients in {params_words(bad, reference, label)} only: a wrong delta would "
                   f"make its layer's weight and bias and every layer below wrong, so the mistake is in those "
                   f"parameters' own formulas", bad)


def _unresolved(report, probes, label) -> Finding:
    """The finding of last resort: the check failed and no pattern explains it."""
    failing = [f"{r.shown} ({', '.join(r.failed_opinions)}{'; ' + r.problem if r.problem else ''})"
               for r in report.rows if not r.passed]
    words = f"the check fails for {', '.join(failing)}, but no known pattern explains it"
    if probes and all(p.sides_with == "both" for p in probes):
        words += (f". Finite differences agree with both sides where manual and autograd differ most "
                  f"({_probed(probes, label)}): the difference is below what they can resolve, so which side is "
                  f"off cannot be told from the loss")
    elif probes:
        words += f". Where manual and autograd differ most: {_probed(probes, label)}"
    return Finding("unresolved", words, [r.name for r in report.rows if not r.passed],
                   evidence=[p.as_dict() for p in probes])
