"""Writing outputs so that nothing the user has is lost: atomic files, a checked output folder."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from .errors import UserError


def write_atomic(path: Path, data: bytes | str) -> None:
    """Write to a temporary file in the same folder, then rename: readers never see half a file."""
    path = Path(path)
    payload = data.encode() if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
        os.chmod(tmp, _file_mode())  # mkstemp makes 0600; a report should be as readable as any file
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _file_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def write_json(path: Path, obj) -> None:
    write_atomic(path, json.dumps(obj, indent=2, allow_nan=True) + "\n")


def save_figure(fig, path: Path) -> bytes:
    """Save a matplotlib Figure as PNG atomically, with fixed metadata so the bytes are reproducible;
    returns those bytes (for pages that embed the image)."""
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
    png = buf.getvalue()
    write_atomic(path, png)
    return png


def prepare_out_dir(out: Path, overwrite: bool = False) -> Path:
    """Create ``out`` (or accept an empty one) before any work starts, so a bad path fails fast.

    An existing non-empty folder is refused unless ``overwrite``; files in it are then replaced
    one by one, never deleted wholesale.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} exists and is not a folder; pass a folder path")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise UserError(f"--out {out} already holds files; pass --overwrite to replace them or choose a new folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = tempfile.NamedTemporaryFile(dir=out, prefix=".write-test-")
        probe.close()
    except OSError as e:
        raise UserError(f"cannot write to --out {out} ({e.strerror or e}); choose a folder you can write to") from None
    return out
