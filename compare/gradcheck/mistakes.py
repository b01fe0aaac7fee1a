"""Classic backprop mistakes, recomputed, so that a diagnosis can name the one a learner made.

``known_mistakes`` and ``shifted_labels`` yield, one at a time, the gradients a backward *would* give
with a given mistake (the derivative taken at the wrong place, left out, written wrong; the output
derivative left out or taken at a_out; the labels shifted): when the learner's gradient equals one, that is the mistake.
``targets_mixed`` asks the learner's own code a question instead: is the gradient right on every
one-class part of the batch and wrong on the whole? Then one example's target reaches another's delta.

Lesson: ``NeuralNetMLP.backward``'s ``int_to_onehot``, ``d_loss__d_a_out`` and ``d_a_h__d_z_h``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

import scratch
from scratch import losses
from scratch.activations import ACTIVATIONS, DERIVATIVES

from .teaching import TeachingMLP

Close = Callable[[object, np.ndarray], bool]  # (manual gradient, reference) -> agree?


def _variant_gradients(ref: scratch.MLP, X, y, hidden_derivative=None, output_delta=None) -> dict:
    """The gradients a backward would compute with a different hidden derivative or output delta.

    ``hidden_derivative(a)`` replaces the derivative (written from the activation's output a);
    ``output_delta(out, y)`` replaces dL/dz_out. This is ``TeachingMLP``'s backward with those plugs.
    """
    variant = TeachingMLP(ref.sizes, ref.activation, ref.loss_name, dtype=ref.dtype,
                          output_delta=output_delta, hidden_derivative=hidden_derivative)
    variant.load_state_dict(ref.state_dict())
    return variant.gradients(X, y)


def known_mistakes(ref: scratch.MLP, X, y) -> Iterator[tuple[str, str, dict]]:
    """(kind, explanation, gradients) for classic mistakes that change more than a constant factor."""
    act = ref.activation
    f = ACTIVATIONS[act]
    if ref.sizes[1:-1]:  # only networks with hidden layers have hidden derivatives
        # the derivative taken at a = f(z) instead of z; relu'(relu(z)) equals relu'(z), so that
        # mistake is invisible for ReLU
        if act != "relu":
            yield ("derivative-at-output",
                   f"the hidden layers take the {act} derivative at the activation a instead of at z: "
                   f"{act}'(a) where {act}'(z) is needed. The forward pass keeps a = {act}(z); "
                   f"write the derivative from a ({'a * (1 - a)' if act == 'sigmoid' else '1 - a**2'}), "
                   f"don't apply {act} to it again",
                   _variant_gradients(ref, X, y, hidden_derivative=lambda a: DERIVATIVES[act](f(a))))
        if act == "relu":
            explanation = ("the ReLU derivative lets the gradient through units that are off: it must be 0 "
                           "where a = relu(z) is 0 (PyTorch uses 0 at z = 0 too), e.g. (a > 0), not (a >= 0) or 1")
        else:
            explanation = (f"the hidden layers leave out the {act} derivative: after delta @ W, multiply by "
                           f"the activation's derivative before going one layer down")
        yield ("missing-activation-derivative", explanation,
               _variant_gradients(ref, X, y, hidden_derivative=np.ones_like))
        if act == "tanh":
            yield ("derivative-formula", "the tanh derivative is written 1 - a; it is 1 - a**2",
                   _variant_gradients(ref, X, y, hidden_derivative=lambda a: 1 - a))
    if ref.loss_name == "mse":
        n = X.shape[0]
        yield ("output-derivative-at-activation",
               "the output layer takes the sigmoid derivative at a_out instead of at z_out: sigmoid(a_out) * "
               "(1 - sigmoid(a_out)) where sigmoid'(z_out) = a_out * (1 - a_out) is needed. a_out is already "
               "sigmoid(z_out); write d_a_out__d_z_out = a_out * (1. - a_out), don't apply sigmoid to it again",
               _variant_gradients(ref, X, y, output_delta=lambda o, t: 2 * (o - losses.onehot(t, o.shape[1])) / n
                                  * DERIVATIVES["sigmoid"](ACTIVATIONS["sigmoid"](o))))
        yield ("missing-output-derivative",
               "the output layer's delta leaves out the sigmoid derivative a_out * (1 - a_out): "
               "delta_out = dL/da_out * a_out * (1 - a_out), as in the lesson's d_a_out__d_z_out",
               _variant_gradients(ref, X, y, output_delta=lambda o, t: 2 * (o - losses.onehot(t, o.shape[1])) / n))
    elif ref.loss_name == "softmax_mse":
        n = X.shape[0]

        def d_loss__d_a_out(o, t):
            return 2 * (o - losses.onehot(t, o.shape[1])) / n

        yield ("missing-softmax-jacobian",
               "the output layer's delta leaves out the softmax's Jacobian: d_loss__d_a_out = 2 (a_out - onehot) / n "
               "is handed down as if it were dL/dz_out. Through a softmax, delta_out = a_out * (g - sum(a_out * g, "
               "axis=1, keepdims=True)) with g = d_loss__d_a_out (what is left without it is cross-entropy's "
               "gradient, times 2)",
               _variant_gradients(ref, X, y, output_delta=d_loss__d_a_out))
        yield ("softmax-jacobian-diagonal",
               "the output layer's delta multiplies by a_out * (1 - a_out), the sigmoid's derivative: that is only "
               "the diagonal of the softmax's Jacobian. Each softmax output depends on every z_out: delta_out = "
               "a_out * (g - sum(a_out * g, axis=1, keepdims=True)) with g = d_loss__d_a_out",
               _variant_gradients(ref, X, y, output_delta=lambda o, t: d_loss__d_a_out(o, t) * o * (1 - o)))


def penalty_on_biases(manual: dict, true: dict, params: dict, l2: float, close: Close) -> float | None:
    """``k`` > 0 when each bias's gradient is the true one plus ``k`` times the bias (an L2 penalty's gradient
    on the biases) and each weight's is right: with ``l2`` the true one carries its penalty already, without it
    the weights carry the same ``k`` times their value. None otherwise, or where every bias is zero."""
    biases = [name for name in true if name.endswith("bias")]
    b = {name: np.asarray(params[name], dtype=np.float64) for name in true}
    den = sum(float(np.vdot(b[name], b[name])) for name in biases)
    if not biases or den == 0 or any(manual.get(name) is None or np.shape(manual[name]) != true[name].shape
                                     for name in true):
        return None   # (a missing or misshapen gradient is named for what it is)
    k = sum(float(np.vdot(np.asarray(manual[name], dtype=np.float64) - true[name], b[name])) for name in biases) / den
    weight_k = 0.0 if l2 else k
    fits = all(close(manual[name], true[name] + (k if name.endswith("bias") else weight_k) * b[name]) for name in true)
    return k if k > 0 and fits else None


def penalty_on_biases_words(k: float, l2: float) -> str:
    if l2:
        return (f"the biases' gradients carry an L2 penalty too, {k:.3g} times each bias: like weight_decay in the twin "
                f"(and --l2 {l2:g}), the penalty is on the weights only; leave the biases out of it")
    return (f"every gradient carries an extra {k:.3g} times its parameter, the biases' too: an L2 penalty (λ = "
            f"{k / 2:.3g} in λ‖·‖²) on the biases as well as the weights; the twin's loss has none, and --l2 puts it "
            f"on the weights only: leave the biases out of the penalty")


def shifted_labels(ref: scratch.MLP, X, y) -> Iterator[tuple[str, str, dict]]:
    """(kind, explanation, gradients) for targets taken from the labels shifted by k classes."""
    n_classes = ref.sizes[-1]
    for k in range(1, n_classes):
        shifted = "y - 1" if k == 1 else "y + 1" if k == n_classes - 1 else f"y - {k}"
        yield ("label-shift",
               f"the targets are the labels shifted in the class list: every example is trained towards class "
               f"{shifted} (mod {n_classes}) instead of y. Index the one-hot with y itself: "
               f"onehot[np.arange(n), y] = 1",
               ref.gradients(X, (y - k) % n_classes))


def targets_mixed(model, ref: scratch.MLP, X, y, close: Close) -> bool:
    """True when ``model``'s gradient is right on every one-class part of the batch (at least two).

    Called once the whole batch is known to be wrong: then the error needs examples of different
    classes side by side, which is what a one-hot built as ``onehot[:, y] = 1`` or targets taken
    from the wrong rows do. A part the model cannot even compute counts as "not right".
    """
    classes = np.unique(y)
    if len(classes) < 2:
        return False
    for c in classes:
        rows = np.flatnonzero(y == c)
        try:
            got = model.gradients(X[rows], y[rows])
        except Exception:  # noqa: BLE001  the learner's code on a smaller batch: any failure means no verdict here
            return False
        want = ref.gradients(np.asarray(X[rows], dtype=np.float64), y[rows])
        if not all(close(got.get(k), g) for k, g in want.items()):
            return False
    return True


TARGETS_MIXED = ("the gradient is right on every one-class part of the batch and wrong on the whole batch: one "
                 "example's target reaches another example's delta. Build the one-hot row by row, "
                 "onehot[np.arange(n), y] = 1 (onehot[:, y] = 1 sets every listed class in every row), and keep "
                 "y in the same order as the rows of X. A gradient check on a one-class batch cannot see this")
