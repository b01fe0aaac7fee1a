import numpy as np
import pytest


@pytest.fixture(scope="session")
def mnist5k():
    """The embedded dataset, preprocessed and split once for the whole session (float64)."""
    from compare.data import load_dataset

    return load_dataset("mnist-5k", seed=123)


@pytest.fixture
def batch():
    """A small random batch in the lesson's input range: X (32, 784) in [-1, 1], y (32,) labels."""
    rng = np.random.default_rng(0)
    return rng.uniform(-1, 1, size=(32, 784)), rng.integers(0, 10, size=32)
