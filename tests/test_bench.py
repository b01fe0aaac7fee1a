"""``mlp-compare bench --quick``: the structure of its table, JSON and plot, and that its numbers add up.

Speed itself is measured by the benchmark, never asserted here: these tests check that every time
is a positive finite number and that every ratio is computed from the times in the same JSON.
"""

import contextlib
import io
import json
import math
import statistics

import pytest
from matplotlib.figure import Figure

from compare.bench.config import BenchConfig
from compare.bench.epochs import epoch_flops
from compare.bench.ratios import checks
from compare.cli.app import main
from compare.cli.bench import crossover, plot_bench

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bench")
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        code = main(["bench", "--quick", "--reps", "1", "--json", str(tmp / "b.json"), "--out", str(tmp / "out")])
    return code, tmp, json.loads((tmp / "b.json").read_text()), stdout.getvalue()


def all_cells(r):
    return r["seed"] + r["scaling"]["width"] + r["scaling"]["depth"]


def test_writes_table_json_and_plot(quick):
    code, tmp, r, _ = quick
    assert code == 0
    assert sorted(p.name for p in (tmp / "out").iterdir()) == ["bench.json", "bench.png"]
    assert (tmp / "out" / "bench.png").read_bytes()[:8] == PNG
    assert json.loads((tmp / "out" / "bench.json").read_text()) == r


def test_json_holds_every_section(quick):
    r = quick[2]
    assert set(r) >= {"settings", "calibration", "seed", "scaling", "memory", "evaluation", "run", "folder", "checks",
                      "wall_s", "other_load"}
    s = r["settings"]
    assert s["threads"] >= 1 and s["blas"] and {"internal_api", "architecture", "num_threads"} <= set(s["blas"][0])
    assert set(s["env"]) >= {"OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"}
    assert [(c["dtype"], c["batch_size"]) for c in r["seed"]] == [
        (d, b) for d in ("float64", "float32") for b in (32, 100, 512)]
    assert [c["sizes"] for c in r["scaling"]["width"]] == [[784, w, 10] for w in (50, 128, 256, 512, 1024)]
    assert [c["sizes"] for c in r["scaling"]["depth"]] == [[784, 50, 10], [784, 50, 50, 10], [784, 50, 50, 50, 10]]
    assert set(r["calibration"]["gemm"]) == {"float64", "float32"}
    assert [(m["twin"], m["dtype"]) for m in r["memory"]] == [("scratch", "float64"), ("torch", "float64")]


def test_times_are_positive_and_finite(quick):
    r = quick[2]
    for c in all_cells(r):
        for name in ("floor", "scratch", "torch"):
            assert len(c["times"][name]) == 1
            assert all(t > 0 and math.isfinite(t) for t in c["times"][name])
    for g in r["calibration"]["gemm"].values():
        assert g["seconds"] > 0 and g["gflops"] > 0
    for m in r["memory"]:
        assert m["peak_growth_mib"] is None or m["peak_growth_mib"] >= 0
    assert r["memory"][0]["numpy_peak_mib"] > 0
    assert r["wall_s"] > 0 and (r["other_load"] is None or 0 <= r["other_load"] <= 1)


def test_ratios_come_from_the_times_in_the_same_json(quick):
    r = quick[2]
    for c in all_cells(r):
        med = {name: statistics.median(t) for name, t in c["times"].items()}
        for name in med:
            assert c[f"{name}_s"] == med[name]
            assert c[f"{name}_gflops"] == pytest.approx(c["flops"] / med[name] / 1e9, rel=1e-12)
            assert c["spread"][name] == pytest.approx(max(c["times"][name]) / min(c["times"][name]), rel=1e-12)
        pairs = [("scratch", "floor"), ("torch", "floor"), ("torch", "scratch")]
        pairs += [("lean", "floor"), ("scratch", "lean")] if c in r["seed"] else []
        for a, b in pairs:  # the median of the per-round ratios
            per_round = [x / y for x, y in zip(c["times"][a], c["times"][b])]
            assert c[f"{a}_over_{b}"] == pytest.approx(statistics.median(per_round), rel=1e-12)
        assert ("lean" in c["times"]) == (c in r["seed"])  # the NumPy limit is timed on the seed network only
        assert c["flops"] == epoch_flops(c["sizes"], c["batch_size"], c["steps"])
        assert c["steps"] == c["rows"] // c["batch_size"]
    seed = {(c["dtype"], c["batch_size"]): c for c in r["seed"]}
    assert r["checks"] == checks(r["run"], r["evaluation"], r["folder"])
    assert r["calibration"]["floor"] == {"float64": seed["float64", 100]["floor_s"], "float32": seed["float32", 100]["floor_s"]}


def test_table_on_stdout(quick):
    from compare.cli.bench import format_table

    code, tmp, r, stdout = quick
    assert format_table(r) in stdout
    for part in ("BLAS floor", "NumPy limit", "limit/floor", "scratch/limit", "kernel", "scratch/floor",
                 "torch/scratch", "seed network 784-50-10",
                 "hidden width", "depth", "peak memory", "targets", "other processes used",
                 "the default run (mlp-compare run --epochs 5", "x arithmetic", "imports, start and exit",
                 "trained apart", "round by round", "its own BLAS", "check DIR over 4 correct files"):
        assert part in stdout
    for c in r["checks"]:
        assert c["name"] in stdout and c["target"] in stdout


def test_paired_ratio_is_the_median_of_the_per_round_ratios():
    from compare.bench.ratios import paired_ratio, ratio_range

    # per-round ratios 1.2, 1.5, 1.6; the machine ran at half speed during the second round
    a, b = [1.2, 3.0, 1.6], [1.0, 2.0, 1.0]
    assert paired_ratio(a, b) == 1.5 and ratio_range(a, b) == [1.2, 1.6]
    assert statistics.median(a) / statistics.median(b) == 1.6  # a ratio of medians mixes rounds


def test_derived_numbers_and_targets_by_hand():
    """Three rounds, so a ratio of medians, a constant spread or a target compared the wrong way shows
    (the quick run times one round, where all three agree with the right answer)."""
    from compare.bench.ratios import derived

    d = derived({"flops": 6e9, "times": {"floor": [1.0, 2.0, 1.0], "scratch": [1.2, 3.0, 1.6],
                                         "torch": [3.0, 6.0, 5.0]}})
    assert (d["floor_s"], d["scratch_s"], d["torch_s"]) == (1.0, 1.6, 5.0)
    assert d["scratch_gflops"] == pytest.approx(3.75) and d["torch_gflops"] == pytest.approx(1.2)
    # per round: scratch/floor 1.2, 1.5, 1.6; torch/floor 3, 3, 5; torch/scratch 2.5, 2, 3.125
    assert d["scratch_over_floor"] == pytest.approx(1.5) and d["torch_over_floor"] == pytest.approx(3.0)
    assert d["torch_over_scratch"] == pytest.approx(2.5) and "lean_over_floor" not in d
    assert d["spread"] == pytest.approx({"floor": 2.0, "scratch": 2.5, "torch": 2.0})

    cost = {"torch_over_scratch": {"run": 1.5, "lockstep": 1.3, "apart": 1.2, "paired": 1.3}, "run_over_plain": 1.3,
            "run_over_apart": {"scratch": 0.8, "torch": 1.21}, "lockstep_over_apart": {"scratch": 1.0, "torch": 1.19}}
    evaluation = {"scratch_over_floor": 1.5, "torch_over_floor": 1.6, "torch_over_torch_floor": 1.0}
    got = [(c["value"], c["target"], c["met"]) for c in checks(cost, evaluation, {"per_file_over_single": 0.36})]
    assert got == [(1.25, "within 20 %", False), (pytest.approx(1.5 / 1.3), "within 20 %", True),
                   (pytest.approx(1.3 / 1.2), "within 20 %", True),
                   (0.8, "within 20 %", False), (1.21, "within 20 %", False),
                   (1.0, "within 20 %", True), (1.19, "within 20 %", True), (1.3, "at most 1.3", True),
                   (1.5, "at most 1.5", True), (1.6, "at most 1.5", False), (1.0, "at most 1.5", True),
                   (0.36, "at most 0.35", False)]
    assert checks(None, None, {"per_file_over_single": 0.35})[-1]["met"] is True
    assert [c["met"] for c in checks(None, None)] == [None] * 12
    assert checks({**cost, "torch_over_scratch": {**cost["torch_over_scratch"], "run": None}}, None)[0]["met"] is None


def test_the_run_section_adds_up(quick):
    """The default run's phases add up to its wall time; every ratio is computed from the numbers beside it."""
    c = quick[2]["run"]
    assert c["epochs"] == 5 and c["children"] == 1 and len(c["runs"]) == len(c["plain_wall_s"]) == 1
    assert c["round_epochs"] == 5  # one round of all 5 epochs (rounds are at most 10 epochs)
    run_phases = c["runs"][0]["timing"]["phases"]
    assert c["phases"] == {**run_phases, "imports, start and exit": c["runs"][0]["wall_s"] - sum(run_phases.values())}
    assert {"load data", "build twins", "gradient check", "lockstep training", "write report", "write lesson",
            "imports, start and exit"} <= set(c["phases"])
    assert c["run_over_plain"] == pytest.approx(c["runs"][0]["wall_s"] / c["plain_wall_s"][0], rel=1e-12)
    flops = 2 * 5 * epoch_flops([784, 50, 10], 100, 35)
    seed = {(s["dtype"], s["batch_size"]): s for s in quick[2]["seed"]}
    assert c["training_arithmetic_s"] == pytest.approx(flops / seed["float64", 100]["floor_gflops"] / 1e9, rel=1e-12)
    assert c["phases_over_arithmetic"] == pytest.approx({k: v / c["training_arithmetic_s"] for k, v in c["phases"].items()})
    rounds, run = c["rounds"], c["runs"][0]["timing"]
    names = ("scratch", "torch", "scratch_eval", "torch_eval")
    assert set(rounds) == {*names, *(f"lockstep_{n}" for n in names)} and all(len(v) == 1 for v in rounds.values())
    assert c["lockstep_s_per_epoch"] == pytest.approx({n: rounds[f"lockstep_{n}"][0] / 5 for n in names})
    assert c["apart_s_per_epoch"] == pytest.approx({n: rounds[n][0] / 5 for n in names})
    assert c["run_s_per_epoch"] == {"scratch": run["scratch"]["train_s_per_epoch"], "torch": run["torch"]["train_s_per_epoch"],
                                    "scratch_eval": run["scratch"]["eval_s_per_epoch"],
                                    "torch_eval": run["torch"]["eval_s_per_epoch"]}
    assert c["lockstep_over_apart"] == pytest.approx({n: rounds[f"lockstep_{n}"][0] / rounds[n][0] for n in names})
    assert c["run_over_apart"] == pytest.approx({n: c["run_s_per_epoch"][n] / c["apart_s_per_epoch"][n] for n in names})
    t = c["torch_over_scratch"]
    assert t["lockstep"] == pytest.approx(rounds["lockstep_torch"][0] / rounds["lockstep_scratch"][0])
    assert t["apart"] == pytest.approx(rounds["torch"][0] / rounds["scratch"][0])
    assert c["apart_round_range"] == pytest.approx([t["apart"], t["apart"]])  # one round: its least and greatest
    assert t["run"] == run["torch_over_scratch"] and t["paired"] == seed["float64", 100]["torch_over_scratch"]


def test_the_folder_section_adds_up(quick):
    """check DIR over the quick run's 4 correct files, the single check timed before and after it."""
    f = quick[2]["folder"]
    assert (f["files"], f["epochs"]) == (4, 1) and len(f["single_s"]) == 2   # --reps 1: still one on each side
    assert all(math.isfinite(s) and s > 0 for s in [*f["single_s"], f["folder_s"]])
    assert f["per_file_s"] == pytest.approx(f["folder_s"] / 4, rel=1e-12)
    assert f["per_file_over_single"] == pytest.approx(f["per_file_s"] / statistics.median(f["single_s"]), rel=1e-12)
    assert quick[2]["checks"][-1]["value"] == f["per_file_over_single"]


def test_the_exercise_answer_the_folder_bench_checks_is_a_correct_learners_file(tmp_path):
    from compare.learner import check_backprop
    from compare.learner.load import load_target
    from compare.lesson.exercise_notebook import answer_script

    (tmp_path / "answer.py").write_text(answer_script())
    report = check_backprop(load_target(str(tmp_path / "answer.py")).cls, epochs=0)
    assert report.passed and report.kind == "book", report.table()


def test_without_a_gpu_the_bench_says_so(quick):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU: its cells are timed, not skipped")
    assert quick[2]["gpu"] == {"name": None, "seed": []}
    assert "GPU: no CUDA GPU here, so the twin's GPU epoch was not timed" in quick[3]


def test_the_evaluation_cell_times_both_floors_and_both_twins(quick):
    e = quick[2]["evaluation"]
    assert (e["rows"], e["valid_rows"], e["sizes"]) == (5500, 500, [784, 50, 10])
    assert e["flops"] == 2 * 6000 * (784 * 50 + 50 * 10)
    assert set(e["times"]) == {"floor", "torch_floor", "scratch", "torch"}
    for a, b in (("scratch", "floor"), ("torch", "torch_floor"), ("torch", "floor"), ("torch_floor", "floor")):
        assert e[f"{a}_over_{b}"] == pytest.approx(statistics.median(
            x / y for x, y in zip(e["times"][a], e["times"][b])), rel=1e-12)


def test_seed_network_flops_match_the_hand_count():
    # 784 -> 50 -> 10, batch 100, 550 steps: the five products of the lesson's step, about 8.7 GFLOP.
    per_step = 2 * 100 * (784 * 50 * 2 + 50 * 10 * 3)
    assert epoch_flops([784, 50, 10], 100, 550) == per_step * 550
    assert 8.6e9 < epoch_flops([784, 50, 10], 100, 550) < 8.8e9
    # Every layer above the first also passes its gradient down (delta @ W).
    assert epoch_flops([6, 5, 4, 3], 2, 1) == 2 * 2 * (6 * 5 * 2 + 5 * 4 * 3 + 4 * 3 * 3)


def test_plot_is_a_figure_with_three_panels(quick):
    fig = plot_bench(quick[2])
    assert isinstance(fig, Figure) and len(fig.axes) == 3


def test_crossover_sentence():
    cells = [{"torch_over_scratch": r, "sizes": [784, w, 10]} for r, w in ((3.0, 50), (1.5, 256), (0.8, 1024))]
    assert crossover(cells, lambda c: f"width {c['sizes'][1]}") == \
        "the twins cross over at width 1024: torch is faster from there on"
    assert crossover(cells[:2], lambda c: "x").startswith("no crossover: scratch is faster")


@pytest.mark.parametrize("args, message", [
    (["--rows", "100"], "rows must be at least 512 (the largest batch size)"),
    (["--threads", "-1"], "threads must be >= 0 (0 means all cores), got -1"),
    (["--json", "/nonexistent-folder/b.json"], "folder /nonexistent-folder does not exist"),
])
def test_bad_input_is_one_line_and_exit_2(args, message, capsys):
    assert main(["bench", "--quick", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mlp-compare: error: ") and message in err and len(err.strip().splitlines()) == 1


def test_bad_reps_is_refused_by_the_parser(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["bench", "--reps", "0"])
    assert exc.value.code == 2 and "expected a number >= 1" in capsys.readouterr().err


def test_config_validation():
    with pytest.raises(ValueError, match="reps must be >= 1"):
        BenchConfig(reps=0)
    assert BenchConfig.quick().rows == 5_500 and BenchConfig().rows == 55_000


@pytest.mark.parametrize("sizes, dtype", [([784, 50, 10], "float64"), ([20, 7, 5, 3], "float64"), ([20, 7, 3], "float32")])
def test_the_numpy_limit_trains_exactly_like_scratch(sizes, dtype):
    """The NumPy limit is only a fair reference if it does the same work: same weights after an epoch."""
    import numpy as np

    from compare.bench.epochs import gather_batches, synthetic_data
    from compare.bench.numpy_limit import lean_epoch
    from scratch import MLP
    from scratch.train import train_epoch

    X, y = synthetic_data(400, dtype, features=sizes[0], classes=sizes[-1])
    batches = gather_batches(X, y, 50, seed=3)
    reference, lean = MLP(sizes, seed=9, dtype=np.dtype(dtype)), MLP(sizes, seed=9, dtype=np.dtype(dtype))
    train_epoch(reference, batches, 0.5)
    lean_epoch(lean, batches, 0.5)()
    tol = 1e-13 if dtype == "float64" else 1e-5
    for name, value in reference.state_dict().items():
        assert np.abs(lean.state_dict()[name] - value).max() <= tol, name
    assert not np.array_equal(reference.state_dict()["0.weight"], MLP(sizes, seed=9, dtype=np.dtype(dtype)).state_dict()["0.weight"])


def test_the_numpy_limit_refuses_what_it_does_not_cover():
    import numpy as np

    from compare.bench.numpy_limit import lean_epoch
    from scratch import MLP

    batches = [(np.zeros((4, 3)), np.zeros(4, int))]
    with pytest.raises(ValueError, match="sigmoid, mse"):
        lean_epoch(MLP([3, 2, 2], activation="relu"), batches, 0.1)
    with pytest.raises(ValueError, match="one size"):
        lean_epoch(MLP([3, 2, 2]), batches + [(np.zeros((2, 3)), np.zeros(2, int))], 0.1)


def test_rounds_of_the_twins_apart_and_in_lockstep_drop_the_warm_up():
    from compare.bench.run_cost import twins_apart_and_in_step

    rounds = twins_apart_and_in_step(epochs=2, seed=123, reps=3, pause_s=0.0)
    assert {len(v) for v in rounds.values()} == {3}  # 3 rounds of both 2-epoch trainings, after one more that warms up
    assert all(t > 0 for v in rounds.values() for t in v)


def _gpu_result(quick):
    r = json.loads(json.dumps(quick[2]))
    cpu = next(c for c in r["seed"] if (c["dtype"], c["batch_size"]) == ("float64", 100))
    r["gpu"] = {"name": "NVIDIA H200", "seed": [{"dtype": "float64", "torch_s": cpu["torch_s"] / 4},
                                               {"dtype": "bfloat16", "torch_s": 0.01}]}
    return r, cpu


def test_the_gpu_epochs_stand_beside_the_cpu_ones(quick):
    """What a GPU machine would print, from a made-up GPU cell: no GPU is needed to read the table."""
    from compare.cli.bench import format_table

    r, cpu = _gpu_result(quick)
    table = format_table(r)
    assert "GPU (NVIDIA H200, TF32 off), the torch twin's epoch on the seed network, batch 100:" in table
    assert f"float64: {cpu['torch_s'] / 4:.4f} s on the GPU; on the CPU {cpu['torch_s']:.4f} s (CPU / GPU 4.00x)" in table
    assert "  bfloat16: 0.0100 s on the GPU\n" in table  # no CPU cell to stand beside


def test_a_failed_child_costs_only_the_run_section(quick, tmp_path):
    from compare.bench.run_cost import ChildFailed, timed_child
    from compare.cli.bench import format_table

    with pytest.raises(ChildFailed, match=r"exited with 2: .*error: argument --epochs"):
        timed_child(["-m", "compare", "run", "--epochs", "0", "--out", str(tmp_path / "o")])
    r = {**quick[2], "run": {"error": "python -m compare run exited with 1: boom"}}
    assert "the default run: not measured, a child process failed: python -m compare run exited with 1: boom" in (
        format_table(r))
    r = {**quick[2], "folder": {"error": "python -m compare check exited with 1: boom"}}
    assert "check DIR: not measured, a check failed: python -m compare check exited with 1: boom" in format_table(r)
