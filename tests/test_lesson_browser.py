"""The lesson's backward step, the mutant page and a slide figure in headless Chromium, with screenshots.

Reuses ``tests/test_browser.py``'s DevTools client; skipped when no Chromium is installed. Each
screenshot is written next to the page it shows (under pytest's tmp_path), kept for a look.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from matplotlib.image import imread
from test_browser import CHROMIUM, Chromium, check_page

from compare.cli.app import main

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium found (apt-get install chromium)")

# Scrolls the first element matching the selector whose text holds the needle to the top of the
# viewport; returns its visible text and the pixel size of the page's first image (a bare image
# page has exactly one).
VIEW = """JSON.stringify((() => {
  const el = Array.from(document.querySelectorAll(%s)).find(e => e.innerText.includes(%s));
  if (el) el.scrollIntoView({block: 'start'});
  const img = document.images[0];
  return {found: !!el, text: (el || document.body).innerText, scrollY: window.scrollY,
          image: img ? [img.naturalWidth, img.naturalHeight] : null};
})())"""


def shot(browser: Chromium, page: Path, selector: str, needle: str = "",
         width: int = 1200, height: int = 900) -> tuple[dict, bytes]:
    """Open ``page``, scroll to ``selector`` holding ``needle``; returns (what VIEW saw, a ``width`` x ``height`` PNG)."""
    return browser.capture(page, width, height, VIEW % (json.dumps(selector), json.dumps(needle)))


def is_blank(png: bytes) -> bool:
    image = imread(io.BytesIO(png))[..., :3]
    return float(image.std()) < 0.01


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    chromium = Chromium(tmp_path_factory.mktemp("chromium-profile"))
    yield chromium
    chromium.close()


def test_the_lessons_backward_step_renders_with_its_intermediates_table(browser, tmp_path):
    assert main(["lesson", "--out", str(tmp_path)]) == 0
    page = tmp_path / "lesson.html"
    check_page(browser.open(page), page)
    view, png = shot(browser, page, "#backward-pass table", "z_out.grad")
    (tmp_path / "backward-pass.png").write_bytes(png)
    assert view["found"] and view["scrollY"] > 0
    assert "z_out.grad" in view["text"] and "delta_out" in view["text"]
    assert not is_blank(png)


@pytest.mark.slow
def test_the_mutant_page_shows_the_buggy_and_the_correct_line(browser, tmp_path):
    assert main(["gradcheck", "--mutants", "--out", str(tmp_path)]) == 0
    page = tmp_path / "mutants.html"
    check_page(browser.open(page), page)
    view, png = shot(browser, page, "body")
    (tmp_path / "mutants.png").write_bytes(png)
    assert not is_blank(png)
    assert "the buggy line" in view["text"] and "the correct line" in view["text"]


def test_a_slide_figure_decodes_at_1280_by_720(browser, tmp_path):
    assert main(["run", "--epochs", "1", "--hidden", "8", "--slides", "--out", str(tmp_path)]) == 0
    slides = sorted((tmp_path / "slides").glob("*.png"))
    assert slides
    state = browser.open(slides[0])
    assert state["errors"] == [] and [i["ok"] for i in state["images"]] == [True]
    view, png = shot(browser, slides[0], "img", width=1400, height=800)
    (tmp_path / "slide.png").write_bytes(png)
    assert view["image"] == [1280, 720]
    assert not is_blank(png)
