"""``scratch.MLP``'s backward spelled out in four small overridable steps.

The mutant gallery overrides one step to plant a classic mistake; ``compare.mistakes`` plugs in a different
output delta or hidden derivative to recompute what such a mistake would produce.
"""

from __future__ import annotations

from scratch import MLP
from scratch.activations import DERIVATIVES
from scratch.losses import DELTAS


class TeachingMLP(MLP):
    """``scratch.MLP``'s backward, spelled out as four small steps a mutant can override."""

    def output_delta(self, out, y):
        """dL/dz_out (B, C)."""
        return DELTAS[self.loss_name](out, y)

    def hidden_derivative(self, a, layer):
        """d a / d z for the hidden layer whose output is ``a`` (B, H)."""
        return DERIVATIVES[self.activation](a)

    def weight_gradient(self, delta, a_in, layer):
        """dL/dW (out, in) = delta.T @ a_in."""
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
            if i > 0:
                delta = (delta @ W) * self.hidden_derivative(activations[i], i)
        return {k: v for k, v in grads.items() if v is not None}
