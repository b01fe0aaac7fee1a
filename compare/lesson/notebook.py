"""Notebooks as files: cells built with ``nbformat`` (v4, kernel ``python3``, outputs empty), validated, written.

A code cell that quotes the project's source carries its target in its metadata
(``{"mlp_compare": {"quote": "module:qualname"}}``) and holds exactly ``Quote(target).code()``'s text
under a one-line label, so ``stale_cells`` can tell, for any notebook on disk, which cells no longer
match the code they quote.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat import NotebookNode
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from ..files import write_atomic
from .pages import Quote

KEY = "mlp_compare"
KERNEL = {"name": "python3", "display_name": "Python 3", "language": "python"}
# The first cell of each notebook ends with what a student installs to run it.
INSTALL = ("\n\n**To run it:** install this package with its `notebook` extra, from wherever your teacher publishes "
           "it (`pip install \"mlp-compare[notebook]\"`, or `pip install -e \".[notebook]\"` in a checkout): that "
           "brings Jupyter; then `jupyter lab`.")



def markdown(text: str) -> NotebookNode:
    return new_markdown_cell(text.strip())


def code(text: str, tags: tuple[str, ...] = ()) -> NotebookNode:
    cell = new_code_cell(text.strip())
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def quote_text(target: str) -> str:
    """``# file:line qualname`` then the live source of ``target``, dedented."""
    c = Quote(target).code()
    return f"# {c.label}\n{c.text.rstrip()}"


def quote(target: str) -> NotebookNode:
    """A code cell holding the real source of ``target`` (``"module:qualname"``); running it defines it."""
    cell = new_code_cell(quote_text(target))
    cell.metadata[KEY] = {"quote": target}
    return cell


def _body(text: str) -> str:
    """The quoted code without its label line: line numbers may move, the code must not."""
    return text.split("\n", 1)[1] if text.startswith("# ") and "\n" in text else text


def stale_cells(nb: NotebookNode) -> list[str]:
    """One line per quoting cell whose code differs from the source it quotes today (empty: none)."""
    stale = []
    for i, cell in enumerate(nb.cells):
        target = cell.get("metadata", {}).get(KEY, {}).get("quote")
        if cell.cell_type != "code" or not target:
            continue
        try:
            now = quote_text(target)
        except (AttributeError, ImportError, ValueError) as e:
            stale.append(f"cell {i} quotes {target}, which no longer exists ({e})")
            continue
        if _body(cell.source) != _body(now):
            stale.append(f"cell {i} quotes {target} but differs from its source today: write the notebook again")
    return stale


def notebook(cells: list[NotebookNode]) -> NotebookNode:
    """A v4 notebook of ``cells`` for the ``python3`` kernel, outputs empty, checked against the schema."""
    nb = new_notebook(cells=cells, metadata={"kernelspec": dict(KERNEL),
                                             "language_info": {"name": "python"}})
    nbformat.validate(nb)
    return nb


def write_notebook(nb: NotebookNode, path: Path) -> Path:
    """Validate ``nb`` and write it to ``path`` atomically; returns the path."""
    nbformat.validate(nb)
    write_atomic(Path(path), nbformat.writes(nb) + "\n")
    return Path(path)


def read_notebook(path: Path) -> NotebookNode:
    return nbformat.read(str(path), as_version=4)
