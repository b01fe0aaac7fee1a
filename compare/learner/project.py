"""A learner's class that already honours the project's contract (``scratch.MLP``'s), of any depth.

``sizes``, ``activation``, ``loss_name``, ``dtype``, ``state_dict()`` (live arrays under ``nn.Sequential``'s
keys, (out, in)), ``forward(X)`` (class scores), ``loss(X, y)`` and ``gradients(X, y)``: the same checks
run on it as on the book's shape, with every call to their code going through ``blame.call`` and
every value they return checked by ``returns``.
"""

from __future__ import annotations

import numpy as np

from torch_impl import probabilities

from ..gradcheck.diagnosis import Finding
from .blame import call
from .handles import class_name_of, is_remote
from .returns import BadReturn, as_array

CONTRACT = ("sizes", "activation", "loss_name", "dtype", "state_dict", "loss", "gradients", "forward")


class ProjectLearner:
    """A learner's instance with the ``scratch.MLP`` contract, checked the way ``BookLearner`` is."""

    kind = "project"
    storage = "out_in"

    def __init__(self, obj, file: str | None):
        self.obj, self.file = obj, file
        self.sizes = tuple(int(s) for s in obj.sizes)
        self.activation, self.loss_name, self.dtype = obj.activation, obj.loss_name, np.dtype(obj.dtype)
        self.shapes = {k: tuple(v.shape) for k, v in self.state_dict().items()}
        self.param_names = {k: k for k in self.shapes}
        self.gradient_labels = {k: f"d {k}" for k in self.shapes}
        self.output_labels = {"output": "forward(X)"}

    @property
    def class_name(self) -> str:
        return class_name_of(self.obj)

    def params(self) -> dict[str, np.ndarray]:
        return self.state_dict()

    def orient(self, key: str, array: np.ndarray) -> np.ndarray:
        return array

    def state_dict(self) -> dict[str, np.ndarray]:
        state = call(self.file, "state_dict", self.obj.state_dict)
        if not isinstance(state, dict) or not all(isinstance(v, np.ndarray) for v in state.values()):
            raise BadReturn(Finding("not-array", f"state_dict() returned a {type(state).__name__}; expected a dict "
                                    f"of NumPy arrays under nn.Sequential's keys ('0.weight', '0.bias', ...)"))
        return state

    def load_state_dict(self, state: dict) -> None:
        """Copy ``state`` into their parameters: in place here, through their ``load_state_dict`` in a worker."""
        if is_remote(self.obj):
            call(self.file, "load_state_dict", self.obj.load_state_dict,
                 {k: np.asarray(state[k], dtype=self.dtype) for k in self.shapes})
            return
        for key, target in self.state_dict().items():
            target[...] = state[key]

    def forward(self, X: np.ndarray) -> dict[str, np.ndarray]:
        out = call(self.file, "forward", self.obj.forward, X)
        return {"output": as_array(out, "forward", "output", (X.shape[0], self.sizes[-1]), self.dtype)}

    def backward(self, X: np.ndarray, outputs: dict, y: np.ndarray) -> dict[str, np.ndarray]:
        """Their ``gradients(X, y)`` (the contract has no separate backward), checked key by key."""
        grads = call(self.file, "gradients", self.obj.gradients, X, y)
        if not isinstance(grads, dict):
            raise BadReturn(Finding("not-array", f"gradients() returned a {type(grads).__name__}; expected a dict "
                                    f"with the keys of state_dict(): {', '.join(self.shapes)}"))
        missing = [k for k in self.shapes if k not in grads]
        if missing:
            raise BadReturn(Finding("missing-gradient", f"gradients() returned no entry for {', '.join(missing)}",
                                    missing))
        return {k: as_array(grads[k], "gradients()", k, shape, self.dtype, k) for k, shape in self.shapes.items()}

    def gradients(self, X: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
        saved = self.snapshot()
        try:
            return self.backward(X, {}, y)
        finally:
            self.restore(saved)

    def loss(self, X: np.ndarray, y: np.ndarray) -> float:
        return float(call(self.file, "loss", self.obj.loss, X, y))

    def probabilities(self, X: np.ndarray) -> np.ndarray:
        return self.forward(X)["output"]

    def twin_outputs(self, net, Xt) -> dict:
        return {"output": probabilities(net(Xt), self.loss_name)}

    def step(self, X: np.ndarray, y: np.ndarray, lr: float) -> float:
        """``param -= lr * grad`` for every parameter; returns L before the update."""
        loss = self.loss(X, y)
        grads = self.backward(X, {}, y)
        self.load_state_dict({key: param - lr * grads[key] for key, param in self.state_dict().items()})
        return loss

    def snapshot(self) -> dict[str, tuple[None, tuple, np.ndarray]]:
        return {k: (None, (), np.array(a, copy=True)) for k, a in self.state_dict().items()}

    def tokens(self) -> dict[str, tuple]:
        return {k: () for k in self.shapes}

    def restore(self, saved: dict) -> None:
        self.load_state_dict({k: values for k, (_, _, values) in saved.items()})
