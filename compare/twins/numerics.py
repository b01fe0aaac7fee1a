"""The torch settings that change a GPU twin's numbers, switched to exact float32 and recorded.

On Ampere and later GPUs TF32 rounds the inputs of float32 matrix products (cuBLAS) and convolutions
(cuDNN) to 10 mantissa bits: the twins would then drift apart by about 1e-3 where float32 allows about
1e-6, and the comparison would blame the twin for its GPU's shortcut. ``exact_float32`` turns both off
for the rest of the process (``make_twins`` calls it for a twin on a GPU); ``numerics`` records, in
every run, what was in force. On a CPU none of these change a result.

Lesson: none; this is what makes "the twins agree to float32's precision" true on a GPU too.
"""

from __future__ import annotations

from collections.abc import Callable

import torch


def exact_float32() -> None:
    """No TF32 in float32 matrix products or cuDNN, for the rest of the process (torch's legacy flags,
    which torch 2.14 still honours)."""
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False


def _flag(read: Callable[[], object]) -> bool | str | None:
    """A flag's value, or ``None`` where torch refuses to answer: reading a legacy ``allow_tf32`` raises
    once the newer ``fp32_precision`` settings were used for some operators and not others."""
    try:
        value = read()
    except (RuntimeError, AttributeError):
        return None
    return value if isinstance(value, str) else bool(value)


def numerics(device: torch.device) -> dict:
    """The settings in force for a twin on ``device``, for ``metrics.json`` and the report; never raises."""
    b = torch.backends
    return {"device": str(device), "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else None,
            "cuda_matmul_allow_tf32": _flag(lambda: b.cuda.matmul.allow_tf32),
            "cudnn_allow_tf32": _flag(lambda: b.cudnn.allow_tf32),
            "cuda_matmul_fp32_precision": _flag(lambda: b.cuda.matmul.fp32_precision),
            # torch 2.9's per-operator setting, not in its type stubs yet
            "cudnn_conv_fp32_precision": _flag(lambda: b.cudnn.conv.fp32_precision),  # type: ignore[attr-defined]
            "float32_matmul_precision": torch.get_float32_matmul_precision(),
            "deterministic_algorithms": torch.are_deterministic_algorithms_enabled()}
