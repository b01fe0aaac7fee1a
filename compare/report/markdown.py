"""Any ``compare.report.html.Page`` as Markdown: ``report.md`` and ``lesson.md``, images beside them."""

from __future__ import annotations

import re

from .html import Code, Columns, Image, Link, Note, Page, Table


def _md_text(text) -> str:
    if isinstance(text, list):
        return "".join(f"[{p.text}]({p.href})" if isinstance(p, Link) else str(p) for p in text)
    return str(text)


def _md_block(b) -> list[str]:
    if isinstance(b, (str, list)):
        return [_md_text(b), ""]
    if isinstance(b, Table):
        align = b.aligns
        cell = lambda c: _md_text(c).replace("|", "\\|").replace("\n", " ")  # noqa: E731
        return ["| " + " | ".join(map(cell, b.header)) + " |",
                "|" + "|".join("---:" if a == "r" else "---" for a in align) + "|",
                *("| " + " | ".join(map(cell, row)) + " |" for row in b.rows), ""]
    if isinstance(b, Image):
        return [f"![{b.alt}]({b.name})", "", *([f"*{_md_text(b.caption)}*", ""] if b.caption else [])]
    if isinstance(b, Code):
        return [*([f"`{b.label}`", ""] if b.label else []), "```python", b.text.rstrip("\n"), "```", ""]
    if isinstance(b, Note):
        return ["> " + _md_text(b.text).replace("\n", "\n>\n> "), ""]
    if isinstance(b, Columns):
        return [line for heading, blocks in b.columns
                for line in [f"**{heading}**", "", *(x for blk in blocks for x in _md_block(blk))]]
    raise TypeError(f"unknown block {type(b).__name__}")


def render_markdown_page(page: Page) -> str:
    lines = [f"# {page.title}", ""]
    lines += [x for b in page.intro for x in _md_block(b)]
    for s in page.sections:
        lines += [f"## {s.title}", ""] + [x for b in s.blocks for x in _md_block(b)]
    if page.footer:
        lines += ["---", "", _md_text(page.footer), ""]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines))
