"""One agreement policy: the run and the check part when a twin is wrong, and blame nothing that rounding explains.

A wrong twin is planted through the optimiser seam (``optimizer(net, lr)``), never by monkeypatching.
"""

from pathlib import Path

import numpy as np
import pytest
import torch

from compare.agreement.envelope import envelope_steps
from compare.agreement.policy import FACTOR, agreed_within_floor, judge, within_floor
from compare.cli.run import report_outcome
from compare.config import RunConfig
from compare.data.schedule import BatchSchedule
from compare.learner import check_backprop, load_target
from compare.learner.adapt import subject
from compare.learner.train import train_lockstep
from compare.run import run_comparison
from scratch import NeuralNetMLP

LEARNERS = Path(__file__).resolve().parent / "learners"


def sgd_times(factor: float):
    """An optimiser factory for a twin whose learning rate is ``factor`` times the run's."""
    return lambda net, lr: torch.optim.SGD(net.parameters(), lr=lr * factor)


def run(tmp_path, optimizer=None, **config):
    m = run_comparison(RunConfig(**config), tmp_path / "out", optimizer=optimizer)
    return m, report_outcome(m, tmp_path / "out")


# --- the policy on its own ------------------------------------------------------------------------------

def test_the_floor_is_the_dtypes_tolerance_relative_to_the_weights():
    assert within_floor([1e-17, 9e-11], [1.0, 1.0], "float64") and not within_floor([2e-10], [1.0], "float64")
    assert within_floor([9e-5], [1.0], "float32") and not within_floor([np.nan], [1.0], "float64")


def test_a_gap_beyond_the_envelope_parts_and_one_within_it_agrees():
    env = [(1e-15, 1.0), (1e-13, 1.0), (1e-11, 1.0)]
    inside = judge(iter([(1e-16, 1.0), (5e-12, 1.0), (9e-10, 1.0)]), iter(env), "float64", steps=3, lr=1,
                   batch_size=10, steps_per_epoch=2)
    assert inside.passed and inside.envelope_measured and inside.chaotic_from is None
    outside = judge(iter([(1e-16, 1.0), (5e-12, 1.0), (FACTOR * 1.1e-11 + 1e-9, 1.0)]), iter(env), "float64",
                    steps=3, lr=1, batch_size=10, steps_per_epoch=2)
    assert not outside.passed and outside.parted_at == 3 and "epoch 2, step 1 (step 3 overall)" in outside.summary()


def test_where_the_envelope_explodes_nothing_beyond_is_blamed():
    env = [(1e-15, 1.0), (1e-2, 1.0), (1.0, 1.0)]
    a = judge(iter([(0.0, 1.0), (5.0, 1.0), (9.0, 1.0)]), iter(env), "float64", steps=3, lr=2, batch_size=10,
              steps_per_epoch=3)
    assert a.passed and a.chaotic_from == 2 and a.compared_through == 1
    assert "training amplifies rounding" in a.summary() and "nothing beyond is blamed" in a.summary()


def test_the_envelope_of_a_calm_run_stays_at_rounding_and_explodes_at_lr_2_batch_10(mnist5k):
    model = NeuralNetMLP(784, 50, 10)
    start = {"0.weight": model.weight_h, "0.bias": model.bias_h, "2.weight": model.weight_out,
             "2.bias": model.bias_out}
    for lr, batch, top in ((0.1, 100, 1e-13), (2.0, 10, 1e-1)):
        batches = BatchSchedule(len(mnist5k.y_train), batch, 123).epoch()
        gaps = [g for g, _ in envelope_steps([784, 50, 10], "sigmoid", "mse", np.float64, start, mnist5k.X_train,
                                             mnist5k.y_train, batches, lr)]
        assert (gaps[-1] < top) if lr < 1 else (gaps[-1] > top), (lr, batch, gaps[-1])
        assert gaps[0] > 0 and all(np.diff(gaps) >= 0)


def test_the_envelope_trains_with_the_twins_penalty(mnist5k):
    """With --l2 λ the twin's optim.SGD has weight_decay 2λ: the envelope's runs take the same steps."""
    import torch

    import torch_impl
    from torch_impl.train import train_step
    model = NeuralNetMLP(784, 50, 10)
    start = {"0.weight": model.weight_h, "0.bias": model.bias_h, "2.weight": model.weight_out,
             "2.bias": model.bias_out}
    batches = BatchSchedule(len(mnist5k.y_train), 100, 123).epoch()[:5]
    net = torch_impl.build_model([784, 50, 10]).double()
    net.load_state_dict({k: torch.from_numpy(v) for k, v in start.items()})
    named = list(net.named_parameters())
    sgd = torch.optim.SGD([{"params": [p for k, p in named if k.endswith("weight")], "weight_decay": 2 * 0.05},
                           {"params": [p for k, p in named if k.endswith("bias")]}], lr=0.5)
    scales = [s for _, s in envelope_steps([784, 50, 10], "sigmoid", "mse", np.float64, start, mnist5k.X_train,
                                           mnist5k.y_train, batches, 0.5, l2=0.05)]
    for idx, scale in zip(batches, scales):
        train_step(net, torch_impl.squared_error_loss, sgd, torch.from_numpy(mnist5k.X_train[idx]),
                              torch.from_numpy(mnist5k.y_train[idx]))
        assert scale == pytest.approx(max(float(p.detach().abs().max()) for p in net.parameters()), rel=1e-12)


def test_agreed_within_floor_reads_as_agreement():
    a = agreed_within_floor(3e-16, "float64", steps=1750, lr=0.1, batch_size=100, steps_per_epoch=35)
    assert a.passed and a.as_dict()["summary"].startswith("agree: weights at most 3e-16 apart over 1750 steps")


# --- mlp-compare run ------------------------------------------------------------------------------------

def test_run_exits_1_when_the_twin_trains_at_three_times_the_learning_rate(tmp_path, capsys):
    m, code = run(tmp_path, sgd_times(3.0), epochs=2)
    a = m["agreement"]
    assert code == 1 and not a["passed"] and a["parted_at"] == 1, a
    out, err = capsys.readouterr()
    assert "training: PARTED at epoch 1, step 1" in out and "the twins parted" in err


def test_run_catches_a_learning_rate_off_by_one_part_in_a_million(tmp_path):
    m, code = run(tmp_path, sgd_times(1 + 1e-6))   # the default run: 50 epochs at lr 0.1, batch 100
    assert code == 1 and not m["agreement"]["passed"], m["agreement"]
    assert m["agreement"]["envelope_measured"]


def test_the_default_run_agrees_without_measuring_the_envelope(tmp_path, capsys):
    m, code = run(tmp_path, epochs=3)
    assert code == 0 and m["agreement"]["passed"] and not m["agreement"]["envelope_measured"]
    assert "training: agree: weights at most" in capsys.readouterr().out
    assert "agree: weights at most" in (tmp_path / "out" / "report.html").read_text()


def test_run_where_training_amplifies_rounding_exits_0_saying_how_far_it_compared(tmp_path):
    m, code = run(tmp_path, epochs=2, lr=2.0, batch_size=10)
    a = m["agreement"]
    assert code == 0 and a["passed"] and a["chaotic_from"] is not None, a
    assert 0 < a["compared_through"] < a["steps"] and "amplifies rounding" in a["summary"]
    assert max(m["max_weight_diff"]) > 0.1   # the twins really did end far apart
    assert a["note"] == ""   # the step-by-step replay repeated the run's own gaps exactly


# --- mlp-compare check ----------------------------------------------------------------------------------

def learner(name: str, seed: int = 123):
    target = load_target(str(LEARNERS / name))
    return subject(target.cls, target.file, (784, 50, 10), seed, np.dtype("float64")).make()


def test_check_lockstep_catches_a_learning_rate_off_by_one_part_in_a_million(mnist5k):
    result = train_lockstep(learner("book_mlp.py"), mnist5k, 5, 100, 0.1, 123, optimizer=sgd_times(1 + 1e-6))
    assert result.agreement is not None and not result.agreement.passed, result.agreement
    fine = train_lockstep(learner("book_mlp.py"), mnist5k, 5, 100, 0.1, 123)
    assert fine.agreement.passed and not fine.agreement.envelope_measured


def test_the_lessons_class_passes_at_lr_2_batch_10(mnist5k):
    report = check_backprop(NeuralNetMLP, data=mnist5k, epochs=1, lr=2.0, batch_size=10)
    assert report.passed, report.table()
    assert report.training.agreement.chaotic_from is not None


# correct twins must never be blamed, whatever the network, the dtype or the thread count
RUNS = [("tanh", "cross_entropy", "float64", 3.0, 32, 7), ("tanh", "cross_entropy", "float32", 3.0, 10, 1),
        ("tanh", "cross_entropy", "float64", 3.0, 32, 1), ("relu", "mse", "float64", 3.0, 10, 7),
        ("relu", "cross_entropy", "float32", 0.5, 10, 1), ("sigmoid", "cross_entropy", "float64", 3.0, 32, 1)]


@pytest.mark.slow
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize(("activation", "loss", "dtype", "lr", "batch", "seed"), RUNS,
                         ids=["-".join(map(str, r)) for r in RUNS])
def test_no_false_parting_for_correct_twins(tmp_path, activation, loss, dtype, lr, batch, seed, threads):
    m, code = run(tmp_path, epochs=2, activation=activation, loss=loss, dtype=dtype, lr=lr, batch_size=batch,
                  seed=seed, threads=threads)
    assert code == 0 and m["agreement"]["passed"], m["agreement"]["summary"]


# a correct class must never be blamed, wherever training takes it
GRID = [(lr, batch, dtype) for lr in (0.1, 1.0, 2.0, 4.0) for batch in (10, 100) for dtype in ("float64", "float32")]


@pytest.mark.slow
@pytest.mark.parametrize(("lr", "batch", "dtype"), GRID, ids=[f"lr{a}-b{b}-{c}" for a, b, c in GRID])
def test_no_false_blame_for_correct_classes(mnist5k, lr, batch, dtype):
    for cls in (NeuralNetMLP, load_target(str(LEARNERS / "book_mlp.py")).cls):
        report = check_backprop(cls, data=mnist5k, epochs=2, lr=lr, batch_size=batch, dtype=dtype)
        assert report.passed, report.table()
