"""A failing check's report.html: what it says, and how it renders in headless Chromium (a screenshot).

The browser part reuses ``tests/test_browser.py``'s DevTools client and skips when no Chromium is installed.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread
from test_browser import CHROMIUM, Chromium, check_page

from compare.cli.app import main

LEARNERS = Path(__file__).resolve().parent / "learners"
CHECK_SECTIONS = ["What was checked", "The checks, in order", "Intermediates: yours beside the twin's",
                  "Do the gradients agree?", "Your code beside the twin's", "The two training runs",
                  "How far apart they drift", "Test set: how the twins do"]
WARN, OK = (0xD5, 0x5E, 0x00), (0x00, 0x9E, 0x73)  # the edges of the report's warn and ok notes


@pytest.fixture(scope="module")
def failing(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("check") / "missing two <b>&"   # an awkward folder name on the way, too
    assert main(["check", str(LEARNERS / "missing_two.py"), "--epochs", "1", "--out", str(out)]) == 1
    return out


def test_a_failing_checks_report_names_the_findings_and_quotes_both_sides(failing):
    html = (failing / "report.html").read_text()
    assert "<strong>DISAGREES.</strong>" in html and "Finding (factor-two):" in html
    assert "training parted from the twin at epoch 1, step 1" in html
    assert "d_loss__d_a_out = (a_out - y_onehot) / y.shape[0]" in html    # their backward, quoted
    assert "loss.backward()" in html and "Sequential(" in html             # the twin's side
    assert "<code>d_loss__dw_out</code>" in html and "<code>weight_out</code>" in html
    md = (failing / "report.md").read_text()
    assert all(f"## {title}" in md for title in CHECK_SECTIONS)
    assert (failing / "check.json").is_file() and (failing / "training.png").is_file()


def screenshot(browser: Chromium, page: Path, width: int = 1200, height: int = 900) -> bytes:
    """The first ``width`` x ``height`` pixels of ``page`` as PNG bytes."""
    return browser.capture(page, width, height)[1]


def pixels_of(image: np.ndarray, rgb: tuple[int, int, int]) -> int:
    return int(np.sum(np.all(np.abs(image[..., :3] * 255 - np.array(rgb)) < 8, axis=-1)))


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium found (apt-get install chromium)")
def test_a_failing_checks_report_renders_in_chromium_and_reads_as_a_failure(failing, tmp_path):
    browser = Chromium(tmp_path / "profile")
    try:
        page = failing / "report.html"
        state = browser.open(page)
        png = screenshot(browser, page)
    finally:
        browser.close()
    check_page(state, page, n_images=len(list(failing.glob("*.png"))))
    assert state["headings"] == CHECK_SECTIONS
    assert all(i["width"] > 100 for i in state["images"])
    (tmp_path / "report-top.png").write_bytes(png)   # kept for a look when this fails
    image = imread(io.BytesIO(png))
    assert image.shape[:2] == (900, 1200)
    # The verdict opens the page in the warn colour; nothing above the fold is marked ok.
    assert pixels_of(image, WARN) > 1000 and pixels_of(image, OK) == 0
