"""Argument types shared by the subcommands: each turns a flag's text into a value or a one-line argparse error.

Kept apart from the entry point (``app``) so that no subcommand imports back from it.
"""

from __future__ import annotations

import argparse

from scratch.activations import ACTIVATIONS
from scratch.losses import VALUES as LOSSES
from scratch.mlp import SUPPORTED_DTYPES

from ..data.load import DATASETS

# The choices the flags offer, from the registries that define them (numpy only: --help stays fast).
ACTIVATION_CHOICES = list(ACTIVATIONS)
LOSS_CHOICES = list(LOSSES)
DTYPE_CHOICES = sorted((d.name for d in SUPPORTED_DTYPES), reverse=True)  # float64 first: the default
DATASET_CHOICES = list(DATASETS)

PROG = "mlp-compare"


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None


def whole_number(text: str, minimum: int, hint: str = "") -> int:
    """``text`` as an int >= ``minimum``, or an argparse error saying which (``hint`` says what the bound means)."""
    value = _integer(text)
    if value < minimum:
        raise argparse.ArgumentTypeError(f"expected a number >= {minimum}{hint}, got {value}")
    return value


def positive_int(text: str) -> int:
    return whole_number(text, 1)


def hidden_sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(t) for t in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated widths like 50 or 50,30, got {text!r}") from None
    if any(s < 1 for s in sizes):
        raise argparse.ArgumentTypeError(f"every hidden width must be >= 1, got {text!r}")
    return sizes


def learning_rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number like 0.1, got {text!r}") from None
    if not (value > 0 and value != float("inf")):
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {text!r}")
    return value


def seed_value(text: str) -> int:
    value = _integer(text)
    if not 0 <= value < 2**32:  # NumPy's RandomState draws the initial weights
        raise argparse.ArgumentTypeError(f"expected a seed between 0 and 2**32 - 1, got {value}")
    return value
