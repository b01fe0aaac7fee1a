"""Pages as data, and their HTML: one self-contained file, images embedded, nothing fetched.

A page (``Page``) is a title, an introduction and numbered sections of blocks: paragraphs, tables,
images, notes and code shown side by side. ``compare.report.run_page``, ``compare.report.check_page`` and ``compare.lesson.pages`` build pages;
``render_html`` (here) and ``compare.report.markdown.render_markdown_page`` write them.

Text is plain with three inline marks, ```code```, ``**bold**`` and ``*emphasis*`` (a star next to a space,
as in ``a * b``, is a star). Every string is HTML-escaped
before the marks are turned into tags, so a user-supplied path or name can never inject markup;
links are ``Link`` objects, never parsed out of text. The page holds no script, no external font
or stylesheet, and images are ``data:`` URIs: it can be mailed, archived, opened offline, printed.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from html import escape


@dataclass
class Link:
    text: str
    href: str  # relative, to a file written beside the page


Text = str | list  # a string, or a list of strings and Links


@dataclass
class Table:
    header: list[str]
    rows: list[list[str]]
    align: str = ""       # one "l" or "r" per column; default: first column left, the rest right
    small: bool = False   # long tables (one row per epoch) in a smaller font

    @property
    def aligns(self) -> str:
        return self.align or "l" + "r" * (len(self.header) - 1)


@dataclass
class Image:
    name: str             # the PNG's file name beside the page
    alt: str
    caption: str = ""


@dataclass
class Code:
    text: str
    label: str = ""       # where the code comes from, e.g. "scratch/lesson.py:97 NeuralNetMLP.backward"


@dataclass
class Columns:
    """Side by side in HTML (one column per entry), one after the other in Markdown."""

    columns: list[tuple[str, list]]  # (heading, blocks)


@dataclass
class Note:
    text: Text            # a string may hold several paragraphs, separated by "\n"
    kind: str = "info"    # "ok", "warn" or "info": the colour of the box's edge


Block = Text | Table | Image | Code | Columns | Note  # what a section holds: a paragraph (Text) or a box


def slug(title: str) -> str:
    """The anchor GitHub gives a Markdown heading, so ``#links`` work in report.md and report.html alike."""
    return re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-")


@dataclass
class Section:
    title: str
    blocks: list = field(default_factory=list)

    @property
    def id(self) -> str:
        return slug(self.title)


@dataclass
class Page:
    title: str
    intro: list = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    footer: Text = ""
    toc: bool = True      # a numbered list of the sections after the introduction


STYLE = """
:root { --ink:#1b1b1b; --muted:#555; --rule:#d0d0d0; --band:#f4f6f8; --scratch:#0072B2; --torch:#D55E00;
        --ok:#009E73; --warn:#D55E00; --info:#56B4E9; }
* { box-sizing: border-box; }
body { margin:0; color:var(--ink); background:#fff; font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,
       "Helvetica Neue",Arial,sans-serif; counter-reset: section; }
main { max-width:1120px; margin:0 auto; padding:1.5rem 1.25rem 3rem; }
h1 { font-size:1.7rem; line-height:1.25; margin:0 0 .75rem; }
h2 { font-size:1.35rem; margin:2.2rem 0 .6rem; padding-top:.6rem; border-top:2px solid var(--rule); }
h2::before { counter-increment: section; content: counter(section) ". "; color:var(--muted); }
p { margin:.5rem 0; max-width:75ch; }
code, pre { font-family: ui-monospace,"SFMono-Regular",Menlo,Consolas,"DejaVu Sans Mono",monospace; font-size:.88em; }
code { background:var(--band); padding:0 .2em; border-radius:3px; }
pre { background:var(--band); border:1px solid var(--rule); border-radius:4px; padding:.6rem .7rem; margin:.3rem 0 .8rem;
      overflow-x:auto; line-height:1.35; white-space:pre; }
pre code { background:none; padding:0; font-size:.8rem; }
.label { font-size:.8rem; color:var(--muted); margin:.4rem 0 0; font-family: ui-monospace,Menlo,Consolas,monospace; }
nav.toc { background:var(--band); border-radius:6px; padding:.6rem 1rem; margin:1rem 0; }
nav.toc ol { margin:.2rem 0; padding-left:1.4rem; columns:2; }
table { border-collapse:collapse; margin:.5rem 0 1rem; font-size:.9rem; }
th, td { border-bottom:1px solid var(--rule); padding:.25rem .6rem; vertical-align:top; }
th { text-align:left; background:var(--band); font-weight:600; }
td.r, th.r { text-align:right; font-variant-numeric: tabular-nums; }
table.small { font-size:.78rem; }
.scroll { overflow-x:auto; }
figure { margin:.8rem 0 1.2rem; }
figure img { max-width:100%; height:auto; display:block; border:1px solid var(--rule); }
figcaption { font-size:.88rem; color:var(--muted); margin-top:.3rem; max-width:90ch; }
.note { border-left:5px solid var(--info); background:var(--band); padding:.5rem .9rem; margin:.7rem 0; border-radius:0 4px 4px 0; }
.note p { margin:.2rem 0; }
.note.ok { border-color:var(--ok); } .note.warn { border-color:var(--warn); }
.cols { display:grid; grid-template-columns: repeat(auto-fit, minmax(430px, 1fr)); gap:1rem; align-items:start; }
.cols > div { min-width:0; }
.cols h4 { margin:.2rem 0; font-size:.95rem; }
.cols pre { white-space:pre-wrap; overflow-wrap:anywhere; }  /* side by side, every character stays in view */
.cols h4.scratch { color:var(--scratch); } .cols h4.torch { color:var(--torch); }
footer { margin-top:2.5rem; color:var(--muted); font-size:.85rem; }
@media print {
  body { font-size:11pt; }
  main { max-width:none; padding:0; }
  nav.toc { display:none; }
  h2 { break-after:avoid; }
  figure, table, pre, .note { break-inside:avoid; }
  pre { white-space:pre-wrap; }
  a { color:inherit; }
  .cols { grid-template-columns: 1fr 1fr; }
}
"""


EMPHASIS = re.compile(r"(?<![\w*])\*(?=\S)([^*]+?)(?<=\S)\*(?![\w*])")


def _marks(text: str) -> str:
    """Bold, then emphasis, in escaped text outside code."""
    return EMPHASIS.sub(r"<em>\1</em>", re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", text))


def inline(text: Text) -> str:
    """Escape ``text`` for HTML, then turn ```code```, ``**bold**`` and ``*emphasis*`` into tags (never inside
    code); Links become anchors, their text marked up the same way."""
    if isinstance(text, list):
        return "".join(f'<a href="{escape(p.href)}">{inline(p.text)}</a>' if isinstance(p, Link) else inline(p)
                       for p in text)
    parts = re.split(r"`([^`]+)`", escape(str(text)))   # odd parts are code
    return "".join(f"<code>{p}</code>" if i % 2 else _marks(p) for i, p in enumerate(parts))


def _table(t: Table) -> str:
    align = t.aligns
    cls = lambda i: ' class="r"' if i < len(align) and align[i] == "r" else ""  # noqa: E731
    head = "".join(f"<th{cls(i)}>{inline(h)}</th>" for i, h in enumerate(t.header))
    body = "".join("<tr>" + "".join(f"<td{cls(i)}>{inline(c)}</td>" for i, c in enumerate(row)) + "</tr>\n"
                   for row in t.rows)
    small = ' class="small"' if t.small else ""
    return f'<div class="scroll"><table{small}><thead><tr>{head}</tr></thead><tbody>\n{body}</tbody></table></div>'


def _image(img: Image, images: dict[str, bytes]) -> str:
    data = images.get(img.name)
    if data is None:  # never a broken <img>: say what is missing instead
        return f'<p class="note warn">figure {escape(img.name)} was not rendered</p>'
    uri = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
    caption = f"<figcaption>{inline(img.caption)}</figcaption>" if img.caption else ""
    return f'<figure><img src="{uri}" alt="{escape(img.alt)}">{caption}</figure>'


def _block(b, images: dict[str, bytes]) -> str:
    if isinstance(b, (str, list)):
        return f"<p>{inline(b)}</p>"
    if isinstance(b, Table):
        return _table(b)
    if isinstance(b, Image):
        return _image(b, images)
    if isinstance(b, Code):
        label = f'<p class="label">{escape(b.label)}</p>' if b.label else ""
        return f"{label}<pre><code>{escape(b.text)}</code></pre>"
    if isinstance(b, Note):
        paras = b.text.split("\n") if isinstance(b.text, str) else [b.text]
        return f'<div class="note {escape(b.kind)}">' + "".join(f"<p>{inline(p)}</p>" for p in paras) + "</div>"
    if isinstance(b, Columns):
        cols = []
        for heading, blocks in b.columns:
            kind = "scratch" if heading.lower().startswith("scratch") else "torch" if "torch" in heading.lower() else ""
            inner = "".join(_block(x, images) for x in blocks)
            cols.append(f'<div><h4 class="{kind}">{inline(heading)}</h4>{inner}</div>')
        return f'<div class="cols">{"".join(cols)}</div>'
    raise TypeError(f"unknown block {type(b).__name__}")


def render_html(page: Page, images: dict[str, bytes] | None = None) -> str:
    """The whole page as one HTML document; ``images`` maps each Image's name to its PNG bytes."""
    images = images or {}
    toc = "".join(f'<li><a href="#{escape(s.id)}">{escape(s.title)}</a></li>' for s in page.sections)
    parts = [f"<h1>{inline(page.title)}</h1>", *(_block(b, images) for b in page.intro)]
    if page.toc:
        parts.append(f'<nav class="toc" aria-label="contents"><ol>{toc}</ol></nav>')
    for s in page.sections:
        parts.append(f'<section id="{escape(s.id)}"><h2>{inline(s.title)}</h2>')
        parts += [_block(b, images) for b in s.blocks]
        parts.append("</section>")
    if page.footer:
        parts.append(f"<footer>{inline(page.footer)}</footer>")
    title = re.sub(r"[`*]", "", page.title)
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n"
            + "\n".join(parts) + "\n</main>\n</body>\n</html>\n")
