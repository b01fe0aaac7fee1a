"""Helpers for tests that run ``mlp-compare run`` in a child process and read what it wrote."""

import json
import signal
import subprocess
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def strict_json(path: Path):
    """``path`` parsed as RFC 8259 JSON: ``NaN`` and ``Infinity`` are refused."""
    def refuse(name):
        raise ValueError(f"{path} holds {name}, which is not JSON")
    return json.loads(path.read_text(), parse_constant=refuse)


def start_run(*flags: str) -> subprocess.Popen:
    """``mlp-compare run`` in a child process, one stderr line per finished epoch (``--progress lines``);
    a watchdog kills it after 10 minutes so a hung child fails the test instead of hanging it."""
    proc = subprocess.Popen([sys.executable, "-m", "compare", "run", "--progress", "lines", *flags], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    watchdog = threading.Timer(600, proc.kill)
    watchdog.daemon = True
    watchdog.start()
    return proc


def interrupt_after(proc: subprocess.Popen, line_prefix: str) -> tuple[str, str]:
    """Read the child's stderr until a line starts with ``line_prefix``, send it SIGINT there, and return
    its whole (stdout, stderr)."""
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if line.startswith(line_prefix):
            proc.send_signal(signal.SIGINT)
            break
    else:
        raise AssertionError(f"the run ended before printing {line_prefix!r}: {''.join(seen)}")
    stdout, stderr = proc.communicate(timeout=600)
    return stdout, "".join(seen) + stderr


def run_telling_where_it_hangs(argv: list[str], timeout: float, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """``subprocess.run(argv)`` for a Python child started with ``-X faulthandler``: past ``timeout`` it gets
    SIGABRT, so its stderr holds every thread's stack, and the test fails with where it hung, not only that."""
    proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGABRT)
        try:
            stdout, stderr = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            stdout, stderr = proc.communicate()
        raise AssertionError(f"{' '.join(argv[:6])} ... hung past {timeout:g} s; where each thread was:\n"
                             f"{stderr[-20000:]}\nits output so far:\n{stdout[-3000:]}") from None
    return subprocess.CompletedProcess(argv, proc.returncode, stdout, stderr)
