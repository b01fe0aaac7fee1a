"""A gradient off by one constant factor: which mistake the factor points at (num_classes, the batch size, 2).

When the batch size equals the number of classes (a batch of 10 digits), a factor 10 fits a missing
``/ n`` and a mean over the classes alike. The model is then asked again on a batch of another size
(its first n - 1 rows): a factor that follows the batch size is a ``/ n`` mistake, one that stays at
num_classes is the class mean.

Lesson: ``d_loss__d_a_out = 2. * (a_out - y_onehot) / y.shape[0]`` in ``NeuralNetMLP.backward``.
"""

from __future__ import annotations

import numpy as np

from .finite_differences import reference_model


def _near(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-6 * abs(b)


def _fits(s: float, k: float) -> bool:
    return _near(s, k) or _near(s, 1 / k)


def sub_batch_factor(model, X, y, names: list[str]) -> tuple[int, float | None]:
    """(m, s'): the model's gradients of ``names`` on the first m = n - 1 rows are s' x the true ones.

    s' is None when their code fails on the smaller batch or the ratio is not one constant.
    """
    m = int(np.shape(X)[0]) - 1
    try:
        got = model.gradients(X[:m], y[:m])
    except Exception:  # noqa: BLE001  their code on another batch size: any failure means no second opinion
        return m, None
    true = reference_model(model).gradients(np.asarray(X[:m], dtype=np.float64), np.asarray(y[:m]))
    g = np.concatenate([np.ravel(np.asarray(got.get(k, np.nan), dtype=np.float64)) for k in names])
    r = np.concatenate([np.ravel(true[k]) for k in names])
    if g.shape != r.shape or not np.all(np.isfinite(g)) or not np.vdot(r, r) > 0:
        return m, None
    s = float(np.vdot(g, r) / np.vdot(r, r))
    close = np.max(np.abs(g - s * r)) <= 1e-6 * max(float(np.max(np.abs(g))), 1e-300)
    return m, s if close else None


def _ratio(s: float, whose: str) -> str:
    return f"exactly {s:.6g}× the {whose}" if abs(s) >= 1 else f"exactly 1/{1 / s:.6g} of the {whose}"


def _classes(s: float, n_classes: int, whose: str, loss: str = "mse") -> str:
    if loss == "cross_entropy":
        return (f"manual gradients are {_ratio(s, whose)}: they differ by a factor {n_classes:.1f} = num_classes, a "
                f"loss-reduction mismatch. One side averages the cross-entropy over the n x {n_classes} entries "
                f"(np.mean(-onehot * np.log(a_out))); it is summed over the classes and averaged over the examples")
    return (f"manual gradients are {_ratio(s, whose)}: they differ by a factor {n_classes:.1f} = num_classes, a "
            f"loss-reduction mismatch. One side averages the squared error over the {n_classes} classes too "
            f"(nn.MSELoss()'s 'mean', the lesson's printed MSE); the lesson's backward differentiates the error "
            f"summed over classes and averaged over examples, ((out - onehot)**2).sum(1).mean()")


def _batch(s: float, n_batch: int, whose: str) -> str:
    return (f"manual gradients are {_ratio(s, whose)}: a factor {n_batch} = the batch size. One side sums over "
            f"the examples where the other averages; divide by n exactly once (the lesson does it in "
            f"d_loss__d_a_out = 2 * (a_out - y) / n), and sum, not average, delta for a bias")


def explain_factor(s: float, n_batch: int, n_classes: int, whose: str, recheck=None, loss: str = "mse"
                   ) -> tuple[str, str]:
    """(kind, words) for manual = s x reference on every affected parameter of a network trained on ``loss``.

    ``recheck()`` -> ``(m, s')`` (``sub_batch_factor``) is asked only when s fits both the batch size and
    num_classes; without it, or when it cannot tell, the words say both.
    """
    if loss == "cross_entropy" and _fits(s, 2):   # no square, no 2 to lose: one left over, or halved
        return "factor-two", (f"manual gradients are {_ratio(s, whose)}: with softmax + cross-entropy the output's "
                              f"delta is (softmax(z_out) - onehot) / n, with no 2"
                              + ("; the 2 of the squared error's derivative stayed when the output became a softmax "
                                 "(and with softmax + squared error, the delta would need the softmax's Jacobian)"
                                 if _near(s, 2) else ""))
    by_classes = _fits(s, n_classes)
    by_batch = n_batch > 1 and _fits(s, n_batch)
    if by_classes and by_batch:
        m, s2 = recheck() if recheck is not None else (0, None)
        both = (f"the batch holds {n_batch} examples and there are {n_classes} classes, so the factor {n_batch} "
                f"fits both; recomputed on the first {m} examples")
        if s2 is not None and m > 1 and _fits(s2, m):
            return "batch-reduction", (f"{_batch(s, n_batch, whose)} ({both} the factor is {s2:.6g}: it follows "
                                       f"the batch size, so it is a missing or extra / n, not a mean over classes)")
        if s2 is not None and _near(s2, s):
            return "loss-reduction", (f"{_classes(s, n_classes, whose, loss)} ({both} the factor stays {s2:.6g}: it is "
                                      f"the number of classes, not the batch size)")
        return "loss-reduction", (f"manual gradients are {_ratio(s, whose)}: the batch holds {n_batch} examples "
                                  f"and there are {n_classes} classes, so this is a missing or extra / n, or a "
                                  f"mean over the classes; check it on a batch of another size to tell which")
    if by_classes:
        return "loss-reduction", _classes(s, n_classes, whose, loss)
    if by_batch:
        return "batch-reduction", _batch(s, n_batch, whose)
    if _fits(s, 2):
        return "factor-two", (f"manual gradients are {_ratio(s, whose)}: the 2 from the derivative of the square, "
                              f"d(a - y)**2/da = 2 (a - y), is missing or doubled")
    return "scale", f"manual gradients are {_ratio(s, whose)}: the direction is right, the scale is not"
