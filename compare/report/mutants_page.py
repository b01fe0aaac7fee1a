"""The mutant gallery as a page a teacher can project: per mutant, its buggy line beside the correct one,
and the diagnosis a learner would read.

``build_mutants_page(results, batch)`` takes ``compare.gradcheck.mutants.run_gallery``'s results and returns a
``compare.report.html.Page``; ``write_mutants_page`` renders it to ``mutants.html`` (``mlp-compare gradcheck
--mutants --out DIR``).

Lesson: each mutant is one line of ``NeuralNetMLP.backward`` gone wrong the way learners get it wrong.
"""

from __future__ import annotations

from pathlib import Path

from ..files import write_atomic
from ..gradcheck.mutants import GalleryResult, bug_line
from .html import Code, Columns, Note, Page, Section, Table, render_html

HOW = {"precise": "named: a finding names the mistake", "generic": "located: the findings point at the right layer"}


def _words(doc: str | None) -> str:
    """A mutant's docstring as one paragraph."""
    return " ".join((doc or "").split())


def _summary(results: list[GalleryResult]) -> Table:
    rows = [[f"`{r.mutant.__name__}`", r.network, f"`{r.mutant.expected}`", r.how if r.caught else f"**{r.how}**",
             "caught" if r.one_class_caught else "**missed**"] for r in results]
    return Table(["mutant", "network", "expected finding", "diagnosis", "one-class batch"], rows, align="lllll")


def _mutant(r: GalleryResult) -> Section:
    buggy, note, correct = bug_line(r.mutant)
    found = r.report.diagnosis
    blocks: list = [f"{_words(r.mutant.__doc__)} Network {r.network}.",
                    Columns([("the buggy line", [Code(buggy, f"# BUG: {note}" if note else "")]),
                             ("the correct line", [Code(correct, "# right")])])]
    if found:
        blocks.append(Note("\n".join(f"**{f.kind}:** {f.message}" for f in found), "warn"))
    else:
        blocks.append(Note("The check passed: no diagnosis.", "warn"))
    verdict = f"Caught, {HOW[r.how]}." if r.caught else f"**Not caught: {r.how}.**"
    one = ("A batch of one class catches it too." if r.one_class_caught else
           "A batch of one class would have missed it: it needs examples of different classes side by side.")
    blocks.append(f"{verdict} {one}")
    return Section(r.mutant.__name__, blocks)


def build_mutants_page(results: list[GalleryResult], batch: str) -> Page:
    """The gallery's page; ``batch`` says in words which examples were checked."""
    caught = sum(r.caught for r in results)
    page = Page(f"The mutant gallery: {len(results)} backprop mistakes and what the gradient check says")
    page.intro = [
        f"Each mutant is a correct backward with one line changed (marked `# BUG` in its source). Every one is "
        f"checked against autograd, finite differences and directional derivatives on {batch}. Below each "
        f"mutant: its buggy line beside the correct one, then the diagnosis exactly as a learner would read it.",
        Note(f"**Caught {caught}/{len(results)}** with a right diagnosis.", "ok" if caught == len(results) else "warn"),
        _summary(results)]
    page.sections = [_mutant(r) for r in results]
    page.footer = "Written by mlp-compare gradcheck --mutants. Numbers: --json."
    return page


def write_mutants_page(out: Path, results: list[GalleryResult], batch: str) -> Path:
    """``out/mutants.html``; returns its path."""
    path = Path(out) / "mutants.html"
    write_atomic(path, render_html(build_mutants_page(results, batch)))
    return path
