"""report.html and lesson.html in a real browser: headless Chromium, driven over the DevTools protocol.

Chromium is started with ``--remote-debugging-pipe``: commands go in on its fd 3 and answers come
out on its fd 4, NUL-separated JSON, so the test needs nothing beyond the standard library and
opens no port. It checks that every image decoded to its last row, that every section is
there, that the console stayed free of errors, and that the page fetched nothing but itself.
Skipped when no Chromium is installed (``.ci/run`` installs Debian's ``chromium``).
"""

from __future__ import annotations

import base64
import json
import os
import select
import shutil
import signal
import time
from pathlib import Path

import pytest

from compare.cli.app import main

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM = next((p for p in map(shutil.which, CANDIDATES) if p), None)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium found (apt-get install chromium)")

REPORT_SECTIONS = ["What was run", "Do the gradients agree?", "The two training runs", "How far apart they drift",
                   "Test set: how the twins do", "What it cost"]
# A PNG cut short still has its size in the header, and Chromium shows what it has: naturalWidth is
# set and decode() resolves. Rows never decoded are transparent, and every figure's background is
# opaque, so the image's last row, drawn on a canvas, says whether the whole image arrived.
PAGE_STATE = """JSON.stringify({
  images: Array.from(document.images).map(i => {
    const c = document.createElement('canvas');
    c.width = i.naturalWidth; c.height = 1;
    const g = c.getContext('2d');
    let whole = false;
    if (i.naturalWidth > 0) {
      g.drawImage(i, 0, -(i.naturalHeight - 1));
      whole = g.getImageData(0, 0, c.width, 1).data.every((v, k) => k % 4 !== 3 || v === 255);
    }
    return {alt: i.alt, ok: i.complete && i.naturalWidth > 0 && whole, width: i.naturalWidth};
  }),
  headings: Array.from(document.querySelectorAll('h2')).map(h => h.textContent.replace(/^\\d+\\.\\s*/, '')),
  scripts: document.scripts.length,
})"""


class Chromium:
    """A headless Chromium and a minimal DevTools-protocol client over its pipe."""

    def __init__(self, profile: Path, timeout: float = 30.0):
        cmd_read, self._cmd = os.pipe()     # we write commands; Chromium reads them on its fd 3
        self._out, out_write = os.pipe()    # Chromium writes answers and events on its fd 4
        self.timeout, self.events, self._buf, self._id = timeout, [], b"", 0
        # posix_spawn moves the two ends onto fds 3 and 4 without running Python in the child (torch's
        # threads make a preexec_fn unsafe); dup2 leaves the copies inheritable, everything else is
        # close-on-exec. Its own session lets close() end the whole process tree it started.
        null = [(os.POSIX_SPAWN_OPEN, fd, os.devnull, os.O_RDWR, 0) for fd in (0, 1, 2)]
        self.pid = os.posix_spawn(
            CHROMIUM,
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--disable-default-apps", "--mute-audio", f"--user-data-dir={profile}", "--remote-debugging-pipe",
             "about:blank"],
            os.environ, file_actions=[(os.POSIX_SPAWN_DUP2, cmd_read, 3), (os.POSIX_SPAWN_DUP2, out_write, 4), *null],
            setsid=True)
        os.close(cmd_read)
        os.close(out_write)

    def _message(self, deadline: float) -> dict:
        while b"\0" not in self._buf:
            ready, _, _ = select.select([self._out], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                raise TimeoutError("Chromium did not answer in time")
            chunk = os.read(self._out, 1 << 16)
            if not chunk:
                raise EOFError("Chromium closed its DevTools pipe")
            self._buf += chunk
        raw, _, self._buf = self._buf.partition(b"\0")
        return json.loads(raw)

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._cmd, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            m = self._message(deadline)
            if m.get("id") == self._id:
                if "error" in m:
                    raise RuntimeError(f"{method}: {m['error']}")
                return m.get("result", {})
            self.events.append(m)

    def wait_for(self, method: str) -> dict:
        deadline = time.monotonic() + self.timeout
        while True:
            for i, e in enumerate(self.events):
                if e.get("method") == method:
                    return self.events.pop(i)
            self.events.append(self._message(deadline))

    def open(self, path: Path) -> dict:
        """Load ``path`` in a fresh tab; returns the page's state and what the console and network saw."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable", session=session)
        self.events.clear()
        self.send("Page.navigate", {"url": path.resolve().as_uri()}, session=session)
        self.wait_for("Page.loadEventFired")
        state = json.loads(self.send("Runtime.evaluate", {"expression": PAGE_STATE, "returnByValue": True},
                                     session=session)["result"]["value"])
        state["errors"] = [e["params"] for e in self.events if e.get("method") == "Runtime.exceptionThrown"
                           or (e.get("method") == "Runtime.consoleAPICalled" and e["params"]["type"] in ("error", "assert"))
                           or (e.get("method") == "Log.entryAdded" and e["params"]["entry"]["level"] == "error")]
        state["requests"] = [e["params"]["request"]["url"] for e in self.events
                             if e.get("method") == "Network.requestWillBeSent"]
        self.send("Target.closeTarget", {"targetId": target})
        return state

    def capture(self, path: Path, width: int = 1200, height: int = 900, expression: str | None = None):
        """Load ``path`` in a ``width`` x ``height`` tab, evaluate ``expression`` (JSON it returns, or None), then
        take a screenshot; returns ``(that value, the screenshot's PNG bytes)``."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        self.send("Page.enable", session=session)
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}, session=session)
        self.events.clear()
        self.send("Page.navigate", {"url": path.resolve().as_uri()}, session=session)
        self.wait_for("Page.loadEventFired")
        value = None
        if expression is not None:
            value = json.loads(self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True},
                                         session=session)["result"]["value"])
        data = self.send("Page.captureScreenshot", {"format": "png"}, session=session)["data"]
        self.send("Target.closeTarget", {"targetId": target})
        return value, base64.b64decode(data)

    def close(self) -> None:
        try:
            self.send("Browser.close")
        except (OSError, EOFError, TimeoutError, RuntimeError):
            pass
        deadline = time.monotonic() + 10
        while os.waitpid(self.pid, os.WNOHANG) == (0, 0):
            if time.monotonic() > deadline:
                os.killpg(self.pid, signal.SIGKILL)   # the session this test started, and only it
                os.waitpid(self.pid, 0)
                break
            time.sleep(0.05)
        os.close(self._cmd)
        os.close(self._out)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    chromium = Chromium(tmp_path_factory.mktemp("chromium-profile"))
    yield chromium
    chromium.close()


def check_page(state: dict, page: Path, n_images: int | None = None) -> None:
    broken = [i["alt"] for i in state["images"] if not i["ok"]]
    assert not broken, f"images that did not decode: {broken}"
    if n_images is not None:
        assert len(state["images"]) == n_images
    assert state["errors"] == [], f"console errors: {state['errors']}"
    assert state["scripts"] == 0
    # The page itself is the only thing loaded; data: images are not requests worth naming.
    assert [u for u in state["requests"] if not u.startswith("data:")] == [page.resolve().as_uri()]


def test_report_and_lesson_render_in_chromium(browser, tmp_path):
    out = tmp_path / "run <b>&"   # an awkward folder name on the way, too
    assert main(["run", "--epochs", "1", "--out", str(out)]) == 0
    report = browser.open(out / "report.html")
    check_page(report, out / "report.html", n_images=len(list(out.glob("*.png"))))
    assert len(report["images"]) >= 7 and all(i["width"] > 100 for i in report["images"])
    assert report["headings"] == REPORT_SECTIONS
    lesson = browser.open(out / "lesson.html")
    check_page(lesson, out / "lesson.html")
    assert lesson["headings"][0] == "Load the digits" and lesson["headings"][-1].startswith("The 10× trap")


@pytest.mark.slow
def test_full_size_fashion_mnist_report_renders(browser, tmp_path):
    data_dir = Path(os.environ.get("FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist"))
    if not data_dir.is_dir():
        pytest.skip(f"full-size Fashion-MNIST not found in {data_dir} (apt-get install dataset-fashion-mnist)")
    out = tmp_path / "fashion"
    assert main(["run", "--dataset", "fashion-mnist", "--data-dir", str(data_dir), "--epochs", "2",
                 "--out", str(out)]) == 0
    report = browser.open(out / "report.html")
    check_page(report, out / "report.html", n_images=len(list(out.glob("*.png"))))
    assert report["headings"] == REPORT_SECTIONS
    check_page(browser.open(out / "lesson.html"), out / "lesson.html")
