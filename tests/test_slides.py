"""``mlp-compare run --slides``: the run's key moments, 16:9 at 1280 x 720 px, no text under 14 pt, none outside."""

import copy
import json
import struct

import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.text import Text

from compare.cli.app import main
from compare.lesson.lesson_slides import lesson_slides
from compare.lesson.measure import measure_lesson
from compare.report.run_files import write_outputs
from compare.report.slides import MIN_PT, slide_confusion, slide_drift, slide_figures

FASHION = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
SLIDES = ["bridge.png", "code.png", "confusion.png", "drift.png", "gradients.png", "loss.png", "train_accuracy.png",
          "trap.png", "valid_accuracy.png"]


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])   # IHDR: width, height


@pytest.fixture(scope="module")
def run_with_slides(tmp_path_factory):
    out = tmp_path_factory.mktemp("slides") / "run"
    assert main(["run", "--epochs", "2", "--slides", "--progress", "off", "--out", str(out)]) == 0
    return out


def test_run_slides_writes_one_slide_per_panel_at_1280_by_720(run_with_slides):
    slides = run_with_slides / "slides"
    assert sorted(p.name for p in slides.iterdir()) == SLIDES
    for name in SLIDES:
        assert png_size((slides / name).read_bytes()) == (1280, 720), name
    assert (run_with_slides / "training.png").exists()            # beside the four-panel figure, not instead
    assert "slides/" not in (run_with_slides / "report.md").read_text()


def drawn_texts(fig) -> list[Text]:
    """Every visible, non-empty text of ``fig``, the cells of its tables too (``findobj`` does not reach them)."""
    from matplotlib.table import Table

    texts = list(fig.findobj(Text)) + [c.get_text() for t in fig.findobj(Table) for c in t.get_celld().values()]
    ticks, shown = set(), set()
    for ax in fig.axes:   # a tick beyond the view, or on axes turned off, keeps its label, unseen
        for axis in (ax.xaxis, ax.yaxis):
            low, high = sorted(axis.get_view_interval())
            for locs, make in ((axis.get_majorticklocs(), axis.get_major_ticks),
                               (axis.get_minorticklocs(), axis.get_minor_ticks)):
                for tick, loc in zip(make(len(locs)), locs):
                    ticks |= {tick.label1, tick.label2}
                    if ax.axison and low - 1e-9 * abs(low) <= loc <= high + 1e-9 * abs(high):
                        shown |= {tick.label1, tick.label2}
    return [t for t in dict.fromkeys(texts) if t.get_visible() and t.get_text().strip() and (t not in ticks or t in shown)]


@pytest.fixture(scope="module")
def every_slide(run_with_slides):
    """Every slide a run writes, as figures, plus a drift of less than a decade (minor tick labels)."""
    metrics = json.loads((run_with_slides / "metrics.json").read_text())
    return {**slide_figures(metrics), **lesson_slides(measure_lesson(None, 123)),
            "narrow drift": slide_drift({"float64": [2.2e-16, 3.1e-16, 4.4e-16, 5.5e-16]}),
            "fashion confusion": slide_confusion({t: [[100 * (i == j) + 3 for j in range(10)] for i in range(10)]
                                                  for t in ("scratch", "torch")}, FASHION)}


def test_every_text_on_a_slide_lies_inside_its_canvas(every_slide):
    for name, fig in every_slide.items():
        canvas = FigureCanvasAgg(fig)
        canvas.draw()
        width, height = canvas.get_width_height()
        texts = drawn_texts(fig)
        outside = [(t.get_text()[:30], [round(v) for v in t.get_window_extent().extents]) for t in texts
                   if not (t.get_window_extent().x0 >= 0 and t.get_window_extent().y0 >= 0
                           and t.get_window_extent().x1 <= width and t.get_window_extent().y1 <= height)]
        assert outside == [], f"{name}: {outside}"


def test_every_text_on_a_slide_is_at_least_14_pt(every_slide):
    for name, fig in every_slide.items():
        FigureCanvasAgg(fig).draw()    # tick labels exist only once drawn
        texts = drawn_texts(fig)
        assert len(texts) > 5, name
        small = sorted({(t.get_text(), t.get_fontsize()) for t in texts if t.get_fontsize() < MIN_PT})
        assert small == [], f"{name}: {small}"


def test_slides_leave_metrics_untouched_and_are_off_by_default(run_with_slides, tmp_path):
    metrics = json.loads((run_with_slides / "metrics.json").read_text())
    with_slides, without = copy.deepcopy(metrics), copy.deepcopy(metrics)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    write_outputs(with_slides, tmp_path / "a", slides=True)
    write_outputs(without, tmp_path / "b")
    assert with_slides == without
    assert (tmp_path / "a" / "slides").is_dir() and not (tmp_path / "b" / "slides").exists()
