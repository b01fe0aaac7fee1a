"""Purity and repeatability: forward and backward compute, they change nothing, and they repeat exactly.

Three learner habits that a gradient comparison alone can miss, each named with the parameter or input:
- a ``backward`` (or ``forward``) that updates the weights itself ("backward changed weight_out: apply
  the update outside backward");
- state that accumulates between calls (a gradient kept on ``self`` and added to): the first call is
  right, the second is not;
- inputs modified in place (``a_h *= 1 - a_h`` overwrites the forward pass's ``a_h``).

Lesson: the book's ``train`` calls ``backward`` and only then updates ``model.weight_h`` and friends.
"""

from __future__ import annotations

import numpy as np

from ..gradcheck.diagnosis import Finding


def _changed(learner, saved: dict) -> list[tuple[str, float]]:
    """``(name, largest change)`` of every parameter that is no longer what ``saved`` holds (rebound, or
    changed in place)."""
    now, tokens = learner.params(), learner.tokens()
    out = []
    for name, (_, tok, values) in saved.items():
        current = now[name]
        if tokens[name] != tok or not np.array_equal(current, values):
            same_shape = np.shape(current) == values.shape
            out.append((name, float(np.max(np.abs(np.asarray(current) - values))) if same_shape else np.inf))
    return out


def _modified(inputs: dict[str, np.ndarray], originals: dict[str, np.ndarray]) -> list[str]:
    return [name for name, value in inputs.items() if not np.array_equal(value, originals[name])]


def check_purity(learner, X: np.ndarray, y: np.ndarray) -> list[Finding]:
    """Findings for a ``learner`` (fresh from ``Subject.make``) whose forward or backward is not pure."""
    findings: list[Finding] = []
    labels = {"x": "x", "y": "y", **{k: v for k, v in learner.output_labels.items()}}

    saved = learner.snapshot()
    x_in = X.copy()
    outputs = learner.forward(x_in)
    for name, gap in _changed(learner, saved):
        findings.append(Finding("forward-updates", f"forward changed {name} (by up to {gap:.2g}): forward only "
                                f"computes; the weights change in the update step, after backward", [name]))
    if _modified({"x": x_in}, {"x": X}):
        findings.append(Finding("modifies-input", "forward changed its input x in place: work on a new array "
                                "(x = x - m, not x -= m), the caller's data must stay as it was", ["x"]))
    learner.restore(saved)

    def backward_once():
        inputs = {"x": X.copy(), **{k: v.copy() for k, v in outputs.items()}, "y": y.copy()}
        grads = learner.backward(inputs["x"], {k: inputs[k] for k in outputs}, inputs["y"])
        originals = {"x": X, **outputs, "y": y}
        return grads, _modified(inputs, originals)

    first, modified = backward_once()
    for name, gap in _changed(learner, saved):
        grad = next((learner.gradient_labels[k] for k, n in learner.param_names.items() if n == name), "its gradient")
        findings.append(Finding("backward-updates", f"backward changed {name} (by up to {gap:.2g}): apply the update "
                                f"outside backward (the book's training loop does model.{name} -= learning_rate * "
                                f"{grad} after backward returns)", [name]))
    for name in modified:
        label = labels.get(name, name)
        findings.append(Finding("modifies-input", f"backward changed its input {label} in place: compute into a new "
                                f"array ({label} * (1. - {label}), not {label} *= ...), the caller may still need "
                                f"{label}", [label]))
    learner.restore(saved)
    second, _ = backward_once()
    learner.restore(saved)
    for key, g in first.items():
        if not np.array_equal(g, second[key]):
            gap = float(np.max(np.abs(g - second[key])))
            findings.append(Finding("accumulates", f"calling backward twice with the same weights and inputs gave a "
                                    f"different {learner.gradient_labels[key]} (up to {gap:.2g} apart): state carries "
                                    f"over between calls (a gradient kept on self and added to?); compute every "
                                    f"gradient afresh in each call", [learner.param_names[key]]))
            break
    return findings
