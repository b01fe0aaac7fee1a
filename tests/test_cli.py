"""``mlp-compare run`` end to end on the embedded data, and its one-line errors."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from compare.cli.app import main

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def short_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "out"
    code = main(["run", "--epochs", "3", "--out", str(out)])
    return code, out


def test_run_writes_metrics_figure_and_report(short_run, capsys):
    code, out = short_run
    assert code == 0
    assert {"metrics.json", "report.md", "report.html", "lesson.html", "lesson.md", "training.png"} <= {
        p.name for p in out.iterdir()}
    assert not [p.name for p in out.iterdir() if p.name.endswith(".tmp")]  # no temporary file left behind
    assert (out / "training.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_metrics_hold_the_promised_fields(short_run):
    m = json.loads((short_run[1] / "metrics.json").read_text())
    assert m["config"]["epochs"] == 3 and m["config"]["hidden"] == [50] and m["config"]["valid_size"] == 500
    assert set(m["config"]) >= {"dataset", "data_dir", "valid_size", "hidden", "epochs", "batch_size", "lr",
                                "seed", "dtype", "device"}
    assert m["dataset"] == {**m["dataset"], "name": "mnist-5k", "n_train": 3500, "n_valid": 500,
                            "n_test": 1000, "n_features": 784, "n_classes": 10}
    gc = m["gradient_check"]
    assert gc["dtype"] == "float64" and gc["passed"] is True
    assert [p["name"] for p in gc["params"]] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert all(p["max_rel_diff"] <= 1e-10 for p in gc["params"])
    assert gc["params"][0]["shape"] == [50, 784]
    # The train split holds 350 of each digit, so the stratified batch of 100 holds 10 of each.
    assert m["gradient_check_batch"] == 100 and gc["batch_labels"] == [10] * 10
    for twin in ("scratch", "torch"):
        rows = m["history"][twin]
        assert [r["epoch"] for r in rows] == [1, 2, 3]
        assert set(rows[0]) == {"epoch", "loss", "mse", "train_acc", "valid_acc"}
        assert m["timing"][twin]["train_s"] > 0
    assert len(m["max_weight_diff"]) == 3 and max(m["max_weight_diff"]) <= 1e-13
    assert m["history_max_diff"] <= 1e-12
    assert set(m["test_acc"]) == {"scratch", "torch"} and m["test_acc"]["scratch"] == m["test_acc"]["torch"]
    assert {"python", "numpy", "torch"} <= set(m["versions"])
    assert set(m["timing"]["thread_pools"]) == {"OPENBLAS_THREAD_TIMEOUT", "GOMP_SPINCOUNT", "in_effect"}
    assert m["numerics"]["device"] == "cpu" and m["numerics"]["gpu"] is None


def test_report_has_each_section(short_run):
    text = (short_run[1] / "report.md").read_text()
    for heading in ("## What was run", "## Do the gradients agree?", "## The two training runs",
                    "## Test set", "## What it cost"):
        assert heading in text
    assert "| `0.weight` | 50×784 |" in text and "![training curves of both twins](training.png)" in text


def test_summary_on_stdout(tmp_path, capsys):
    assert main(["run", "--epochs", "1", "--hidden", "8", "--out", str(tmp_path / "o")]) == 0
    out = capsys.readouterr().out
    assert "gradient check: passed" in out and "test accuracy: scratch" in out


@pytest.mark.parametrize("extra, labels, says", [
    ([], [2] * 10, "20 mnist-5k training examples, every class present (2 each)"),
    (["--mutants"], [2] * 10, "every class present (2 each)"),
])
def test_gradcheck_json_records_the_checked_batch(tmp_path, capsys, extra, labels, says):
    code = main(["gradcheck", "--hidden", "8", "--batch-size", "20", "--json", str(tmp_path / "g.json"), *extra])
    assert code == 0
    assert json.loads((tmp_path / "g.json").read_text())["batch_labels"] == labels
    assert says in capsys.readouterr().out


def test_gradcheck_says_which_classes_a_small_batch_lacks(tmp_path, capsys):
    assert main(["gradcheck", "--hidden", "8", "--batch-size", "4", "--json", str(tmp_path / "g.json")]) == 0
    labels = json.loads((tmp_path / "g.json").read_text())["batch_labels"]
    assert sorted(labels) == [0] * 6 + [1] * 4  # four different classes
    missing = ", ".join(str(k) for k, c in enumerate(labels) if not c)
    assert f"4 of 10 classes present (missing: {missing})" in capsys.readouterr().out


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "compare", *args], cwd=ROOT, capture_output=True, text=True)


def test_missing_data_is_one_line_and_exit_2(tmp_path):
    proc = run_cli("run", "--dataset", "mnist", "--data-dir", str(tmp_path / "nowhere"), "--out", str(tmp_path / "o"))
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mlp-compare: error: data directory ")
    assert "does not exist" in lines[0]


def test_corrupt_data_file_is_named(tmp_path):
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                 "t10k-labels-idx1-ubyte"):
        (tmp_path / name).write_bytes(b"\x00\x00\x08\x03garbage")
    proc = run_cli("run", "--dataset", "mnist", "--data-dir", str(tmp_path), "--out", str(tmp_path / "o"))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "train-images-idx3-ubyte" in proc.stderr and proc.stderr.startswith("mlp-compare: error: ")


def test_non_empty_out_is_refused(tmp_path):
    out = tmp_path / "keep"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    assert main(["run", "--epochs", "1", "--out", str(out)]) == 2
    assert [p.name for p in out.iterdir()] == ["notes.txt"]


@pytest.mark.parametrize("args, message", [
    (["--hidden", "50,x"], "expected comma-separated widths"),
    (["--epochs", "0"], "expected a number >= 1"),
    (["--lr", "nan"], "expected a finite number > 0"),
    (["--dataset", "cifar"], "invalid choice"),
])
def test_bad_flags_exit_2(args, message, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["run", *args])
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def leftover_marks(html: str) -> list[str]:
    """Inline Markdown left as text in a page: backticks or *stars* outside code, pre, style and tags."""
    import re

    text = re.sub(r"<(pre|code|style)\b.*?</\1>", " ", html, flags=re.S)
    text = re.sub(r"<[^>]+>", " ", text)
    found = re.findall(r"[^\n]{0,30}`[^\n]{0,30}", text)
    found += re.findall(r"[^\n]{0,30}(?<![\w*])\*{1,2}\S[^*\n]*?\S\*{1,2}(?![\w*])[^\n]{0,30}", text)
    return found


def test_every_page_renders_its_inline_markdown(short_run, tmp_path):
    out = short_run[1]
    assert main(["check", str(ROOT / "tests" / "learners" / "softmax_stale_two.py"), "--epochs", "1",
                 "--out", str(tmp_path / "check")]) == 1
    assert main(["gradcheck", "--mutants", "--out", str(tmp_path / "mutants")]) == 0
    pages = [out / "report.html", out / "lesson.html", tmp_path / "check" / "report.html",
             *(tmp_path / "mutants").glob("*.html")]
    assert len(pages) == 4
    for page in pages:
        html = page.read_text()
        assert leftover_marks(html) == [], page.name
    lesson = (out / "lesson.html").read_text()
    assert "<code>delta_out</code> <em>is</em> <code>z_out.grad</code>" in lesson
    assert "The PyTorch column was not run for this page" in lesson and "as run:" not in lesson   # run's budget
    assert "<a href=" in lesson and '"><code>torch.autograd.gradcheck</code></a>' in lesson


def test_the_cost_line_shows_how_much_the_ratio_moves_from_epoch_to_epoch(short_run):
    m = json.loads((short_run[1] / "metrics.json").read_text())["timing"]
    per = {twin: m[twin]["train_s_epochs"] for twin in ("scratch", "torch")}
    assert len(per["scratch"]) == len(per["torch"]) == 3
    assert sum(per["scratch"]) == pytest.approx(m["scratch"]["train_s"])
    ratios = sorted(t / s for s, t in zip(per["scratch"], per["torch"]))
    assert m["epoch_ratios"] == {"median": pytest.approx(ratios[1]), "min": pytest.approx(ratios[0]),
                                 "max": pytest.approx(ratios[2]), "epochs": 3}
    html = (short_run[1] / "report.html").read_text()
    assert f"per epoch: median {ratios[1]:.2f}×, {ratios[0]:.2f}× to {ratios[2]:.2f}× over 3 epochs" in html
