"""Final weights of both twins, to disk and back, without pickle.

``scratch.npz`` holds the scratch model's arrays under the shared state-dict keys; ``torch.pt`` the
twin's ``state_dict()``. Loading uses ``np.load(allow_pickle=False)`` and
``torch.load(weights_only=True)`` only, so a weights file can never run code. Either file loads into
either twin, since both use the same keys, shapes and (out, in) layout.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import torch

from .io import write_atomic


def save_weights(model, net: torch.nn.Module, out: Path) -> dict[str, str]:
    """Write ``out/scratch.npz`` and ``out/torch.pt`` atomically; returns their paths."""
    buf = io.BytesIO()
    np.savez(buf, **{k: np.asarray(v) for k, v in model.state_dict().items()})
    write_atomic(out / "scratch.npz", buf.getvalue())
    buf = io.BytesIO()
    torch.save({k: v.detach().cpu() for k, v in net.state_dict().items()}, buf)
    write_atomic(out / "torch.pt", buf.getvalue())
    return {"scratch": str(out / "scratch.npz"), "torch": str(out / "torch.pt")}


def load_scratch_weights(path) -> dict[str, np.ndarray]:
    """The arrays of a ``scratch.npz``, by key; refuses pickled objects."""
    try:
        with np.load(path, allow_pickle=False) as f:
            return {k: f[k] for k in f.files}
    except FileNotFoundError:
        raise ValueError(f"{path} does not exist; pass a scratch.npz written by 'mlp-compare run --save-weights'") from None
    except (OSError, ValueError, zipfile.BadZipFile) as e:
        raise ValueError(f"{path} is not a NumPy .npz of plain arrays ({e}); use the scratch.npz a run wrote") from None


def load_torch_weights(path) -> dict[str, torch.Tensor]:
    """The tensors of a ``torch.pt`` state dict, on the CPU; only plain tensors are accepted."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise ValueError(f"{path} does not exist; pass a torch.pt written by 'mlp-compare run --save-weights'") from None
    except Exception as e:  # torch raises UnpicklingError, RuntimeError, ... for files it won't load
        raise ValueError(f"{path} is not a plain torch state dict ({type(e).__name__}); use the torch.pt a run wrote") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"{path} holds {type(state).__name__}, expected a state dict of tensors")
    return state
