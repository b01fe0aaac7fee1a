"""The comparison report, in the order a reader asks: what ran, do the gradients agree, the two runs,
how far apart they drift, the test set, what it cost.

``build_report`` turns ``metrics`` (what ``metrics.json`` holds) into a ``compare.report.html.Page``;
``compare.report.markdown.render_markdown_page`` writes any page as Markdown (``report.md``, ``lesson.md``)
and ``compare.report.html.render_html`` as one self-contained HTML file (``report.html``).
"""

from __future__ import annotations

import numpy as np

from ..data.load import describe_batch
from .cost import cost_section, ratio_spread
from .dtypes import dtype_comparison_blocks, reading_differences
from .html import Block, Columns, Image, Link, Note, Page, Section, Table

FIRST_ERRORS = 25  # the book's gallery shows the first 25 misclassified images


def _fmt(x: float) -> str:
    return f"{x:.3e}" if (x != 0 and (abs(x) < 1e-3 or abs(x) >= 1e4)) else f"{x:.6g}"


def sci(x: float) -> str:
    """A difference as a reader wants it: ``0``, or two significant digits like ``2.2e-16``."""
    return "0" if x == 0 else f"{x:.2g}" if np.isfinite(x) else str(x)


# --- numbers the report derives from the predictions ------------------------------------------

def summarise_test_set(y_test: np.ndarray, preds: dict[str, np.ndarray], num_classes: int) -> dict:
    """Confusion matrices, each twin's first misclassified test images, and the disagreement set.

    ``y_test`` (n,) and each ``preds[twin]`` (n,) hold class labels. ``first`` lists indices into the
    test set (at most ``FIRST_ERRORS``), ``true`` and ``pred`` (or each twin's name) their labels.
    """
    out: dict[str, dict] = {"confusion": {}, "misclassified": {}}
    for twin, p in preds.items():
        cm = np.zeros((num_classes, num_classes), dtype=np.int64)
        np.add.at(cm, (y_test, p), 1)                                   # rows: true, columns: predicted
        wrong = np.flatnonzero(p != y_test)
        first = wrong[:FIRST_ERRORS]
        out["confusion"][twin] = cm.tolist()
        out["misclassified"][twin] = {"count": int(len(wrong)), "first": first.tolist(),
                                      "true": y_test[first].tolist(), "pred": p[first].tolist()}
    differ = np.flatnonzero(preds["scratch"] != preds["torch"])
    first = differ[:FIRST_ERRORS]
    out["disagreements"] = {"count": int(len(differ)), "first": first.tolist(), "true": y_test[first].tolist(),
                            **{twin: p[first].tolist() for twin, p in preds.items()}}
    return out


# --- the report's sections --------------------------------------------------------------------

def _tolerance(x: float | None) -> str:
    return "–" if x is None else f"{x:.0e}"


def _within(x: float | None) -> str:
    return "" if x is None else f" ({_tolerance(x)})"


def gradient_table(gc: dict) -> Table:
    """One row per parameter, with the numeric opinions when the check has them ("not checked": no sample)."""
    three = bool(gc["params"]) and "fd_max_rel_diff" in gc["params"][0]
    header = ["parameter", "shape", "autograd max abs diff", "autograd rel (tolerance)", "cosine"]
    if three:
        header += ["finite diff. rel (tolerance; coords)", "directional rel (tolerance)"]
    rows = []
    for r in gc["params"]:
        verdict = ["ok"] if r["passed"] else ["**FAIL**", ", ".join(name for name, key in (
            ("autograd", "autograd_passed"), ("finite differences", "fd_passed"),
            ("directional", "directional_passed")) if r.get(key) is False)]
        verdict += [f"({r['problem']})"] * bool(r.get("problem")) + \
            [f"({' and '.join(r.get('not_checked', []))} not checked)"] * bool(r.get("not_checked"))
        row = [f"`{r.get('label', r['name'])}`", "×".join(map(str, r["shape"])), _fmt(r["max_abs_diff"]),
               f"{_fmt(r['max_rel_diff'])}{_within(r.get('rel_tolerance'))}", f"{r['cosine']:.12f}"]
        if three:
            fd, d = r["fd_max_rel_diff"], r["directional_max_rel_diff"]
            row += ["not checked" if fd is None else f"{_fmt(fd)} ({_tolerance(r.get('fd_rel_tolerance'))}; "
                                                     f"{r['fd_coords']})",
                    "not checked" if d is None else f"{_fmt(d)}{_within(r.get('directional_rel_tolerance'))}"]
        rows.append(row + [" ".join(v for v in verdict if v)])
    return Table(header + ["verdict"], rows, align="ll" + "r" * (len(header) - 2) + "l")


def epoch_table(metrics: dict) -> Table:
    hs, ht = metrics["history"]["scratch"], metrics["history"]["torch"]
    header = ["epoch", "loss L scratch", "loss L torch", "printed MSE scratch", "printed MSE torch",
              "train acc scratch", "train acc torch", "valid acc scratch", "valid acc torch", "max abs ΔW"]
    rows = [[str(s["epoch"]), f"{s['loss']:.10f}", f"{t['loss']:.10f}", f"{s['mse']:.10f}", f"{t['mse']:.10f}",
             f"{s['train_acc']:.4f}", f"{t['train_acc']:.4f}", f"{s['valid_acc']:.4f}", f"{t['valid_acc']:.4f}",
             _fmt(d)] for s, t, d in zip(hs, ht, metrics["max_weight_diff"])]
    return Table(header, rows, small=True)


def build_report(metrics: dict, out: str | None = None, lesson: str | None = "lesson.html",
                 figures: set[str] | None = None) -> Page:
    """The report as a page; ``out`` is the run folder (shown), ``lesson`` the lesson's relative link.

    ``figures``: the PNG names that were rendered; images not among them are left out of the page.
    """
    d = metrics["dataset"]
    sizes = " → ".join(map(str, metrics["sizes"]))
    page = Page(f"mlp-compare: scratch NumPy MLP vs PyTorch twin ({d['name']}, {sizes})")
    page.intro = headline(metrics, lesson)
    page.sections = [Section(title, _only(build(metrics, out), figures)) for title, build in SECTIONS]
    page.footer = ("Written by mlp-compare. Numbers: metrics.json beside this page. Scratch is drawn solid, "
                   "torch dashed, in the Okabe-Ito colour-blind-safe palette.")
    return page


def _only(blocks: list, figures: set[str] | None) -> list:
    """``blocks`` without the images that were not rendered (and without columns left empty by that)."""
    if figures is None:
        return blocks
    kept = []
    for b in blocks:
        if isinstance(b, Columns):
            b = Columns([(h, inner) for h, inner in ((h, _only(i, figures)) for h, i in b.columns) if inner])
            if not b.columns:
                continue
        elif isinstance(b, Image) and b.name not in figures:
            continue
        kept.append(b)
    return kept


def headline(metrics: dict, lesson: str | None) -> list:
    """The verdicts in four lines, before any detail."""
    c, gc = metrics["config"], metrics["gradient_check"]
    blocks: list[Block] = []
    if metrics["status"] != "complete":
        why = f" {metrics['stopped']['message']}." if metrics.get("stopped") else ""
        blocks.append(Note(f"**Partial run ({metrics['status']}):** {metrics['epochs_done']} of {c['epochs']} "
                           f"epochs finished.{why}", "warn"))
    if metrics.get("health", {}).get("warning"):
        blocks.append(Note(f"**Warning:** {metrics['health']['warning']}.", "warn"))
    worst = max((r["max_rel_diff"] for r in gc["params"]), default=0.0)
    lines = [f"**Gradients:** {'agree' if gc['passed'] else 'DISAGREE'} (worst relative difference {sci(worst)})."]
    agreement = metrics.get("agreement")
    if agreement is not None:
        lines.append(f"**Training:** the twins {agreement['summary']}.")
    if metrics["max_weight_diff"]:
        lines.append(f"After {metrics['epochs_done']} epochs the two histories differ by at most "
                     f"{sci(metrics['history_max_diff'])}, the weights by {sci(metrics['max_weight_diff'][-1])}.")
    if metrics.get("test_acc"):
        ta = metrics["test_acc"]
        lines.append(f"**Test set:** scratch {ta['scratch']:.4f}, torch {ta['torch']:.4f}; "
                     f"{metrics['test_disagreements']} test images labelled differently.")
    if "torch_over_scratch" in metrics["timing"]:
        lines.append(f"**Cost:** torch takes {metrics['timing']['torch_over_scratch']:.2f}× the scratch training "
                     f"time ({c['dtype']}, equal thread counts"
                     + "; ".join(["", *filter(None, [ratio_spread(metrics["timing"], "×")])]) + ").")
    # In float32 a few test images may flip between the twins; in float64 any flip is news.
    flips = metrics.get("test_disagreements") and c["dtype"] == "float64"
    ok = gc["passed"] and metrics["status"] == "complete" and not flips and (agreement or {}).get("passed", True)
    blocks.append(Note("\n".join(lines), "ok" if ok else "warn"))
    if lesson:
        blocks.append(["New to PyTorch? ", Link("The bridge lesson", lesson),
                       f" ({lesson}, beside this report) puts the lesson's NumPy code and its PyTorch twin side "
                       "by side, step by step, with the measured agreement at every step."])
    return blocks


def _what_was_run(m: dict, out: str | None) -> list:
    c, d = m["config"], m["dataset"]
    names = m.get("class_names") or [str(k) for k in range(d["n_classes"])]
    h, w = d.get("image_shape", ["?", "?"])
    blocks: list[Block] = [f"Dataset **{d['name']}** from `{d['source']}`: {d['n_train']} train / {d['n_valid']} validation / "
              f"{d['n_test']} test examples of {h}×{w} pixels, flattened to {d['n_features']} features scaled to "
              f"[−1, 1], {d['n_classes']} classes. Network {' → '.join(map(str, m['sizes']))}, {c['activation']} "
              f"hidden units, loss `{c['loss']}`, **{c['dtype']}** on both sides. Seed {c['seed']}: the initial "
              f"weights come from `np.random.RandomState({c['seed']})` (drawn once, copied into the twin); the "
              f"split, the batch order and the checked batch from independent child streams of "
              f"`np.random.SeedSequence({c['seed']})`; the test images are the same for every seed."]
    settings = Table(["setting", "value"], [[k, f"`{v}`"] for k, v in c.items()], align="ll")
    cols: list[tuple[str, list]] = [("settings", [settings])]
    if m.get("class_counts"):
        cc = m["class_counts"]
        rows = [[names[k], *(str(cc[s][k]) for s in ("train", "valid", "test"))] for k in range(len(names))]
        rows.append(["**total**", *(f"**{sum(cc[s])}**" for s in ("train", "valid", "test"))])
        cols.append(("examples per class and split", [Table(["class", "train", "valid", "test"], rows)]))
    blocks.append(Columns(cols))
    blocks.append(Image("samples.png", "training images, two of each class",
                        "The first two training images of each class, as the network sees them after scaling."))
    th = m["threads"]
    blocks.append(f"Threads: NumPy's BLAS {th['numpy']}, torch {th['torch']}; torch device `{c['device']}`."
                  + numerics_sentence(m.get("numerics")))
    blocks.append(Table(["library", "version"], [[k, f"`{v}`"] for k, v in m["versions"].items()], align="ll"))
    if out is not None:
        blocks.append(f"Run folder: `{out}`")
    return blocks


def numerics_sentence(n: dict | None) -> str:
    """For a twin on a GPU, the torch settings that change its numbers, as the run recorded them; on a CPU
    (or in metrics written before they were recorded) nothing: none of them changes a CPU result."""
    if not n or n["device"] == "cpu":
        return ""
    said = lambda flag: "unknown" if flag is None else "on" if flag else "off"  # noqa: E731
    where = f" ({n['gpu']})" if n.get("gpu") else ""
    return (f" The twin ran on `{n['device']}`{where} with TF32 {said(n['cuda_matmul_allow_tf32'])} for matrix "
            f"products (`torch.backends.cuda.matmul.allow_tf32`) and {said(n['cudnn_allow_tf32'])} for cuDNN "
            f"(`torch.backends.cudnn.allow_tf32`), deterministic algorithms {said(n['deterministic_algorithms'])}.")


def _gradients(m: dict, out) -> list:
    gc = m["gradient_check"]
    drawn = f", {describe_batch(gc['batch_labels'], m.get('class_names'))}" if "batch_labels" in gc else ""
    blocks: list[Block] = [f"Manual backprop (`scratch.MLP.gradients`) against autograd (`loss.backward()` on the twin with "
              f"the same weights), on a batch of {m['gradient_check_batch']} training examples{drawn}, {gc['dtype']}, "
              f"tolerance rtol {gc['rtol']:g}, atol {gc['atol']:g}: **{'passed' if gc['passed'] else 'FAILED'}**."]
    if gc.get("not_checked"):
        blocks.append(Note(f"The verdict rests on fewer opinions. Not checked: {'; '.join(gc['not_checked'])} (every "
                           "sample sat on a ReLU kink, or the gradient could not be compared).", "warn"))
    if "fd_rtol" in gc:
        blocks.append(f"Two more opinions on every parameter: central finite differences of L in float64 "
                      f"(rtol {gc['fd_rtol']:g}; the coordinates checked in brackets) and directional derivatives "
                      f"along random unit directions (rtol {gc['directional_rtol']:g}). The verdict needs all three.")
    blocks += [gradient_table(gc), reading_differences(gc["dtype"])]
    blocks.append(f"Loss L on that batch: scratch {gc['loss_manual']!r}, torch {gc['loss_autograd']!r}.")
    for f in gc.get("diagnosis") or []:
        blocks.append(Note(f"**Diagnosis:** {f['message'] if isinstance(f, dict) else f}", "warn"))
    return blocks


def _training(m: dict, out) -> list:
    c = m["config"]
    blocks: list[Block] = ["Both twins start from the same weights and see the same batches in the same order. Scratch is "
              "drawn solid, torch dashed: where one line hides the other, the twins agree.",
              Image("training.png", "training curves of both twins",
                    "Loss L and the lesson's printed MSE on the training set, training and validation accuracy "
                    "after each epoch, and the largest weight difference between the twins.")]
    if c["loss"] != "cross_entropy":   # squared error, on sigmoid or softmax outputs
        blocks.append(Note(f"L is the squared error summed over the {m['dataset']['n_classes']} classes and "
                           "averaged over the examples: the loss the lesson's backward differentiates. The lesson "
                           "prints the mean over all n × C entries, C times smaller: on the log axis the printed "
                           "MSE runs exactly one decade below L. `nn.MSELoss()` trains on the printed one and gets "
                           "gradients 10× too small (the 10× trap, worked through in the lesson)."))
    sl = m.get("step_loss")
    if sl:
        blocks.append(Image("steps.png", "loss of both twins on every mini-batch",
                            f"{sl['steps']} training steps ({sl['steps_per_epoch']} per epoch); grey: the loss "
                            "of each batch before its update, lines: its mean over one epoch's steps. Largest "
                            f"|L_scratch − L_torch| on a batch: {sci(sl['max_abs_diff'])}; {sl['identical']} steps "
                            "agree to the last bit."))
    blocks.append(f"Largest difference between the two per-epoch histories (every field, every epoch): "
                  f"{sci(m['history_max_diff'])}.")
    blocks.append(epoch_table(m))
    return blocks


def _drift(m: dict, out) -> list:
    gap, dtype = m["max_weight_diff"], m["config"]["dtype"]
    if not gap:
        return ["No epoch finished, so there is no weight difference to show."]
    blocks: list[Block] = [f"The largest |W_scratch − W_torch| over every parameter after each epoch, on a log scale: "
              f"{sci(gap[0])} after epoch 1, {sci(gap[-1])} after epoch {len(gap)}. For scale, {dtype}'s machine "
              f"epsilon (the gap between 1 and the next number) is {sci(float(np.finfo(dtype).eps))}.",
              Image("drift.png", "max weight difference per epoch, log scale")]
    return blocks + dtype_comparison_blocks(m, sci)


def _test_set(m: dict, out) -> list:
    if not m.get("test_acc"):
        return ["The run stopped before the test set was scored."]
    ta, ts, n = m["test_acc"], m.get("test_set"), m["dataset"]["n_test"]
    blocks: list[Block] = [f"Test accuracy: scratch **{ta['scratch']:.4f}**, torch **{ta['torch']:.4f}** on {n} test images."]
    if not ts:
        return blocks + [f"Test images the twins label differently: {m['test_disagreements']}."]
    blocks.append(Image("confusion.png", "confusion matrices of both twins, side by side",
                        "Rows: true class; columns: predicted class; numbers are counts, colour the fraction of "
                        "the true class. Identical matrices mean identical predictions class by class."))
    mis = ts["misclassified"]
    for twin in ("scratch", "torch"):  # one under the other: side by side, the captions get too small to read
        blocks += [f"**{twin}: {mis[twin]['count']} of {n} test images misclassified.** The first "
                   f"{len(mis[twin]['first'])}, in the book's style:",
                   Image(f"misclassified_{twin}.png", f"the first misclassified test images of {twin}")]
    dis = ts["disagreements"]
    if dis["count"] == 0:
        expect = " as float64 should" if m["config"]["dtype"] == "float64" else ""
        blocks.append(Note(f"**The disagreement set is empty:** the twins give every one of the {n} test images "
                           f"the same label{expect}.", "ok"))
    else:
        blocks += [Note(f"**{dis['count']} test images are labelled differently** by the twins (indices "
                        f"{', '.join(map(str, dis['first']))}{' …' if dis['count'] > len(dis['first']) else ''}).",
                        "warn" if m["config"]["dtype"] == "float64" else "info"),
                   Image("disagreements.png", "test images the twins label differently")]
    return blocks


SECTIONS = [("What was run", _what_was_run),
            ("Do the gradients agree?", _gradients),
            ("The two training runs", _training),
            ("How far apart they drift", _drift),
            ("Test set: how the twins do", _test_set),
            ("What it cost", cost_section)]
