"""The shared pipeline: the embedded set, preprocessing, the stratified seeded split, the checked
batch, IDX folders."""

import gzip
import struct

import numpy as np
import pytest

from compare.data.load import (
    DataError,
    describe_batch,
    gradient_check_batch,
    label_counts,
    load_dataset,
    preprocess,
    stratified_indices,
)


def test_embedded_split_is_3500_500_1000_and_stratified(mnist5k):
    s = mnist5k.summary()
    assert (s["n_train"], s["n_valid"], s["n_test"], s["n_features"], s["n_classes"]) == (3500, 500, 1000, 784, 10)
    assert np.array_equal(np.bincount(mnist5k.y_train), [350] * 10)
    assert np.array_equal(np.bincount(mnist5k.y_valid), [50] * 10)
    assert np.array_equal(np.bincount(mnist5k.y_test), [100] * 10)


def test_pixels_are_scaled_to_minus_one_one(mnist5k):
    assert mnist5k.X_train.dtype == np.float64
    assert mnist5k.X_train.min() == -1.0 and mnist5k.X_train.max() == 1.0
    np.testing.assert_array_equal(preprocess(np.array([[[0, 255], [51, 102]]], np.uint8)),
                                  [[-1.0, 1.0, (51 / 255 - 0.5) * 2, (102 / 255 - 0.5) * 2]])


def test_splits_are_disjoint_and_seeded(mnist5k):
    again = load_dataset("mnist-5k", seed=123)
    np.testing.assert_array_equal(again.X_valid, mnist5k.X_valid)
    other = load_dataset("mnist-5k", seed=124)
    assert not np.array_equal(other.X_valid, mnist5k.X_valid)
    rows = {r.tobytes() for r in mnist5k.X_train}
    assert not any(r.tobytes() in rows for r in mnist5k.X_test)
    assert not any(r.tobytes() in rows for r in mnist5k.X_valid)


def test_every_split_comes_shuffled_not_sorted_by_label(mnist5k):
    """The mnist-5k file is sorted by label: without a shuffle the first 100 training rows are all zeros."""
    for y in (mnist5k.y_train, mnist5k.y_valid, mnist5k.y_test):
        assert np.count_nonzero(np.bincount(y[:100], minlength=10)) >= 8, np.bincount(y[:100])
        assert np.any(np.diff(y) < 0)


def test_mnist5k_test_images_are_the_same_for_every_seed(mnist5k):
    other = load_dataset("mnist-5k", seed=7)
    np.testing.assert_array_equal(other.X_test, mnist5k.X_test)
    np.testing.assert_array_equal(other.y_test, mnist5k.y_test)
    assert not np.array_equal(other.X_train, mnist5k.X_train)
    assert not np.array_equal(other.X_valid, mnist5k.X_valid)
    # Only the train / valid cut moves with the seed: together they hold the same 4,000 images.
    rows = lambda d: sorted(r.tobytes() for r in np.concatenate([d.X_train, d.X_valid]))  # noqa: E731
    assert rows(other) == rows(mnist5k)


@pytest.mark.parametrize("size", [10, 11, 16, 35, 100])
def test_checked_batch_holds_every_class_in_proportion(mnist5k, size):
    batch = gradient_check_batch(mnist5k.y_train, size, seed=123, num_classes=10)
    counts = np.bincount(mnist5k.y_train[batch], minlength=10)
    assert len(set(batch.tolist())) == size == counts.sum()
    assert counts.min() >= 1 and counts.max() - counts.min() <= 1, counts  # 350 of each class: equal shares


def test_checked_batch_is_seeded():
    y = np.repeat(np.arange(10), 50)
    a, b = gradient_check_batch(y, 30, seed=1), gradient_check_batch(y, 30, seed=1)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(np.sort(a), np.sort(gradient_check_batch(y, 30, seed=2)))


def test_checked_batch_keeps_rare_classes_and_never_repeats_a_class_below_their_number():
    y = np.repeat(np.arange(3), [1, 10, 89])  # a share of 1 % still gets its example
    assert np.bincount(y[gradient_check_batch(y, 3, seed=0)]).tolist() == [1, 1, 1]
    assert np.bincount(y[gradient_check_batch(y, 50, seed=0)], minlength=3).min() == 1
    ten = np.repeat(np.arange(10), 5)
    assert np.bincount(ten[gradient_check_batch(ten, 4, seed=0)]).max() == 1  # four different classes


def test_checked_batch_refuses_impossible_requests():
    with pytest.raises(ValueError, match="gradient-check batch size must be between 1 and 5"):
        gradient_check_batch(np.arange(5), 6, seed=0)
    with pytest.raises(ValueError, match="labels must lie in 0..9, got 0..10"):
        gradient_check_batch(np.arange(11), 5, seed=0, num_classes=10)


def test_batch_labels_read_as_the_report_says_them():
    assert label_counts(np.array([2, 2, 0]), 4) == [1, 0, 2, 0]
    assert describe_batch([7, 13, 10]) == "every class present (7 to 13 each)"
    assert describe_batch([10, 10]) == "every class present (10 each)"
    assert describe_batch([1, 0, 2, 0], ["a", "b", "c", "d"]) == "2 of 4 classes present (missing: b, d)"


def test_float32_pipeline_is_the_float64_one_rounded(mnist5k):
    d32 = load_dataset("mnist-5k", seed=123, dtype=np.float32)
    assert d32.X_train.dtype == np.float32
    np.testing.assert_array_equal(d32.X_train, mnist5k.X_train.astype(np.float32))


def test_stratified_counts_add_up_exactly():
    y = np.repeat(np.arange(3), [5, 7, 11])
    rest, drawn = stratified_indices(y, 8, np.random.default_rng(0))
    assert len(drawn) == 8 and len(rest) == 15
    assert set(rest).isdisjoint(drawn)
    assert np.bincount(y[drawn]).tolist() == [2, 2, 4]
    assert np.any(np.diff(rest) < 0) and np.any(np.diff(drawn) < 0)  # y is sorted; the parts are shuffled


def write_idx(path, array):
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + array.astype(np.uint8).tobytes()
    if path.suffix == ".gz":
        payload = gzip.compress(payload)
    path.write_bytes(payload)


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_load_dataset_from_an_idx_folder(tmp_path, suffix):
    rng = np.random.default_rng(0)
    train_y, test_y = np.repeat(np.arange(10), 12), np.repeat(np.arange(10), 3)
    write_idx(tmp_path / f"train-images-idx3-ubyte{suffix}", rng.integers(0, 256, (120, 28, 28)))
    write_idx(tmp_path / f"train-labels-idx1-ubyte{suffix}", train_y)
    test_images = rng.integers(0, 256, (30, 28, 28))
    write_idx(tmp_path / f"t10k-images-idx3-ubyte{suffix}", test_images)
    write_idx(tmp_path / f"t10k-labels-idx1-ubyte{suffix}", test_y)
    d = load_dataset("fashion-mnist", data_dir=tmp_path, valid_size=20, seed=1)
    assert (len(d.y_train), len(d.y_valid), len(d.y_test)) == (100, 20, 30)
    assert np.bincount(d.y_valid).tolist() == [2] * 10
    # The whole official test file, each image with its own label, in an order that is not the file's sorted one.
    file_row = {r.tobytes(): k for k, r in enumerate(preprocess(test_images))}
    order = [file_row[r.tobytes()] for r in d.X_test]
    assert sorted(order) == list(range(30)) and order != list(range(30))
    np.testing.assert_array_equal(d.y_test, test_y[order])
    assert d.X_test.shape == (30, 784) and -1 <= d.X_test.min() and d.X_test.max() <= 1


def test_missing_data_folder_is_a_clear_data_error(tmp_path):
    with pytest.raises(DataError, match="missing train-images-idx3-ubyte"):
        load_dataset("mnist", data_dir=tmp_path)


@pytest.mark.parametrize("kwargs, message", [
    (dict(name="cifar"), "dataset must be one of mnist-5k, mnist, fashion-mnist, got 'cifar'"),
    (dict(valid_size=4000), "valid size must be between 1 and 3999"),
    (dict(data_dir="/somewhere"), "--data-dir is for --dataset mnist or fashion-mnist"),
])
def test_bad_dataset_requests(kwargs, message):
    with pytest.raises(ValueError, match=message):
        load_dataset(**kwargs)
