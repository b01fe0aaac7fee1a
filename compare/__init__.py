"""The comparison between the scratch NumPy MLP and its PyTorch twin.

The only package that knows both twins: the shared data pipeline, weight transfer, gradient
checks, lockstep training, plots, reports and the CLI (``python -m compare`` / ``mlp-compare``).
"""

from .data import Dataset, load_dataset
from .gradcheck import GradientReport, assert_gradients_match, check_gradients
from .idx import DataError, read_idx
from .learner import assert_backprop_matches, check_backprop
from .lockstep import lockstep_train, make_twins
from .tolerances import TOLERANCES, compare_arrays

__all__ = ["DataError", "Dataset", "GradientReport", "TOLERANCES", "assert_backprop_matches", "assert_gradients_match",
           "check_backprop", "check_gradients", "compare_arrays",
           "load_dataset", "lockstep_train", "make_twins", "read_idx"]
