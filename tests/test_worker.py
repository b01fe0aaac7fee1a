"""Grading that cannot be gamed: a learner's file runs in a worker process; only data crosses, the checker decides.

Each test is an attack (or an accident) a submission can commit, run through ``mlp-compare check FILE`` as a
teacher would, with the verdict the checker must still give.
"""

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from compare.worker.client import Worker, WorkerDied, isolation
from compare.worker.remote import load_class
from compare.worker.serve import MAX_HEADER, ProtocolError, read_message, write_message

ROOT = Path(__file__).resolve().parents[1]
BOOK = (Path(__file__).resolve().parent / "learners" / "book_mlp.py").read_text()
MISSING_TWO = (Path(__file__).resolve().parent / "learners" / "missing_two.py").read_text()
POSIX_NAMESPACES = any("PID namespace" in a for a in isolation()[1])


def submission(tmp_path: Path, name: str, prefix: str = "", source: str = BOOK, suffix: str = "") -> Path:
    path = tmp_path / name
    path.write_text(source.replace("import numpy as np\n", "import numpy as np\n" + prefix, 1) + suffix)
    return path


def check(path: Path, *extra: str, timeout: float = 60, run_file: bool = True):
    """``check FILE``; with ``--run-file`` by default, so that an attack at the file's top level runs (in the
    worker) instead of being skipped as script code."""
    return subprocess.run([sys.executable, "-m", "compare", "check", str(path), "--epochs", "0", "--out",
                           str(path.parent / f"out-{path.stem}"), *(["--run-file"] * run_file), *extra], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


# --- the framing: nothing but bounded JSON and .npy arrays ----------------------------------------------

def test_messages_round_trip_arrays_and_refuse_pickles_and_oversize(tmp_path):
    import io

    buf = io.BytesIO()
    write_message(buf, {"op": "x"}, [np.arange(6.0).reshape(2, 3)])
    head, arrays = read_message(io.BytesIO(buf.getvalue()))
    assert head["op"] == "x" and np.array_equal(arrays[0], np.arange(6.0).reshape(2, 3))
    pickled = io.BytesIO()
    np.save(pickled, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    body = json.dumps({"n_arrays": 1}).encode()
    raw = len(body).to_bytes(8, "big") + body + pickled.tell().to_bytes(8, "big") + pickled.getvalue()
    with pytest.raises(ProtocolError, match="could not be read"):
        read_message(io.BytesIO(raw))
    with pytest.raises(ProtocolError, match="over the bound"):
        read_message(io.BytesIO((MAX_HEADER + 1).to_bytes(8, "big")))


# --- the attacks ---------------------------------------------------------------------------------------

def test_patching_the_checker_from_the_learners_file_changes_nothing(tmp_path):
    path = submission(tmp_path, "sly.py", prefix=(
        "try:\n    import compare.learner.check as c\n"
        "    c._run_checks = lambda report, *a, **k: [report.stage(s, 'ok', 'fine') for s in "
        "('forward', 'intermediates', 'gradients', 'purity', 'training')]\nexcept ImportError:\n    pass\n"),
        source=MISSING_TWO)
    r = check(path)
    assert r.returncode == 1 and "verdict: DISAGREES" in r.stdout, r.stdout + r.stderr


def test_exiting_at_import_cannot_load_and_says_how_it_ended(tmp_path):
    r = check(submission(tmp_path, "quits.py", prefix="import os\nos._exit(0)\n"))
    assert r.returncode == 2 and "exited with code 0 before it answered" in r.stderr, r.stderr


def test_without_run_file_script_code_is_not_run_at_all(tmp_path):
    r = check(submission(tmp_path, "quits.py", prefix="import os\nos._exit(0)\n"), run_file=False)
    assert r.returncode == 0 and "verdict: your backprop agrees" in r.stdout, r.stdout + r.stderr
    assert "not run: 2 statements of script code, lines 3–4 outside the class, e.g. line 4 `os._exit(0)`" in r.stdout


def test_a_pass_written_by_the_learner_is_never_read(tmp_path):
    """It knows where the JSON goes and writes a pass there while it loads: the checker's word comes last."""
    verdict = tmp_path / "check.json"
    forge = (f"import json\ntry:\n    open({str(verdict)!r}, 'w').write(json.dumps({{'passed': True}}))\n"
             "except OSError:\n    pass   # a read-only file system, where the machine allows one\n")
    r = check(submission(tmp_path, "forger.py", prefix=forge, source=MISSING_TWO), "--json", str(verdict))
    assert r.returncode == 1 and json.loads(verdict.read_text())["passed"] is False, r.stdout + r.stderr
    r = check(submission(tmp_path, "quitter.py", prefix=forge + "import os\nos._exit(0)\n"), "--json", str(verdict))
    assert r.returncode == 2 and json.loads(verdict.read_text()) == {
        "passed": False, "exit_code": 2, "error": f"{tmp_path / 'quitter.py'}: the file cannot be loaded: the "
        f"process running your file exited with code 0 before it answered"}, r.stderr


@pytest.mark.skipif(not POSIX_NAMESPACES, reason="needs a PID namespace (Linux, as root or with user namespaces)")
def test_no_process_it_starts_outlives_its_file(tmp_path):
    """A grandchild in a session of its own (out of the worker's process group) is gone with its file."""
    marker = f"{time.time_ns() % 10**6 / 10**3:.3f}"   # a sleep no other process on this machine is doing
    path = submission(tmp_path, "lingers.py", prefix=(
        "import os\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
        f"        os.execv('/bin/sleep', ['sleep', '{marker}'])\n    os._exit(0)\n"))
    r = check(path)
    assert r.returncode == 0, r.stdout + r.stderr
    alive = subprocess.run(["pgrep", "-f", f"sleep {marker}"], capture_output=True, text=True)
    assert alive.stdout == "", f"still running: {alive.stdout}"


@pytest.mark.skipif(not POSIX_NAMESPACES, reason="needs a mount namespace (Linux, as root or with user namespaces)")
def test_it_cannot_write_outside_its_own_folder(tmp_path):
    """Even as root: a report, a neighbour's folder or the checker's output are out of its reach."""
    target = tmp_path / "out-reach" / "report.html"
    target.parent.mkdir()
    writes = (f"try:\n    open({str(target)!r}, 'w').write('forged')\nexcept OSError as e:\n"
              "    print('refused:', e)\nopen('mine.txt', 'w').write('its own folder is writable')\n")
    path = submission(tmp_path, "reaches.py", prefix=writes)
    with Worker(path, timeout=30) as worker:
        load_class(worker, path, None)
        # read-only (EROFS), and where it runs as nobody, not its folder to begin with (EACCES)
        assert re.search(r"refused: \[Errno (30|13)\]", worker.output()), worker.output()
    assert not target.exists()


def test_a_helper_named_like_a_library_beside_the_file_shadows_nothing(tmp_path):
    """A package submission's folder comes after the standard library and site-packages on the worker's path."""
    package = tmp_path / "anna"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "statistics.py").write_text("raise RuntimeError('not the standard library')\n")
    (package / "numpy.py").write_text("raise RuntimeError('not the real numpy')\n")
    (package / "mlp.py").write_text(BOOK.replace("import numpy as np\n", "import numpy as np\nimport statistics\n"))
    r = check(package / "mlp.py")
    assert r.returncode == 0 and "verdict: your backprop agrees" in r.stdout, r.stdout + r.stderr


def test_a_reply_of_the_wrong_shape_is_garbage(tmp_path):
    """A well-framed message on the reply channel, but not what was asked: the checker does not stumble."""
    fake = ("import os, json\nbody = json.dumps({'classes': 5, 'n_arrays': 0}).encode()\n"
            "os.write(3, len(body).to_bytes(8, 'big') + body)\nimport time\ntime.sleep(60)\n")
    r = check(submission(tmp_path, "fake.py", prefix=fake), "--timeout", "20")
    assert r.returncode == 2 and "not a reply" in r.stderr, r.stderr


def test_garbage_on_the_reply_channel_is_not_a_reply(tmp_path):
    r = check(submission(tmp_path, "garbage.py", prefix="import os\nos.write(3, b'\\xff' * 64)\n"))
    assert r.returncode == 2 and "not a reply" in r.stderr, r.stderr


def test_a_flood_of_output_is_bounded_and_the_check_goes_on(tmp_path):
    path = submission(tmp_path, "chatty.py", prefix="print('x' * 20_000_000)\n")
    with Worker(path, timeout=60) as worker:
        cls, _ = load_class(worker, path, None)
        assert cls is not None and len(worker.output()) < 5000 and worker.printed >= 20_000_000


def test_hanging_at_import_or_in_backward_times_out(tmp_path):
    r = check(submission(tmp_path, "hangs.py", prefix="while True:\n    pass\n"), "--timeout", "3")
    assert r.returncode == 2 and "still running after the limit of 3 s" in r.stderr, r.stderr
    slow = submission(tmp_path, "slow.py", source=BOOK.replace("        # onehot encoding\n",
                                                               "        while True:\n            pass\n"))
    r = check(slow, "--timeout", "5")
    assert r.returncode == 1 and "timed out" in r.stderr, r.stderr


def test_an_answer_too_large_to_cross_is_garbage_not_memory(tmp_path):
    path = submission(tmp_path, "huge.py", source=BOOK.replace(
        "        return a_h, a_out", "        return a_h, np.zeros((20_000, 1_000))  # 160 MB"))
    with Worker(path, timeout=60) as worker:
        cls, _ = load_class(worker, path, None)
        with pytest.raises(WorkerDied, match="over the bound"):
            cls(784, 50, 10, 123).forward(np.zeros((2, 784)))


def test_the_worker_runs_isolated_and_says_what_is_not(tmp_path):
    prefix, applied, missing = isolation()
    assert any("python -I" in a for a in applied)
    if os.name == "posix":
        assert any("limits on memory, CPU time, file size and open files" in a for a in applied)
    if os.name == "posix" and os.geteuid() == 0:   # as root: switched to nobody, or said why not
        assert any("nobody" in a for a in applied) or any(m.startswith("runs as root") for m in missing)
    if POSIX_NAMESPACES:   # it sees no other process: not the checker, not the worker beside it
        path = submission(tmp_path, "looks.py", prefix="import os\nprint('processes', "
                          "sorted(int(p) for p in os.listdir('/proc') if p.isdigit()))\n")
        with Worker(path, timeout=30) as worker:
            load_class(worker, path, None)
            assert "processes [1]" in worker.output(), worker.output()


def test_the_python_api_checks_in_a_worker_on_request_and_says_where_the_code_ran(mnist5k):
    from compare.learner import check_backprop, load_target

    cls = load_target(str(Path(__file__).resolve().parent / "learners" / "book_mlp.py")).cls
    isolated = check_backprop(cls, epochs=1, data=mnist5k, isolate=True)
    here = check_backprop(cls, epochs=1, data=mnist5k)
    assert isolated.passed and here.passed, isolated.table()
    assert isolated.isolated and "a process of its own" in isolated.table().splitlines()[1]
    assert not here.isolated and "isolate=True for a worker" in here.table().splitlines()[1]
    assert isolated.as_dict()["isolation"]["applied"] == list(isolation()[1])
    # the same numbers either way: only data crossed
    assert isolated.training.max_weight_diff == here.training.max_weight_diff


# --- the method under test is the learner's own -----------------------------------------------------------

AUTOGRAD_BACKWARD = BOOK.replace("import numpy as np\n", "import numpy as np\nimport torch\n", 1).replace(
    "    def backward(self, x, a_h, a_out, y):\n",
    "    def backward(self, x, a_h, a_out, y):\n        return self._autograd(x, y)\n\n"
    "    def _unused(self, x, a_h, a_out, y):\n", 1) + '''
    def _autograd(self, x, y):
        params = [torch.tensor(p, requires_grad=True) for p in
                  (self.weight_out, self.bias_out, self.weight_h, self.bias_h)]
        w_out, b_out, w_h, b_h = params
        a_h = torch.sigmoid(torch.tensor(x) @ w_h.T + b_h)
        a_out = torch.sigmoid(a_h @ w_out.T + b_out)
        onehot = torch.nn.functional.one_hot(torch.tensor(y), a_out.shape[1]).double()
        loss = ((a_out - onehot) ** 2).sum(1).mean()
        return tuple(g.numpy() for g in torch.autograd.grad(loss, params))
'''


def test_a_backward_that_lets_autograd_do_the_work_fails_unless_allowed(tmp_path):
    path = submission(tmp_path, "autograd.py", source=AUTOGRAD_BACKWARD)
    r = check(path)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "your backward calls torch" in r.stdout and "--allow-import torch permits it" in r.stdout
    assert "3. gradients (3 opinions)  FAIL" in r.stdout   # its gradients are right: the policy failed it
    allowed = check(path, "--allow-import", "torch", "--overwrite")
    assert allowed.returncode == 0 and "verdict: your backprop agrees" in allowed.stdout, allowed.stdout


def test_a_backward_inherited_from_the_reference_fails_and_the_exercise_scaffold_passes(tmp_path):
    inherited = tmp_path / "lazy.py"
    inherited.write_text("from scratch import NeuralNetMLP as Base\n\n\nclass NeuralNetMLP(Base):\n"
                         "    def forward(self, x):\n        return super().forward(x)\n")
    r = check(inherited)
    assert r.returncode == 1 and "your backward is inherited from Base" in r.stdout, r.stdout + r.stderr
    backward = BOOK[BOOK.index("    def backward"):]
    onehot = BOOK[BOOK.index("def int_to_onehot"):BOOK.index("class NeuralNetMLP")]
    scaffold = tmp_path / "scaffold.py"   # the exercise's shape: the book's forward given, backward written
    scaffold.write_text("import numpy as np\nimport scratch\nimport compare  # for the check cells\n\n\n" + onehot
                        + "class NeuralNetMLP(scratch.NeuralNetMLP):\n" + backward)
    r = check(scaffold)
    assert r.returncode == 0 and "verdict: your backprop agrees" in r.stdout, r.stdout + r.stderr


def test_a_worker_that_stops_reading_cannot_block_the_checker(tmp_path):
    """After its first forward the worker holds its interpreter lock for good (a regular expression that
    backtracks for ever, in a thread), so it never reads the next request: a large one fills the pipe."""
    stops = BOOK.replace("        return a_h, a_out", "        import re, threading\n"
                         "        threading.Timer(0.2, lambda: print('stuck', flush=True) or "
                         "re.match('(a+)+$', 'a' * 60 + 'b')).start()\n"
                         "        return a_h, a_out")
    path = submission(tmp_path, "stops.py", source=stops)
    with Worker(path, timeout=5) as worker:
        cls, _ = load_class(worker, path, None)
        obj = cls(784, 50, 10, 123)
        obj.forward(np.zeros((2, 784)))
        waited = time.monotonic()
        while "stuck" not in worker.output() and time.monotonic() - waited < 10:   # its own word that it is stuck
            time.sleep(0.01)
        started = time.monotonic()
        with pytest.raises(WorkerDied, match="still running after the limit of 5 s"):
            obj.forward(np.zeros((2000, 784)))   # 12.5 MB: far more than a pipe holds
        assert time.monotonic() - started < 10


def test_autograd_hidden_in_a_helper_file_of_the_submission_is_found(tmp_path):
    package = tmp_path / "bob"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "helper.py").write_text(AUTOGRAD_BACKWARD[AUTOGRAD_BACKWARD.index("    def _autograd"):]
                                       .replace("    def _autograd(self, x, y):", "def grads(self, x, y):")
                                       .replace("\n        ", "\n    ").replace("import numpy as np\n", "")
                                       .join(["import torch\n\n\n", ""]))
    (package / "mlp.py").write_text(BOOK.replace("import numpy as np\n", "import numpy as np\n\nfrom .helper import "
                                                 "grads\n", 1).replace(
        "    def backward(self, x, a_h, a_out, y):\n",
        "    def backward(self, x, a_h, a_out, y):\n        return grads(self, x, y)\n\n"
        "    def _unused(self, x, a_h, a_out, y):\n", 1))
    r = check(package / "mlp.py")
    assert r.returncode == 1 and "your backward calls torch.autograd.grad, in helper.py" in r.stdout, r.stdout
    allowed = check(package / "mlp.py", "--allow-import", "torch", "--overwrite")
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr


def test_the_output_shown_for_a_reply_holds_what_was_printed_before_it():
    """The worker marks its output before each reply; the tail waits for that mark, wherever a read splits it."""
    from compare.worker.output_tail import OutputTail
    from compare.worker.serve import SYNC

    tail = OutputTail()
    tail.feed(b"loaded\n" + SYNC[:5])           # the mark split across two reads of the pipe
    tail.reply_came()
    tail.feed(SYNC[5:] + b"training\n")
    assert (tail.marked, tail.printed) == (1, len(b"loaded\ntraining\n"))
    assert tail.text() == "loaded\ntraining\n"
    big = b"x" * 10_000
    tail.feed(big + SYNC)
    tail.reply_came()
    assert tail.text().startswith("[") and tail.text().endswith("x" * 100) and tail.printed == 16 + 10_000
