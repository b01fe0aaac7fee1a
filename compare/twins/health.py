"""Is the training doing anything? Saturated units and chance-level accuracy, said in words.

A learning rate far too large (``--lr 10000`` on the lesson's network) does not always overflow:
the sigmoid units saturate at 0 or 1, their derivatives vanish, the squared-error loss settles at
exactly 1.0 and accuracy at chance. Nothing is NaN, so nothing crashes; this module notices.
"""

from __future__ import annotations

import numpy as np

# A unit counts as saturated where its derivative is below 1% of the derivative's largest value.
SATURATED_BELOW = {"sigmoid": 0.01 * 0.25, "tanh": 0.01 * 1.0, "relu": 0.5}  # relu: derivative 0 (off)


def saturated_fraction(model, X: np.ndarray) -> float:
    """Fraction of hidden activations (units x examples) whose derivative has all but vanished."""
    if len(model.sizes) <= 2:
        return 0.0
    from scratch.activations import DERIVATIVES

    with np.errstate(all="ignore"):
        _, activations = model.forward_with_cache(X)
        derivs = [DERIVATIVES[model.activation](a) for a in activations[1:]]
    total = sum(d.size for d in derivs)
    return float(sum(np.count_nonzero(d < SATURATED_BELOW[model.activation]) for d in derivs) / total)


def training_health(model, history: list[dict], X_valid: np.ndarray, y_train: np.ndarray, lr: float) -> dict:
    """``{"saturated_fraction", "chance_acc", "useless", "warning"}`` for the scratch twin's run."""
    chance = float(np.bincount(y_train).max() / len(y_train))
    saturated = saturated_fraction(model, X_valid)
    final = history[-1] if history else None
    useless = bool(final is not None and final["train_acc"] <= 1.5 * chance)
    warning = ""
    if useless and final is not None:
        warning = (f"training did not learn: after {final['epoch']} epochs the training accuracy is "
                   f"{final['train_acc']:.3f}, chance level is {chance:.2f}, the loss L is {final['loss']:.4g}, and "
                   f"{saturated:.0%} of the hidden units' activations are saturated (derivative < 1% of its "
                   f"maximum), so almost no gradient flows; lower the learning rate (--lr {lr:g} is too large; "
                   f"the lesson uses 0.1)")
    return {"saturated_fraction": saturated, "chance_acc": chance, "useless": useless, "warning": warning}
