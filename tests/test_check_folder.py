"""``mlp-compare check DIR``: a class's submissions checked at once, each file in its own process.

A file that loops forever, ends the interpreter (``os._exit``, a segfault) or allocates without bound gets a
row saying so; every other row is what ``mlp-compare check FILE`` says about that file alone.
"""

import csv
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LEARNERS = Path(__file__).resolve().parent / "learners"
TIMEOUT = 20


def check_dir(folder: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "compare", "check", str(folder), "--epochs", "0", "--timeout",
                           str(TIMEOUT), "--out", str(out), *extra], cwd=ROOT, capture_output=True, text=True)


def copy(names: list[str], folder: Path) -> None:
    folder.mkdir(exist_ok=True)
    for name in names:
        (folder / name).write_text((LEARNERS / name).read_text())


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """One class folder checked once: ``(completed process, out folder, {file: csv row})``."""
    folder, out = tmp_path_factory.mktemp("submissions"), tmp_path_factory.mktemp("checked") / "out"
    copy(["book_mlp.py", "in_out_storage.py", "missing_n.py", "exits_in_backward.py", "syntax_error.py"], folder)
    (folder / "loops.py").write_text("while True:\n    pass\n")
    backward = (LEARNERS / "exits_in_backward.py").read_text()
    (folder / "os_exit_in_backward.py").write_text(backward.replace("sys.exit(3)", "import os; os._exit(1)"))
    (folder / "segfault_on_import.py").write_text("import ctypes\n\nctypes.string_at(0)\n")
    # 16 GiB of address space, never touched: over the 4 GiB limit, harmless on a machine without one
    (folder / "allocates.py").write_text("import numpy as np\n\nballast = np.empty(2**31)\n")
    # --run-file: the files that loop, segfault or allocate do it at their top level, script code otherwise skipped
    r = check_dir(folder, out, "--json", str(out.parent / "summary.json"), "--run-file")
    with open(out / "summary.csv", newline="") as f:
        rows = {row["file"]: row for row in csv.DictReader(f)}
    return r, out, rows


def test_every_file_gets_its_own_verdict(batch):
    r, _, rows = batch
    verdicts = {name: row["verdict"] for name, row in rows.items()}
    assert verdicts == {"book_mlp.py": "pass", "in_out_storage.py": "pass", "missing_n.py": "FAIL",
                        "exits_in_backward.py": "FAIL", "syntax_error.py": "cannot load", "loops.py": "timed out",
                        "os_exit_in_backward.py": "crashed", "segfault_on_import.py": "cannot load",
                        "allocates.py": "cannot load"}, r.stdout + r.stderr
    assert r.returncode == 1


def test_the_csv_says_class_and_first_finding_in_the_learners_words(batch):
    _, _, rows = batch
    assert list(rows["book_mlp.py"]) == ["file", "class", "verdict", "first finding", "seconds"]
    assert rows["book_mlp.py"]["class"] == "NeuralNetMLP" and rows["book_mlp.py"]["first finding"] == ""
    assert "weight_out" in rows["missing_n.py"]["first finding"]
    assert rows["exits_in_backward.py"]["first finding"].startswith("your backward raised SystemExit: 3")
    assert "syntax_error.py:" in rows["syntax_error.py"]["first finding"]
    assert "SyntaxError" in rows["syntax_error.py"]["first finding"]
    assert rows["syntax_error.py"]["class"] == ""
    assert all(float(row["seconds"]) > 0 for row in rows.values())


def test_a_file_that_hangs_is_stopped_at_the_limit_and_says_so(batch):
    _, _, rows = batch
    row = rows["loops.py"]
    assert f"within the {TIMEOUT} s limit" in row["first finding"]
    assert float(row["seconds"]) >= TIMEOUT  # killed at the limit, not before


def test_a_file_that_ends_the_interpreter_or_allocates_without_bound_costs_only_its_row(batch):
    _, _, rows = batch
    assert "exited with code 1 before it answered" in rows["os_exit_in_backward.py"]["first finding"]
    assert "SIGSEGV" in rows["segfault_on_import.py"]["first finding"]
    assert "MemoryError" in rows["allocates.py"]["first finding"]


def test_the_html_summary_links_each_files_own_report(batch):
    r, out, rows = batch
    html = (out / "summary.html").read_text()
    assert html.count("<tr>") == len(rows) + 1  # the header and one row per file
    assert '<a href="book_mlp/report.html">' in html and (out / "book_mlp" / "report.html").is_file()
    assert '<a href="missing_n/report.html">' in html and (out / "missing_n" / "report.html").is_file()
    assert '<a href="loops/output.txt">' in html and not (out / "loops" / "report.html").exists()
    assert "9 files: 2 pass, 2 FAIL, 3 cannot load, 1 timed out, 1 crashed" in html
    assert r.stdout.rstrip().splitlines()[-1].startswith(f"wrote {out}/summary.html")
    summary = json.loads((out.parent / "summary.json").read_text())
    assert {f["file"]: f["verdict"] for f in summary["files"]} == {k: v["verdict"] for k, v in rows.items()}


def test_exit_0_when_every_file_passes(tmp_path):
    copy(["book_mlp.py", "in_out_storage.py"], tmp_path / "class")
    r = check_dir(tmp_path / "class", tmp_path / "out")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "2 files: 2 pass" in r.stdout


def test_exit_2_when_no_file_could_be_loaded(tmp_path):
    copy(["syntax_error.py", "exits_on_import.py"], tmp_path / "class")
    r = check_dir(tmp_path / "class", tmp_path / "out")
    assert r.returncode == 2, r.stdout + r.stderr
    assert "2 files: 2 cannot load" in r.stdout


def test_a_folder_without_python_files_is_one_line_and_exit_2(tmp_path):
    (tmp_path / "class").mkdir()
    r = check_dir(tmp_path / "class", tmp_path / "out")
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr == f"mlp-compare: error: {tmp_path / 'class'} holds no .py files, notebooks or folders of them; " \
                       f"pass a folder of learners' files or one file\n"


def test_a_file_named_init_is_no_submission_and_cannot_reach_its_neighbours(tmp_path):
    folder, out = tmp_path / "subs", tmp_path / "out"
    folder.mkdir()
    (folder / "__init__.py").write_text("import sys\nsys.modules['builtins'].print = None\n")
    (folder / "anna.py").write_text((LEARNERS / "book_mlp.py").read_text())
    r = check_dir(folder, out)
    with open(out / "summary.csv", newline="") as f:
        rows = {row["file"]: row["verdict"] for row in csv.DictReader(f)}
    assert rows == {"anna.py": "pass"} and r.returncode == 0, r.stdout + r.stderr


def test_a_property_that_raises_costs_only_its_row(tmp_path):
    folder, out = tmp_path / "subs", tmp_path / "out"
    folder.mkdir()
    book = (LEARNERS / "book_mlp.py").read_text()
    raising = book.replace("self.bias_out = np.zeros(num_classes)", "self._b = np.zeros(num_classes)").replace(
        "    def forward(self, x):", "    @property\n    def bias_out(self):\n        raise RuntimeError('no')\n\n"
        "    def forward(self, x):")
    assert raising.count("RuntimeError") == 1 and "self._b" in raising
    (folder / "raises.py").write_text(raising)
    (folder / "anna.py").write_text(book)
    r = check_dir(folder, out)
    with open(out / "summary.csv", newline="") as f:
        rows = {row["file"]: row for row in csv.DictReader(f)}
    assert rows["anna.py"]["verdict"] == "pass" and rows["raises.py"]["verdict"] == "FAIL", r.stdout + r.stderr
    assert "RuntimeError: no" in rows["raises.py"]["first finding"]


def _csv_verdicts(out: Path) -> dict[str, str]:
    with open(out / "summary.csv", newline="") as f:
        return {row["file"]: row["verdict"] for row in csv.DictReader(f)}


def test_ctrl_c_ends_every_worker_at_once_and_keeps_the_rows_finished(tmp_path):
    folder, out = tmp_path / "subs", tmp_path / "out"
    copy(["book_mlp.py"], folder)
    for name in ("zz_loops.py", "zz_loops_too.py"):   # checked beside it, never end by themselves
        (folder / name).write_text("while True:\n    pass\n")
    # Ctrl-C at a terminal reaches the whole process group: the child's own group stands for the terminal's.
    p = subprocess.Popen([sys.executable, "-m", "compare", "check", str(folder), "--epochs", "0", "--jobs", "3",
                          "--timeout", "120", "--run-file", "--out", str(out)], cwd=ROOT, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, start_new_session=True)
    assert p.stdout is not None
    try:
        printed = [p.stdout.readline() for _ in range(2)]   # the heading, then the first file's row
        # The loops started with it (--jobs 3) and are running in their workers by the time it has passed.
        assert printed[1].strip().startswith("book_mlp.py: pass"), printed
        os.killpg(p.pid, signal.SIGINT)
        rest, err = p.communicate(timeout=20)   # far inside the 120 s limit that would end the loops otherwise
    finally:
        if p.poll() is None:   # its workers end with it (they die with their parent)
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
    assert p.returncode == 130, rest + err
    assert err.strip().splitlines()[-1] == "mlp-compare: interrupted: 1 of 3 files checked; the summary lists those"
    assert _csv_verdicts(out) == {"book_mlp.py": "pass"}
    assert (out / "book_mlp" / "check.json").is_file() and not (out / "zz_loops" / "check.json").exists()


def test_figures_drawn_beside_the_next_check_are_those_check_file_draws(tmp_path):
    folder, out, alone = tmp_path / "subs", tmp_path / "out", tmp_path / "alone"
    copy(["book_mlp.py", "missing_two.py"], folder)   # the second trains at half the gradient: other figures
    r = subprocess.run([sys.executable, "-m", "compare", "check", str(folder), "--epochs", "1", "--out", str(out)],
                       cwd=ROOT, capture_output=True, text=True)
    assert _csv_verdicts(out) == {"book_mlp.py": "pass", "missing_two.py": "FAIL"}, r.stdout + r.stderr
    r = subprocess.run([sys.executable, "-m", "compare", "check", str(folder / "book_mlp.py"), "--epochs", "1",
                        "--out", str(alone)], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    pngs = sorted(p.name for p in alone.glob("*.png"))
    assert {"training.png", "steps.png", "confusion.png"} <= set(pngs)
    assert sorted(p.name for p in (out / "book_mlp").glob("*.png")) == pngs
    for name in pngs:
        assert (out / "book_mlp" / name).read_bytes() == (alone / name).read_bytes(), name
    assert (out / "book_mlp" / "training.png").read_bytes() != (out / "missing_two" / "training.png").read_bytes()
