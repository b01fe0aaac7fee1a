import os

from compare.thread_pools import shorten_spins

shorten_spins()  # before NumPy and torch load, as the command line does: the run's timings are then its own

import numpy as np  # noqa: E402
import pytest
from hypothesis import settings

# Hypothesis: the same examples on every run by default (CI), fresh random ones with
# HYPOTHESIS_PROFILE=thorough. A test's own @settings override a profile field by field.
settings.register_profile("ci", derandomize=True, deadline=None, max_examples=60)
settings.register_profile("thorough", derandomize=False, deadline=None, max_examples=500)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="session")
def mnist5k():
    """The embedded dataset, preprocessed and split once for the whole session (float64)."""
    from compare.data.load import load_dataset

    return load_dataset("mnist-5k", seed=123)


@pytest.fixture
def batch():
    """A small random batch in the lesson's input range: X (32, 784) in [-1, 1], y (32,) labels."""
    rng = np.random.default_rng(0)
    return rng.uniform(-1, 1, size=(32, 784)), rng.integers(0, 10, size=32)
