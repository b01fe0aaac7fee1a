"""Weights both ways between the twins, through the state-dict keys they share (``"0.weight"``, ...).

Both layouts are torch's (W is (out, in)), so transfer is a copy: no transposes, no renaming.
Seeds do not transfer between NumPy and torch, so the weights are drawn once, in NumPy, and copied.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

TORCH_DTYPES = {np.dtype(np.float32): torch.float32, np.dtype(np.float64): torch.float64}


def scratch_to_torch(model, net: nn.Module) -> None:
    """Copy ``model.state_dict()`` (NumPy) into ``net`` (keeping the net's dtype and device)."""
    net.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in model.state_dict().items()})


def torch_to_scratch(net: nn.Module, model) -> None:
    """Copy ``net``'s parameters into ``model``'s live arrays."""
    model.load_state_dict(torch_state_numpy(net))


def torch_state_numpy(net: nn.Module) -> dict[str, np.ndarray]:
    """The net's state dict as NumPy copies on the CPU."""
    return {k: v.detach().cpu().numpy().copy() for k, v in net.state_dict().items()}


def max_weight_diff(model, net: nn.Module) -> float:
    """max |W_scratch - W_torch| over every parameter of the two twins."""
    theirs = {k: v.detach().cpu().numpy() for k, v in net.state_dict().items()}
    return max(float(np.max(np.abs(v - theirs[k]))) for k, v in model.state_dict().items())
