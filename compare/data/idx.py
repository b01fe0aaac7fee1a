"""Validated reader for MNIST-style IDX files (raw or ``.gz``), for offline data directories.

Why not just ``torchvision.datasets.MNIST(root, download=False)``?

- It needs the four *uncompressed* files under ``root/MNIST/raw/``; a folder of ``.gz`` files
  alone raises "Dataset not found".
- Its checks of corrupt files are bare ``AssertionError``s, and a label file shorter than the
  image file loads silently (the labels simply stop early).
- Debian's ``dataset-fashion-mnist`` ships recompressed ``.gz`` files, so md5 checks reject them.

This reader accepts any folder holding the four IDX files (raw or gzip, flat or in torchvision's
``MNIST/raw`` / ``FashionMNIST/raw`` layout), checks magic number, dimensions, payload length,
counts and label range, and raises one :class:`DataError` whose one-line message names the file,
says what was expected and found, and what to do. torchvision stays the tool for downloading.

IDX format: 2 zero bytes, a type code byte, a byte with the number of dimensions d, then d
big-endian uint32 sizes, then the data, big-endian, row-major.
"""
from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

import numpy as np

from ..errors import UserError

__all__ = ["DataError", "FILES", "read_idx", "find_idx_file", "load_idx_dir"]


class DataError(UserError):
    """A data file or directory is missing, corrupt or inconsistent. The message is one line."""


FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

# IDX type code -> (big-endian dtype, name). Multi-byte types are big-endian on disk.
_TYPES: dict[int, tuple[np.dtype, str]] = {
    0x08: (np.dtype(">u1"), "unsigned byte"),
    0x09: (np.dtype(">i1"), "signed byte"),
    0x0B: (np.dtype(">i2"), "int16"),
    0x0C: (np.dtype(">i4"), "int32"),
    0x0D: (np.dtype(">f4"), "float32"),
    0x0E: (np.dtype(">f8"), "float64"),
}
_MAX_NDIM = 4  # MNIST uses 1 (labels) and 3 (images); more means a mangled header
_REDOWNLOAD = "delete it and download it again"


def _one_line(text: object) -> str:
    # Exception texts (zlib, OS) may hold newlines; our contract is one line per message.
    return " ".join(str(text).split())


def _read_bytes(path: Path) -> bytes:
    """Whole file in one read, gunzipped when the name ends in ``.gz``."""
    if not path.exists():
        raise DataError(f"{path} does not exist; check the path or download the file")
    if not path.is_file():
        raise DataError(f"{path} is not a regular file; expected an IDX file there")
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise DataError(f"cannot read {path} ({_one_line(e.strerror or e)}); check its permissions") from None
    if path.suffix != ".gz":
        return raw
    try:
        return gzip.decompress(raw)
    # BadGzipFile (an OSError): wrong magic; EOFError: truncated stream; zlib.error: corrupt data.
    except (OSError, EOFError, zlib.error) as e:
        raise DataError(f"{path} is not a valid gzip file ({_one_line(e)}); {_REDOWNLOAD}") from None


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read one IDX file (raw, or gzip when the name ends in ``.gz``).

    Returns
    -------
    ndarray, shape (d1, ..., dk) as given in the header, k in 1..4; native byte order, writable.
    dtype uint8 for type 0x08 (MNIST), else int8/int16/int32/float32/float64.

    Raises DataError for a missing file, broken gzip, bad magic number, bad number of
    dimensions, short header, or a payload that is shorter or longer than the dimensions say.
    """
    path = Path(os.path.abspath(path))
    data = _read_bytes(path)
    if len(data) == 0:
        raise DataError(f"{path} is empty (0 bytes); expected an IDX file; {_REDOWNLOAD}")
    if len(data) < 4:
        raise DataError(f"{path} is too short for an IDX header: expected at least 4 bytes, "
                        f"found {len(data)}; {_REDOWNLOAD}")
    zero0, zero1, code, ndim = data[:4]
    if zero0 != 0 or zero1 != 0 or code not in _TYPES:
        hint = _REDOWNLOAD
        if data[:2] == b"\x1f\x8b":  # gzip magic in a file not named .gz
            hint = "it looks gzip-compressed: rename it to end in .gz"
        raise DataError(f"{path} is not an IDX file: expected magic bytes 00 00 <type> <ndim> with type "
                        f"in {', '.join(f'{c:02x}' for c in _TYPES)}, found {data[:4].hex(' ')}; {hint}")
    if not 1 <= ndim <= _MAX_NDIM:
        raise DataError(f"{path} has a bad IDX header: expected 1 to {_MAX_NDIM} dimensions, "
                        f"found {ndim}; {_REDOWNLOAD}")
    header_len = 4 + 4 * ndim
    if len(data) < header_len:
        raise DataError(f"{path} is truncated inside its header: expected {header_len} header bytes "
                        f"for {ndim} dimensions, found {len(data)}; {_REDOWNLOAD}")
    shape = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    dtype, _ = _TYPES[code]
    expected = int(np.prod(shape, dtype=object)) * dtype.itemsize  # Python ints: no overflow
    found = len(data) - header_len
    if found < expected:
        raise DataError(f"{path} is truncated: expected {expected} bytes of data after the header "
                        f"(shape {shape}), found {found}; {_REDOWNLOAD}")
    if found > expected:
        raise DataError(f"{path} has {found - expected} trailing bytes: expected {expected} bytes of "
                        f"data after the header (shape {shape}), found {found}; {_REDOWNLOAD}")
    arr = np.frombuffer(data, dtype=dtype, offset=header_len).reshape(shape)
    # frombuffer views the immutable bytes; the copy makes the array writable and native-endian.
    return arr.astype(dtype.newbyteorder("="), copy=True)


def find_idx_file(directory: str | os.PathLike[str], stem: str) -> Path:
    """Locate ``stem`` or ``stem.gz`` in ``directory`` or its torchvision subfolders.

    Looks in ``directory``, ``directory/MNIST/raw``, ``directory/FashionMNIST/raw``,
    ``directory/raw``, in that order; within a folder the raw file wins over ``.gz``.
    """
    directory = Path(os.path.abspath(directory))
    if not directory.exists():
        raise DataError(f"data directory {directory} does not exist; pass a folder holding the "
                        f"four IDX files ({', '.join(FILES.values())}, raw or .gz)")
    if not directory.is_dir():
        raise DataError(f"data directory {directory} is not a directory; pass the folder holding "
                        f"the four IDX files, not a file")
    folders = [directory, directory / "MNIST" / "raw", directory / "FashionMNIST" / "raw",
               directory / "raw"]
    for folder in folders:
        for name in (stem, stem + ".gz"):
            if (folder / name).is_file():
                return folder / name
    also = [str(f) for f in folders[1:] if f.is_dir()]
    where = f"{directory}" + (f" (also looked in {', '.join(also)})" if also else "")
    raise DataError(f"missing {stem} (or {stem}.gz) in {where}; it needs the four IDX files "
                    f"{', '.join(FILES.values())} (raw or .gz)")


def _check_ndim(arr: np.ndarray, path: Path, ndim: int, what: str) -> None:
    if arr.ndim != ndim:
        raise DataError(f"{path} should hold {what} ({ndim}-D), found {arr.ndim}-D with shape "
                        f"{arr.shape}; check that the file is not swapped with another")


def load_idx_dir(directory: str | os.PathLike[str], num_classes: int = 10
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Load and cross-check the four MNIST-style IDX files of a directory.

    Returns
    -------
    X_train : ndarray uint8, shape (n_train, rows, cols)
    y_train : ndarray int64, shape (n_train,), values in 0..num_classes-1
    X_test  : ndarray uint8, shape (n_test, rows, cols)
    y_test  : ndarray int64, shape (n_test,)
    """
    paths = {key: find_idx_file(directory, stem) for key, stem in FILES.items()}
    out = {}
    for split in ("train", "test"):
        img_path, lab_path = paths[f"{split}_images"], paths[f"{split}_labels"]
        X, y = read_idx(img_path), read_idx(lab_path)
        _check_ndim(X, img_path, 3, "images (n, rows, cols)")
        _check_ndim(y, lab_path, 1, "labels (n,)")
        if X.dtype != np.uint8:
            raise DataError(f"{img_path} should hold unsigned-byte pixels (IDX type 08), found "
                            f"{X.dtype}; use the MNIST-format image file")
        if not np.issubdtype(y.dtype, np.integer):
            raise DataError(f"{lab_path} should hold integer labels, found {y.dtype}; "
                            f"use the MNIST-format label file")
        if len(X) != len(y):
            # torchvision would load this silently; a mismatch means a truncated or swapped file.
            raise DataError(f"{img_path} has {len(X)} images but {lab_path} has {len(y)} labels; "
                            f"expected equal counts; {_REDOWNLOAD} (the pair must match)")
        if len(X) == 0:
            raise DataError(f"{img_path} holds no images; expected at least one; {_REDOWNLOAD}")
        y = y.astype(np.int64)
        lo, hi = int(y.min()), int(y.max())
        if lo < 0 or hi >= num_classes:
            bad = int(np.count_nonzero((y < 0) | (y >= num_classes)))
            raise DataError(f"{lab_path} has labels from {lo} to {hi}, expected 0..{num_classes - 1} "
                            f"for num_classes={num_classes} ({bad} out of range); pass the right "
                            f"num_classes or {_REDOWNLOAD}")
        out[split] = (X, y)
    (X_train, y_train), (X_test, y_test) = out["train"], out["test"]
    if X_train.shape[1:] != X_test.shape[1:]:
        raise DataError(f"image sizes differ: {paths['train_images']} has {X_train.shape[1:]}, "
                        f"{paths['test_images']} has {X_test.shape[1:]}; expected the same rows x cols "
                        f"in both; use train and test files from one dataset")
    return X_train, y_train, X_test, y_test
