"""What the CLI does when things go wrong: one clear line, the right exit code, nothing lost."""

import numpy as np
from child_runs import interrupt_after, start_run, strict_json

from compare.cli.app import main
from compare.data import load as data_module
from compare.twins.weights import load_scratch_weights, load_torch_weights


def test_divergence_stops_keeps_partial_results_and_exits_1(tmp_path, capsys):
    out = tmp_path / "diverged"
    code = main(["run", "--lr", "1e200", "--activation", "relu", "--loss", "cross_entropy", "--epochs", "3",
                 "--out", str(out)])
    assert code == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("mlp-compare: diverged: both twins diverged at epoch 1, step 2")
    assert "try a smaller --lr" in err[0]
    m = strict_json(out / "metrics.json")
    assert m["status"] == "diverged" and m["epochs_done"] == 0
    assert m["stopped"]["epoch"] == 1 and m["stopped"]["step"] == 2 and m["stopped"]["first"] == "both"
    assert "test_acc" not in m
    assert "Partial run (diverged)" in (out / "report.html").read_text()


def test_a_useless_learning_rate_finishes_with_a_saturation_warning(tmp_path, capsys):
    out = tmp_path / "saturated"
    assert main(["run", "--lr", "10000", "--epochs", "2", "--out", str(out)]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("mlp-compare: warning: training did not learn")
    assert "chance level is 0.10" in err[0] and "saturated" in err[0] and "lower the learning rate" in err[0]
    m = strict_json(out / "metrics.json")
    assert m["health"]["useless"] and m["health"]["saturated_fraction"] > 0.9
    assert m["history"]["scratch"][-1]["loss"] == 1.0
    assert "training did not learn" in (out / "report.html").read_text()


def test_ctrl_c_writes_the_finished_epochs_and_exits_130(tmp_path):
    out = tmp_path / "interrupted"
    proc = start_run("--epochs", "100000", "--hidden", "8", "--out", str(out))
    _, stderr = interrupt_after(proc, "mlp-compare: float64: epoch 2/100000")
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    m = strict_json(out / "metrics.json")
    assert m["status"] == "interrupted" and m["epochs_done"] >= 2
    assert len(m["history"]["scratch"]) == len(m["history"]["torch"]) == m["epochs_done"]
    assert stderr.strip().splitlines()[-1].startswith(f"mlp-compare: interrupted: interrupted after {m['epochs_done']} of 100000 epochs")
    assert "Partial run (interrupted)" in (out / "report.html").read_text()


def test_an_out_path_under_a_regular_file_fails_before_loading_data(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    # The data folder does not exist either: the --out error shows that --out was checked first.
    assert main(["run", "--dataset", "mnist", "--data-dir", str(tmp_path / "no-data"),
                 "--out", str(tmp_path / "file" / "sub")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mlp-compare: error: cannot write to --out") and err.count("\n") == 1


def test_out_that_is_a_file_is_refused(tmp_path, capsys):
    (tmp_path / "file").write_text("keep me")
    assert main(["run", "--out", str(tmp_path / "file")]) == 2
    assert (tmp_path / "file").read_text() == "keep me"
    assert "exists and is not a folder" in capsys.readouterr().err


def test_overwrite_replaces_only_our_files(tmp_path):
    out = tmp_path / "o"
    assert main(["run", "--epochs", "1", "--hidden", "8", "--out", str(out)]) == 0
    (out / "notes.txt").write_text("mine")
    assert main(["run", "--epochs", "1", "--hidden", "8", "--out", str(out)]) == 2
    assert main(["run", "--epochs", "1", "--hidden", "8", "--out", str(out), "--overwrite"]) == 0
    assert (out / "notes.txt").read_text() == "mine"


def test_save_weights_round_trip_through_the_cli(tmp_path):
    out = tmp_path / "w"
    assert main(["run", "--epochs", "2", "--hidden", "16", "--save-weights", "--out", str(out)]) == 0
    s, t = load_scratch_weights(out / "scratch.npz"), load_torch_weights(out / "torch.pt")
    assert list(s) == ["0.weight", "0.bias", "2.weight", "2.bias"] == list(t)
    assert max(float(np.max(np.abs(s[k] - t[k].numpy()))) for k in s) <= 1e-13
    m = strict_json(out / "metrics.json")
    assert m["weights"] == {"scratch": str(out / "scratch.npz"), "torch": str(out / "torch.pt")}


def test_offline_without_data_names_the_embedded_default(tmp_path, monkeypatch, capsys):
    def offline(name, root):
        raise data_module.DataError(f"could not download {name} into {root} (URLError: no network); "
                                    f"{data_module.HOW_TO_GET_FULL_DATA}")

    monkeypatch.setattr(data_module, "download_with_torchvision", offline)
    assert main(["run", "--dataset", "fashion-mnist", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "--dataset mnist-5k works offline" in err and "apt-get install dataset-fashion-mnist" in err
