"""Does the manual backprop compute the same gradients as autograd? One batch, every parameter.

``check_gradients`` accepts any object honouring the gradient part of the ``scratch.MLP`` contract:
``sizes``, ``activation``, ``loss_name``, ``state_dict()``, ``loss(X, y)``, ``gradients(X, y)``.
It builds the PyTorch twin from that spec, loads the same weights and lets autograd differentiate.

Lesson: ``NeuralNetMLP.backward`` is what is being checked; ``loss.backward()`` is the reference.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from torch_impl import build_model, loss_function

from .tolerances import Comparison, compare_arrays, tolerance


@dataclass
class GradientReport:
    """One row per parameter (manual vs autograd), the losses of both, and the overall verdict."""

    dtype: str
    rows: list[Comparison]
    loss_manual: float
    loss_autograd: float
    torch_loss: str
    diagnosis: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.rows)

    def as_dict(self) -> dict:
        rtol, atol = tolerance(self.dtype, "gradient")
        return {"dtype": self.dtype, "passed": self.passed, "torch_loss": self.torch_loss,
                "rtol": rtol, "atol": atol, "loss_manual": self.loss_manual,
                "loss_autograd": self.loss_autograd,
                "params": [r.as_dict() for r in self.rows], "diagnosis": self.diagnosis}

    def table(self) -> str:
        """A plain-text table, one row per parameter."""
        lines = [f"{'parameter':<12} {'shape':<12} {'max abs diff':>13} {'max rel diff':>13} {'cosine':>10}  verdict"]
        for r in self.rows:
            shape = "x".join(map(str, r.shape))
            verdict = "ok" if r.passed else ("FAIL " + r.problem).strip()
            lines.append(f"{r.name:<12} {shape:<12} {r.max_abs_diff:>13.3e} {r.max_rel_diff:>13.3e} "
                         f"{r.cosine:>10.6f}  {verdict}")
        return "\n".join(lines)


def autograd_gradients(model, X: np.ndarray, y: np.ndarray, torch_loss: str | None = None
                       ) -> tuple[float, dict[str, np.ndarray]]:
    """Loss and gradients from the twin ``nn.Sequential`` with ``model``'s weights, on the CPU."""
    dtype = {np.dtype(np.float32): torch.float32, np.dtype(np.float64): torch.float64}[np.dtype(model.dtype)]
    net = build_model(model.sizes, model.activation, model.loss_name).to(dtype)
    net.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in model.state_dict().items()})
    loss = loss_function(torch_loss or model.loss_name)(net(torch.from_numpy(np.asarray(X, dtype=model.dtype))),
                                                        torch.from_numpy(np.asarray(y, dtype=np.int64)))
    loss.backward()
    return loss.item(), {k: p.grad.numpy() for k, p in net.named_parameters()}


def check_gradients(model, X: np.ndarray, y: np.ndarray, torch_loss: str | None = None) -> GradientReport:
    """Compare ``model.gradients(X, y)`` with autograd's, parameter by parameter.

    ``torch_loss`` replaces the twin's loss (``"mse-mean"`` is ``nn.MSELoss()``: the 10x trap).
    """
    manual = model.gradients(X, y)
    loss_auto, auto = autograd_gradients(model, X, y, torch_loss)
    rows = [compare_arrays(name, manual.get(name, np.zeros(0)), auto[name], "gradient", model.dtype)
            for name in auto]
    return GradientReport(np.dtype(model.dtype).name, rows, float(model.loss(X, y)), loss_auto,
                          torch_loss or model.loss_name)
