"""Writing outputs so that nothing the user has is lost: atomic files, a checked output folder."""

from __future__ import annotations

import json
import math
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


def _read_umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


# Read once, at import: setting the umask to read it would, for that instant, give every file and folder
# another thread creates mode 0777 (check DIR writes reports from several threads).
UMASK = _read_umask()


def _file_mode() -> int:
    return 0o666 & ~UMASK


def write_json(path: Path, obj) -> None:
    """Write ``obj`` as strict JSON (RFC 8259: no ``NaN`` or ``Infinity``), atomically.

    A non-finite float becomes ``null`` with its reason beside it, under the key's name plus
    ``_nonfinite``: ``{"loss": inf}`` is written ``{"loss": null, "loss_nonfinite": "inf"}``. Inside a
    list the reasons are keyed by position (``"2"``, or ``"2.1"`` in a list of lists):
    ``{"gap": [1e-16, nan]}`` is written ``{"gap": [1e-16, null], "gap_nonfinite": {"1": "nan"}}``.
    """
    write_atomic(path, json.dumps(finite_json(obj), indent=2, allow_nan=False) + "\n")


def finite_json(obj):
    """``obj`` with every non-finite float replaced as ``write_json`` describes (a new object)."""
    return _finite(obj)[0]


def _finite(value):
    """``(value with non-finite floats as None, their reasons or None)``."""
    if isinstance(value, float) and not math.isfinite(value):
        return None, "nan" if math.isnan(value) else "inf" if value > 0 else "-inf"
    if isinstance(value, dict):
        clean = {}
        for key, item in value.items():
            clean[key], why = _finite(item)
            if why is not None:
                clean[f"{key}_nonfinite"] = why
        return clean, None
    if isinstance(value, (list, tuple)):
        items, reasons = [], {}
        for i, item in enumerate(value):
            item, why = _finite(item)
            items.append(item)
            if isinstance(why, dict):  # a list inside this list: "outer.inner" positions
                reasons.update({f"{i}.{k}": w for k, w in why.items()})
            elif why is not None:
                reasons[str(i)] = why
        return items, reasons or None
    return value, None


def figure_png(fig) -> bytes:
    """A matplotlib Figure as PNG bytes at 100 dpi, with fixed metadata so the bytes are reproducible."""
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
    return buf.getvalue()


def save_figure(fig, path: Path) -> bytes:
    """Save a matplotlib Figure as PNG atomically; returns its bytes (for pages that embed the image)."""
    png = figure_png(fig)
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


def check_file_target(path: Path | None, flag: str = "--json") -> None:
    """Refuse, before any work, a file path that cannot be written: a missing folder or an existing folder."""
    if path is None:
        return
    if path.is_dir():
        raise UserError(f"{flag} {path} is a folder; pass a file path such as {path / 'results.json'}")
    if not path.parent.is_dir():
        raise UserError(f"{flag} {path}: folder {path.parent} does not exist")
