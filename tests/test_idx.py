"""Tests for compare.data.idx, the validated IDX reader. No network: every file is written here."""
from __future__ import annotations

import gzip
import re
import struct
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compare.data.idx import FILES, DataError, find_idx_file, load_idx_dir, read_idx

_CODES = {np.dtype(np.uint8): 0x08, np.dtype(np.int8): 0x09, np.dtype(np.int16): 0x0B,
          np.dtype(np.int32): 0x0C, np.dtype(np.float32): 0x0D, np.dtype(np.float64): 0x0E}


def idx_bytes(array: np.ndarray) -> bytes:
    """IDX encoding of ``array``: magic 00 00 <type> <ndim>, big-endian uint32 dims, big-endian data."""
    array = np.asarray(array)
    header = struct.pack(">BBBB", 0, 0, _CODES[array.dtype], array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write_idx(path: Path, array: np.ndarray, gz: bool = False) -> Path:
    """Write ``array`` as an IDX file at ``path`` (``path + '.gz'``, gzip-compressed, when ``gz``)."""
    data = idx_bytes(array)
    path = Path(str(path) + ".gz") if gz else Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def make_dataset(directory: Path, gz: bool = False, n_train: int = 20, n_test: int = 10,
                 seed: int = 0) -> dict[str, np.ndarray]:
    """Four small fake MNIST files in ``directory``; returns the arrays written, keyed as FILES."""
    rng = np.random.default_rng(seed)
    arrays = {
        "train_images": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train_labels": rng.integers(0, 10, n_train, dtype=np.uint8),
        "test_images": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "test_labels": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    for key, arr in arrays.items():
        write_idx(directory / FILES[key], arr, gz=gz)
    return arrays


def test_data_error_is_value_error():
    assert issubclass(DataError, ValueError)


# ---------------------------------------------------------------- round trips

@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gz"])
@pytest.mark.parametrize("shape", [(7,), (5, 28, 28), (3, 4, 2)], ids=["1d", "3d-28", "3d-small"])
def test_round_trip_uint8(tmp_path, gz, shape):
    arr = np.random.default_rng(1).integers(0, 256, shape, dtype=np.uint8)
    out = read_idx(write_idx(tmp_path / "f-idx-ubyte", arr, gz=gz))
    assert out.dtype == np.uint8 and out.shape == shape
    np.testing.assert_array_equal(out, arr)
    out[...] = 0  # the copy must be writable, not a view of immutable bytes


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.float32, np.float64])
def test_round_trip_other_types_big_endian(tmp_path, dtype):
    arr = (np.arange(24).reshape(2, 3, 4) - 12).astype(dtype)
    out = read_idx(write_idx(tmp_path / "f", arr))
    assert out.dtype == np.dtype(dtype) and out.dtype.isnative
    np.testing.assert_array_equal(out, arr)


def test_read_idx_accepts_str_path(tmp_path):
    arr = np.arange(5, dtype=np.uint8)
    np.testing.assert_array_equal(read_idx(str(write_idx(tmp_path / "f", arr))), arr)


# ---------------------------------------------------------------- directories

@pytest.mark.parametrize("layout", ["flat", "MNIST/raw", "FashionMNIST/raw", "raw"])
@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gz"])
def test_load_idx_dir(tmp_path, gz, layout):
    where = tmp_path if layout == "flat" else tmp_path / layout
    arrays = make_dataset(where, gz=gz)
    X_train, y_train, X_test, y_test = load_idx_dir(tmp_path)
    assert X_train.shape == (20, 28, 28) and X_train.dtype == np.uint8
    assert X_test.shape == (10, 28, 28) and X_test.dtype == np.uint8
    assert y_train.shape == (20,) and y_train.dtype == np.int64
    assert y_test.shape == (10,) and y_test.dtype == np.int64
    np.testing.assert_array_equal(X_train, arrays["train_images"])
    np.testing.assert_array_equal(y_train, arrays["train_labels"])
    np.testing.assert_array_equal(X_test, arrays["test_images"])
    np.testing.assert_array_equal(y_test, arrays["test_labels"])


def test_find_prefers_raw_over_gz_and_top_level_over_torchvision(tmp_path):
    stem = FILES["train_labels"]
    write_idx(tmp_path / "MNIST" / "raw" / stem, np.zeros(2, np.uint8))
    assert find_idx_file(tmp_path, stem) == tmp_path / "MNIST" / "raw" / stem
    write_idx(tmp_path / stem, np.zeros(2, np.uint8), gz=True)
    assert find_idx_file(tmp_path, stem) == tmp_path / (stem + ".gz")
    write_idx(tmp_path / stem, np.zeros(2, np.uint8))
    assert find_idx_file(tmp_path, stem) == tmp_path / stem


def test_more_classes_allowed_with_num_classes(tmp_path):
    make_dataset(tmp_path)
    write_idx(tmp_path / FILES["test_labels"], np.full(10, 10, np.uint8))
    with pytest.raises(DataError):
        load_idx_dir(tmp_path)
    assert load_idx_dir(tmp_path, num_classes=11)[3].max() == 10


# ---------------------------------------------------------------- bad files: read_idx

GOOD = idx_bytes(np.arange(12, dtype=np.uint8).reshape(1, 3, 4))

BAD_FILES = {
    "wrong-magic": (b"\x00\x01" + GOOD[2:], "f", r"is not an IDX file: expected magic bytes .* found 00 01 08 03"),
    "bad-type-code": (GOOD[:2] + b"\x07" + GOOD[3:], "f", r"found 00 00 07 03"),
    "gzip-not-named-gz": (gzip.compress(GOOD), "f", r"looks gzip-compressed: rename it to end in \.gz"),
    "zero-dims": (GOOD[:3] + b"\x00" + GOOD[4:], "f", r"expected 1 to 4 dimensions, found 0"),
    "nine-dims": (GOOD[:3] + b"\x09" + GOOD[4:], "f", r"expected 1 to 4 dimensions, found 9"),
    "short-header": (GOOD[:10], "f", r"truncated inside its header: expected 16 header bytes .* found 10"),
    "tiny": (b"\x00\x00", "f", r"too short for an IDX header: expected at least 4 bytes, found 2"),
    "empty": (b"", "f", r"is empty \(0 bytes\)"),
    "truncated": (GOOD[:-5], "f", r"truncated: expected 12 bytes of data after the header .* found 7"),
    "trailing": (GOOD + b"xyz", "f", r"has 3 trailing bytes: expected 12 bytes .* found 15"),
    "broken-gzip": (bytes(np.random.default_rng(0).integers(0, 256, 64, dtype=np.uint8)), "f.gz",
                    r"is not a valid gzip file \(.*\); delete it and download it again"),
    "raw-named-gz": (GOOD, "f.gz", r"is not a valid gzip file"),
    "gzip-truncated-stream": (gzip.compress(GOOD * 50)[:-12], "f.gz", r"is not a valid gzip file"),
    "gzip-of-empty": (gzip.compress(b""), "f.gz", r"is empty"),
    "gzip-of-truncated": (gzip.compress(GOOD[:-1]), "f.gz", r"truncated: expected 12 bytes .* found 11"),
}


@pytest.mark.parametrize("content,name,pattern", BAD_FILES.values(), ids=BAD_FILES.keys())
def test_read_idx_rejects(tmp_path, content, name, pattern):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DataError, match=pattern) as info:
        read_idx(path)
    message = str(info.value)
    assert "\n" not in message
    assert str(path) in message  # names the file by its full path


def test_read_idx_missing_file(tmp_path):
    with pytest.raises(DataError, match=re.escape(str(tmp_path / "nope")) + " does not exist"):
        read_idx(tmp_path / "nope")


def test_read_idx_directory(tmp_path):
    with pytest.raises(DataError, match="is not a regular file"):
        read_idx(tmp_path)


# ---------------------------------------------------------------- bad directories: load_idx_dir

def _labels_short(d):
    write_idx(d / FILES["train_labels"], np.zeros(19, np.uint8))
    return (rf"{re.escape(str(d / FILES['train_images']))} has 20 images but "
            rf"{re.escape(str(d / FILES['train_labels']))} has 19 labels")


def _label_10(d):
    y = np.zeros(10, np.uint8)
    y[3] = 10
    write_idx(d / FILES["test_labels"], y)
    return rf"{re.escape(str(d / FILES['test_labels']))} has labels from 0 to 10, expected 0\.\.9 .*1 out of range"


def _negative_label(d):
    y = np.zeros(20, np.int8)  # signed-byte labels are accepted, so a negative one can reach the range check
    y[[2, 5]] = -1
    write_idx(d / FILES["train_labels"], y)
    return rf"{re.escape(str(d / FILES['train_labels']))} has labels from -1 to 0, expected 0\.\.9 .*2 out of range"


def _image_file_2d(d):
    write_idx(d / FILES["train_images"], np.zeros((20, 784), np.uint8))
    return rf"{re.escape(str(d / FILES['train_images']))} should hold images \(n, rows, cols\) \(3-D\), found 2-D"


def _labels_2d(d):
    write_idx(d / FILES["test_labels"], np.zeros((10, 1), np.uint8))
    return r"should hold labels \(n,\) \(1-D\), found 2-D"


def _size_mismatch(d):
    write_idx(d / FILES["test_images"], np.zeros((10, 14, 14), np.uint8))
    return r"image sizes differ: .* has \(28, 28\), .* has \(14, 14\)"


def _float_images(d):
    write_idx(d / FILES["train_images"], np.zeros((20, 28, 28), np.float32))
    return r"should hold unsigned-byte pixels \(IDX type 08\), found float32"


def _labels_truncated_file(d):
    (d / FILES["train_labels"]).write_bytes(idx_bytes(np.zeros(20, np.uint8))[:-4])
    return r"train-labels-idx1-ubyte is truncated: expected 20 bytes .* found 16"


def _no_examples(d):
    write_idx(d / FILES["test_images"], np.zeros((0, 28, 28), np.uint8))
    write_idx(d / FILES["test_labels"], np.zeros(0, np.uint8))
    return r"holds no images"


BAD_DIRS = [_labels_short, _label_10, _negative_label, _image_file_2d, _labels_2d, _size_mismatch, _float_images,
            _labels_truncated_file, _no_examples]


@pytest.mark.parametrize("mangle", BAD_DIRS, ids=[f.__name__.strip("_") for f in BAD_DIRS])
def test_load_idx_dir_rejects(tmp_path, mangle):
    make_dataset(tmp_path)
    pattern = mangle(tmp_path)
    with pytest.raises(DataError, match=pattern) as info:
        load_idx_dir(tmp_path)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("key", FILES)
@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gz"])
def test_missing_each_file(tmp_path, key, gz):
    make_dataset(tmp_path, gz=gz)
    stem = FILES[key]
    (tmp_path / (stem + ".gz" if gz else stem)).unlink()
    pattern = rf"missing {stem} \(or {stem}\.gz\) in {re.escape(str(tmp_path))}; it needs the four IDX files"
    with pytest.raises(DataError, match=pattern) as info:
        load_idx_dir(tmp_path)
    for other in FILES.values():  # lists all four so the user knows the whole set
        assert other in str(info.value)


def test_missing_file_mentions_torchvision_folder(tmp_path):
    make_dataset(tmp_path / "MNIST" / "raw")
    (tmp_path / "MNIST" / "raw" / FILES["test_images"]).unlink()
    with pytest.raises(DataError, match=r"also looked in .*MNIST/raw"):
        load_idx_dir(tmp_path)


def test_nonexistent_directory(tmp_path):
    missing = tmp_path / "no-such-dir"
    with pytest.raises(DataError, match=rf"data directory {re.escape(str(missing))} does not exist"):
        load_idx_dir(missing)


def test_directory_is_a_file(tmp_path):
    f = tmp_path / "file.txt"
    f.write_text("hello")
    with pytest.raises(DataError, match=rf"data directory {re.escape(str(f))} is not a directory"):
        load_idx_dir(f)


# ---------------------------------------------------------------- fuzzing: only DataError or an array

def _check_fuzz(content: bytes, name: str) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / name
        path.write_bytes(content)
        try:
            arr = read_idx(path)
        except DataError as e:
            assert "\n" not in str(e) and str(path) in str(e)
        else:
            assert isinstance(arr, np.ndarray) and 1 <= arr.ndim <= 4


@settings(max_examples=200, deadline=None)
@given(content=st.binary(max_size=200), gz=st.booleans())
def test_fuzz_random_bytes(content, gz):
    _check_fuzz(content, "f.gz" if gz else "f")


_VALID = [idx_bytes(np.arange(6, dtype=np.uint8)),
          idx_bytes(np.arange(24, dtype=np.uint8).reshape(2, 3, 4)),
          idx_bytes(np.arange(6, dtype=np.float32).reshape(2, 3))]


@settings(max_examples=200, deadline=None)
@given(base=st.sampled_from(_VALID),
       mutations=st.lists(st.tuples(st.integers(0, 63), st.integers(0, 255)), max_size=4),
       cut=st.integers(0, 200), gz=st.booleans())
def test_fuzz_mangled_headers(base, mutations, cut, gz):
    data = bytearray(base)
    for pos, value in mutations:
        if pos < len(data):
            data[pos] = value
    data = bytes(data[:cut])
    _check_fuzz(gzip.compress(data) if gz else data, "f.gz" if gz else "f")
