"""The one exception type for mistakes the user can fix: a bad flag, setting, file or folder.

``UserError`` subclasses ``ValueError``, so ``except ValueError`` (and ``pytest.raises(ValueError)``)
keeps catching it. The command line turns a ``UserError`` into one line and exit code 2; any other
exception is a bug in this project (or a library below it) and exits 1 (see ``compare.cli``).
Its message is one line: what was expected, what was found, what to do.
"""

from __future__ import annotations


class UserError(ValueError):
    """Bad input from the user (flags, settings, data files, output folder); the message is one line."""


ERROR_LOG = "error.log"  # where a run that keeps its folder writes the traceback of a bug
