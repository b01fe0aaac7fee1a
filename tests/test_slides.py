"""``mlp-compare run --slides``: each panel of training.png alone, 16:9 at 1280 x 720 px, no text under 14 pt."""

import copy
import json
import struct

import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.text import Text

from compare.cli.app import main
from compare.report.run_files import write_outputs
from compare.report.slides import MIN_PT, slide_figures

SLIDES = ["drift.png", "loss.png", "train_accuracy.png", "valid_accuracy.png"]


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


def test_every_text_on_a_slide_is_at_least_14_pt(run_with_slides):
    metrics = json.loads((run_with_slides / "metrics.json").read_text())
    for name, fig in slide_figures(metrics).items():
        FigureCanvasAgg(fig).draw()    # tick labels exist only once drawn
        texts = [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
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
