"""The comparison between the scratch NumPy MLP and its PyTorch twin.

The only package that knows both twins, in rooms by concern (see the README's "Layout"): ``data``,
``twins``, ``gradcheck``, ``learner``, ``report``, ``lesson``, ``bench``, ``cli``; at this level only
what ties them (``run``, ``config``), what every room uses (``files``, ``errors``) and this public face.

Importing ``compare`` loads neither torch nor matplotlib: each public name is imported on first use
(PEP 562), so ``mlp-compare --help`` and a learner's ``from compare import ...`` pay only for what they use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# public name -> the module that defines it
_PUBLIC = {
    "DataError": "compare.data.idx",
    "read_idx": "compare.data.idx",
    "Dataset": "compare.data.load",
    "load_dataset": "compare.data.load",
    "TOLERANCES": "compare.agreement.tolerances",
    "compare_arrays": "compare.agreement.tolerances",
    "GradientReport": "compare.gradcheck.check",
    "check_gradients": "compare.gradcheck.check",
    "assert_gradients_match": "compare.gradcheck.check",
    "lockstep_train": "compare.twins.lockstep",
    "make_twins": "compare.twins.lockstep",
    "check_backprop": "compare.learner.check",
    "assert_backprop_matches": "compare.learner.check",
}

__all__ = ["DataError", "Dataset", "GradientReport", "TOLERANCES", "assert_backprop_matches", "assert_gradients_match",
           "check_backprop", "check_gradients", "compare_arrays", "load_dataset", "lockstep_train", "make_twins",
           "read_idx"]


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'compare' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # the next lookup is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_PUBLIC))


if TYPE_CHECKING:  # for type checkers and editors; never executed
    from .agreement.tolerances import TOLERANCES, compare_arrays
    from .data.idx import DataError, read_idx
    from .data.load import Dataset, load_dataset
    from .gradcheck.check import GradientReport, assert_gradients_match, check_gradients
    from .learner.check import assert_backprop_matches, check_backprop
    from .twins.lockstep import lockstep_train, make_twins
