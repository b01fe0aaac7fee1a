"""A worker's private folder: a copy of one submission, and the texts the checker writes into it.

The copy keeps links as links (a link to a file elsewhere is read where it points, never written through),
leaves out ``__pycache__`` and hidden files, and then takes the checker's texts (the file as it runs there,
its class and not its script; the helper modules beside a single file), each replacing what the copy holds
at that path.
"""

from __future__ import annotations

import shutil
from pathlib import Path


def fill(copy: Path, submission: Path, texts: dict[str, str | bytes]) -> None:
    """Copy ``submission`` (a file, or a folder of one learner's files) into the new folder ``copy``, then
    write each of ``texts`` (a path inside it, and its text)."""
    copy.mkdir()
    if submission.is_dir():   # one learner's folder, or the package a file lives in
        shutil.copytree(submission, copy / submission.name, symlinks=True,
                        ignore=shutil.ignore_patterns("__pycache__", ".*"))
    else:
        shutil.copy2(submission, copy / submission.name)
    for relative, text in texts.items():
        if Path(relative).is_absolute() or ".." in Path(relative).parts:
            raise ValueError(f"{relative!r} is not a path inside the submission")
        target = copy / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.unlink(missing_ok=True)   # a link copied as a link is replaced, never written through
        target.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
