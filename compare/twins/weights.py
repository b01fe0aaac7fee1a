"""Final weights of both twins, to disk and back, without running arbitrary code from a file.

``scratch.npz`` holds the scratch model's arrays under the shared state-dict keys; ``torch.pt`` the
twin's ``state_dict()``. Either file loads into either twin, since both use the same keys, shapes and
(out, in) layout.

What loading trusts: ``np.load(allow_pickle=False)`` reads raw array data and refuses object
arrays, which would need unpickling. ``torch.load(weights_only=True)`` does unpickle (a ``.pt`` file
is a zip holding a pickle), but with torch's restricted unpickler: it rebuilds only tensors,
primitive types and plain containers (an allowlist) and refuses any other class or function, so a
file cannot name code for it to call. That is as safe as torch's allowlist, not a guarantee that a
hostile file cannot exploit a bug in the unpickler.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import torch

from ..files import write_atomic


def save_weights(model, net: torch.nn.Module, out: Path) -> dict[str, str]:
    """Write ``out/scratch.npz`` and ``out/torch.pt`` atomically; returns their paths."""
    buf = io.BytesIO()
    np.savez(buf, **{k: np.asarray(v) for k, v in model.state_dict().items()})  # type: ignore[arg-type]  # numpy's stub types **kwds as its allow_pickle flag
    write_atomic(out / "scratch.npz", buf.getvalue())
    buf = io.BytesIO()
    torch.save({k: v.detach().cpu() for k, v in net.state_dict().items()}, buf)
    write_atomic(out / "torch.pt", buf.getvalue())
    return {"scratch": str(out / "scratch.npz"), "torch": str(out / "torch.pt")}


def load_scratch_weights(path) -> dict[str, np.ndarray]:
    """The arrays of a ``scratch.npz``, by key; refuses object arrays (they would need unpickling)."""
    try:
        with np.load(path, allow_pickle=False) as f:
            return {k: f[k] for k in f.files}
    except FileNotFoundError:
        raise ValueError(f"{path} does not exist; pass a scratch.npz written by 'mlp-compare run --save-weights'") from None
    except (OSError, ValueError, zipfile.BadZipFile) as e:
        raise ValueError(f"{path} is not a NumPy .npz of plain arrays ({e}); use the scratch.npz a run wrote") from None


def load_torch_weights(path) -> dict[str, torch.Tensor]:
    """The tensors of a ``torch.pt`` state dict, on the CPU, through torch's restricted unpickler
    (``weights_only=True``); anything but a dict of tensors is refused."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise ValueError(f"{path} does not exist; pass a torch.pt written by 'mlp-compare run --save-weights'") from None
    except Exception as e:  # torch raises UnpicklingError, RuntimeError, ... for files it won't load
        raise ValueError(f"{path} is not a plain torch state dict ({type(e).__name__}); use the torch.pt a run wrote") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"{path} holds {type(state).__name__}, expected a state dict of tensors")
    return state
