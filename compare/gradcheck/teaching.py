"""``scratch.MLP``'s backward spelled out in four small steps, each replaceable.

The mutant gallery overrides one step in a subclass to plant a classic mistake; ``compare.gradcheck.mistakes``
passes a different output delta or hidden derivative to the constructor (explicit plug-ins, never a method
assigned onto a live object) to recompute what such a mistake would produce.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from scratch import MLP
from scratch.activations import DERIVATIVES
from scratch.losses import DELTAS

GALLERY_SIZES = [784, 16, 12, 10]  # the mutant gallery's: two hidden layers, so "the first wrong layer" can be seen
OutputDelta = Callable[[np.ndarray, np.ndarray], np.ndarray]   # (out (B, C), y (B,)) -> dL/dz_out (B, C)
HiddenDerivative = Callable[[np.ndarray], np.ndarray]          # a (B, H) -> da/dz (B, H), from the output a


class TeachingMLP(MLP):
    """``scratch.MLP``'s backward, spelled out as four small steps a mutant can override.

    ``output_delta`` and ``hidden_derivative`` (keyword-only) replace those two steps for every layer.
    """

    def __init__(self, *args, output_delta: OutputDelta | None = None,
                 hidden_derivative: HiddenDerivative | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self._output_delta, self._hidden_derivative = output_delta, hidden_derivative

    def output_delta(self, out, y):
        """dL/dz_out (B, C)."""
        return (self._output_delta or DELTAS[self.loss_name])(out, y)

    def hidden_derivative(self, a, hidden):
        """d a / d z of hidden layer ``hidden`` (1 is the first), from its output ``a`` (B, H)."""
        return (self._hidden_derivative or DERIVATIVES[self.activation])(a)

    def weight_gradient(self, delta, a_in, layer):
        """dL/dW (out, in) = delta.T @ a_in for Linear layer ``layer`` (0 is the first)."""
        return delta.T @ a_in

    def bias_gradient(self, delta, layer):
        """dL/db (out,) = delta summed over the batch."""
        return delta.sum(axis=0)

    def backward(self, out, activations, y):
        layers = self.layers()
        delta = self.output_delta(out, y)
        grads = {}
        for i in reversed(range(len(layers))):
            W, _ = layers[i]
            grads[f"{2 * i}.weight"] = self.weight_gradient(delta, activations[i], i)
            grads[f"{2 * i}.bias"] = self.bias_gradient(delta, i)
            if i > 0:  # activations[i] is the output of hidden layer i, the input of Linear layer i
                delta = (delta @ W) * self.hidden_derivative(activations[i], i)
        return {k: v for k, v in grads.items() if v is not None}
