"""The check's report as a page: the verdict, the checks in order, the tables in the learner's names, their code
beside the twin's, and the run report's own training, drift and test-set sections.

``build_check_page(report, run_metrics)`` returns a ``compare.report.html.Page``; ``run_metrics`` holds training in
the shape of a run's ``metrics.json`` (see ``report.run_metrics``), so ``compare.report.build_report`` draws
those sections exactly as it does for a run, with the learner's class on the "scratch" side.
"""

from __future__ import annotations

import inspect
import textwrap
from typing import Any

import torch_impl
from torch_impl import build_model, idiomatic

from ..learner.blame import shown
from ..learner.handles import method_source
from ..learner.result import TITLES, CheckReport
from ..learner.source import at, read_source
from ..worker.remote import RemoteClass
from .dtypes import reading_differences
from .html import Code, Columns, Note, Page, Section, Table
from .run_page import build_report, gradient_table, sci

RUN_SECTIONS = ("The two training runs", "How far apart they drift", "Test set: how the twins do")
STATUS = {"ok": "ok", "FAIL": "**FAIL**", "skipped": "skipped"}


def quote(fn, label: str | None = None) -> Code:
    """``fn``'s source, dedented, labelled ``file:line name``; a note instead when the source is not readable."""
    try:
        lines, start = inspect.getsourcelines(fn)
        file = inspect.getsourcefile(fn) or "?"
    except (OSError, TypeError):
        return Code("(source not available)", label or str(getattr(fn, "__qualname__", "?")))
    return Code(textwrap.dedent("".join(lines)), f"{shown(file)}:{start} {label or fn.__qualname__}")


def _intro(report: CheckReport) -> list:
    lines = [f"**{'Agrees' if report.passed else 'DISAGREES'}.** {report.headline()}.", f"{report.isolation}.",
             *([f"{report.not_run}."] if report.not_run else [])]
    lines += [f"{i}. {TITLES[s.name]}: {STATUS[s.status]}: {s.summary}" for i, s in enumerate(report.stages, 1)]
    blocks = [Note("\n".join(lines), "ok" if report.passed else "warn")]
    blocks += [Note(f"**Finding ({f.kind}):** {f.message}", "warn") for f in report.findings]
    if report.raised and not any(report.raised in f.message for f in report.findings):
        blocks.append(Note(f"**Your code raised:** {report.raised}", "warn"))
    return blocks


def _what(report: CheckReport, settings: dict) -> list:
    loss = {"mse": "sigmoid outputs, squared error summed over classes",
            "softmax_mse": "softmax outputs, squared error summed over classes"}.get(
        report.loss, "softmax + cross-entropy on the last layer's outputs")
    blocks = [f"Class `{report.class_name}` from `{report.file or '?'}`: {report.layout_note}. "
              f"Network {' → '.join(map(str, report.sizes))}, {report.activation} hidden units, {loss}, "
              f"**{report.dtype}**. Checked on {report.batch or 'no batch'}.",
              Table(["setting", "value"], [[k, f"`{v}`"] for k, v in settings.items()], align="ll")]
    return blocks


def _stages(report: CheckReport) -> list:
    rows = [[str(i), TITLES[s.name], STATUS[s.status], s.summary] for i, s in enumerate(report.stages, 1)]
    return [Table(["", "check", "result", "what it found"], rows, align="llll")]


def _intermediates(report: CheckReport) -> list:
    if not report.intermediates:
        return ["No values were compared: the check stopped before the forward pass agreed."]
    rows = [[f"`{r.name}`", r.what, "×".join(map(str, r.comparison.shape)),
             r.verdict if r.comparison.passed else f"**{r.verdict}**", sci(r.comparison.max_abs_diff),
             sci(r.comparison.max_rel_diff)] for r in report.intermediates]
    return ["Each value your class hands over, under your own name, against the twin's on the same weights and "
            "batch (for the gradients: autograd's `loss.backward()`). **exact**: equal to the last bit; **close**: "
            "within the tolerance for " + report.dtype + ".",
            Table(["your name", "what", "shape", "verdict", "max abs diff", "max rel diff"], rows, align="lllrrr")]


def _gradients(report: CheckReport) -> list:
    gc = report.gradient_check
    if gc is None:
        return ["The gradient check did not run: an earlier check stopped it."]
    d = gc.as_dict()
    blocks = [f"Your backward's gradients under your names, against autograd on the twin, fourth-order finite "
              f"differences of L in float64 and directional derivatives along random directions "
              f"(rtol {d['rtol']:g} against autograd): **{'passed' if gc.passed else 'FAILED'}**.",
              gradient_table(d), reading_differences(gc.dtype)]
    blocks += [Note(f"**Diagnosis:** {f.message}", "warn") for f in gc.diagnosis]
    return blocks


def _theirs(cls: Any, method: str) -> Code:
    """``cls.method``'s source: from the class here, or read as text from the file of a class in a worker."""
    label = f"{cls.__name__}.{method}"
    if not isinstance(cls, RemoteClass):
        return quote(getattr(cls, method), label)
    node = method_source(cls.file, cls.__name__, method)
    if node is None or node.end_lineno is None:
        return Code("(source not available)", label)
    lines = read_source(cls.file).text.splitlines(keepends=True)[node.lineno - 1:node.end_lineno]
    return Code(textwrap.dedent("".join(lines)), f"{at(cls.file, node.lineno)} {label}")


def _code(report: CheckReport, cls: Any) -> list:
    if cls is None:
        return ["Your class could not be quoted."]
    net = build_model(report.sizes or (784, 50, 10), report.activation, report.loss)
    forward = _theirs(cls, "forward")
    remote_has_backward = isinstance(cls, RemoteClass) and method_source(cls.file, cls.__name__, "backward")
    backward = _theirs(cls, "backward" if remote_has_backward or hasattr(cls, "backward") else "gradients")
    # The book's network gets the twin a learner writes; another gets the one built for any spec.
    quoted: list[Any]   # the three functions quoted: the layers, the step, the loss
    if tuple(report.sizes or ()) == (784, 50, 10) and (report.activation, report.loss) == ("sigmoid", "mse"):
        quoted = [idiomatic.make_net, idiomatic.train_step, idiomatic.loss_fn]
    else:
        quoted = [torch_impl.build_model, torch_impl.train_step,
                  torch_impl.loss_function if report.loss == "cross_entropy" else torch_impl.squared_error_loss]
    layers, step, loss = quoted
    return ["What you wrote by hand, beside what PyTorch does for it. The twin is an `nn.Sequential` of the "
            "same sizes, holding a copy of your initial weights:",
            Code(repr(net), "the twin, as PyTorch prints it"),
            Columns([(f"yours: {cls.__name__}.forward", [forward]),
                     ("torch: the layers do the forward pass", [quote(layers)])]),
            Columns([(f"yours: {cls.__name__}.backward", [backward]),
                     ("torch: autograd does the backward pass", [quote(step), quote(loss)])])]


def build_check_page(report: CheckReport, settings: dict, run_metrics: dict | None, figures: set[str],
                     cls: type | None = None) -> Page:
    """The whole page; ``run_metrics`` (None without training) brings the run report's training sections."""
    page = Page(f"mlp-compare check: your {report.class_name} against its PyTorch twin")
    page.intro = _intro(report)
    page.sections = [Section("What was checked", _what(report, settings)),
                     Section("The checks, in order", _stages(report)),
                     Section("Intermediates: yours beside the twin's", _intermediates(report)),
                     Section("Do the gradients agree?", _gradients(report)),
                     Section("Your code beside the twin's", _code(report, cls))]
    if run_metrics is not None:
        run_page = build_report(run_metrics, None, None, figures)
        found = {s.title: s for s in run_page.sections}
        missing = [t for t in RUN_SECTIONS if t not in found]
        if missing:  # the run report was reorganised: say so rather than drop sections silently
            raise KeyError(f"the run report has no section {missing}; update compare.learner.page.RUN_SECTIONS")
        lead = Note(f"Here your `{report.class_name}` is the **scratch** side (solid lines), trained with your own "
                    f"forward and backward and `param -= lr * grad`; the twin is trained with `optim.SGD`.")
        for title in RUN_SECTIONS:
            section = found[title]
            if title == RUN_SECTIONS[0]:
                section.blocks.insert(0, lead)
            page.sections.append(section)
    page.footer = "Written by mlp-compare check. Numbers: check.json beside this page."
    return page
