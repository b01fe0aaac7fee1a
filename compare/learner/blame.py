"""Whose fault is it? A learner's exception is shown as one line with *their* file and line.

Two kinds of trouble reach a learner:
- ``CannotCheck``: their file or class cannot be loaded or adapted (a syntax error, an import that fails,
  no class with ``forward`` and ``backward``, a constructor with other arguments). One line, exit 2.
- ``LearnerRaised``: their code ran and raised (in ``__init__``, ``forward`` or ``backward``). That is a
  bug in their backprop, not in ours: one line, "your backward raised IndexError: ... (my_mlp.py:57)",
  exit 1. Never our traceback.

``call`` is the only door through which the checks run learner code.
"""

from __future__ import annotations

import os
import traceback
from pathlib import Path

import numpy as np

from ..worker.client import TheirError, WorkerDied
from .source import CannotCheck, at, shown

__all__ = ["CannotCheck", "LearnerRaised", "call", "locate", "shown"]

OURS = tuple(str(Path(__file__).resolve().parents[2] / pkg) + os.sep for pkg in ("compare", "scratch", "torch_impl"))


class LearnerRaised(Exception):
    """The learner's own code raised ``error`` inside ``method``; ``where`` is ``file:line`` in their code."""

    def __init__(self, method: str, error: BaseException, where: str):
        self.method, self.error, self.where = method, error, where
        if isinstance(error, TheirError):   # raised in a worker: its type and message came as text
            kind, text = error.type, error.message
        else:
            kind, text = type(error).__name__, str(error)
        text = " ".join(text.split()) or "(no message)"  # one line, whatever the message holds
        super().__init__(f"your {method} raised {kind}: {text}" + (f" ({where})" if where else ""))


def locate(error: BaseException, their_file: str | None) -> str:
    """``file:line`` of the last frame of ``error``'s traceback in ``their_file``.

    Without a frame there (their code called a library that raised, and the file is unknown), the last
    frame outside this project's own packages; empty when every frame is ours.
    """
    frames = traceback.extract_tb(error.__traceback__)
    if their_file is not None:
        theirs = os.path.realpath(their_file)
        mine = [f for f in frames if f.filename and os.path.realpath(f.filename) == theirs]
        if mine:
            return at(their_file, mine[-1].lineno or "?")
    outside = [f for f in frames if f.filename and not os.path.realpath(f.filename).startswith(OURS)
               and "site-packages" not in f.filename and "<frozen" not in f.filename]
    return f"{shown(outside[-1].filename)}:{outside[-1].lineno}" if outside else ""


def call(their_file: str | None, method: str, fn, *args, **kwargs):
    """``fn(*args, **kwargs)``, with any exception it raises turned into ``LearnerRaised``.

    Overflow and underflow warnings from their NumPy code are silenced: what matters (NaN or inf in
    what they return) is checked and reported as a finding.
    """
    try:
        with np.errstate(over="ignore", under="ignore"):
            return fn(*args, **kwargs)
    except WorkerDied:   # the process running their code ended: not one method's exception
        raise
    except TheirError as e:   # from a worker: the line is in the copy of their file, named as the original
        line = e.where.rpartition(":")[2]
        raise LearnerRaised(method, e, at(their_file, line) if their_file and line else e.where) from None
    # Anything their code raises is their bug, in one line; sys.exit() too, which must never end the
    # check with its own exit code (sys.exit(0) would read as a pass).
    except (Exception, SystemExit) as e:
        raise LearnerRaised(method, e, locate(e, their_file)) from None
