"""The torch settings that change a GPU twin's numbers, switched to exact float32 and recorded.

On Ampere and later GPUs TF32 rounds the inputs of float32 matrix products (cuBLAS) and convolutions
(cuDNN) to 10 mantissa bits: the twins would then drift apart by about 1e-3 where float32 allows about
1e-6, and the comparison would blame the twin for its GPU's shortcut. ``exact_float32`` turns both off
for a twin on a GPU; ``numerics`` records, in every run, what was in force. On a CPU none of these
change a result, but they are recorded all the same, so two runs' settings can be compared.

Lesson: none; this is what makes "the twins agree to float32's precision" true on a GPU too.
"""

from __future__ import annotations

import torch


def exact_float32() -> None:
    """No TF32 in float32 matrix products or cuDNN (the legacy flags; torch 2.14 still honours and reports them)."""
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False


def numerics(device: torch.device) -> dict:
    """The settings in force for a twin on ``device``, for ``metrics.json`` and the report."""
    gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else None
    return {"device": str(device), "gpu": gpu,
            "cuda_matmul_allow_tf32": bool(torch.backends.cuda.matmul.allow_tf32),
            "cudnn_allow_tf32": bool(torch.backends.cudnn.allow_tf32),
            "float32_matmul_precision": torch.get_float32_matmul_precision(),
            "deterministic_algorithms": torch.are_deterministic_algorithms_enabled()}
