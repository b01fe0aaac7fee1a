"""Both twins, same init, same batches: the loss and every parameter agree after every step."""

import numpy as np
import pytest
import torch

from compare.lockstep import lockstep_steps, lockstep_train, make_twins
from compare.schedule import BatchSchedule
from compare.transfer import max_weight_diff, scratch_to_torch, torch_state_numpy, torch_to_scratch
from scratch import MLP, minibatch_generator


def test_twin_starts_from_the_scratch_weights():
    twins = make_twins([784, 50, 10])
    assert max_weight_diff(twins.scratch, twins.net) == 0.0
    assert list(torch_state_numpy(twins.net)) == list(twins.scratch.state_dict())


def test_weight_transfer_both_ways():
    twins = make_twins([6, 5, 4, 3], activation="tanh", seed=5)
    other = MLP([6, 5, 4, 3], activation="tanh", seed=99)
    torch_to_scratch(twins.net, other)
    assert max_weight_diff(other, twins.net) == 0.0
    scratch_to_torch(MLP([6, 5, 4, 3], seed=1), twins.net)
    assert max_weight_diff(MLP([6, 5, 4, 3], seed=1), twins.net) == 0.0


@pytest.mark.parametrize("dtype, loss_tol, weight_tol", [(np.float64, 1e-12, 1e-13), (np.float32, 1e-5, 1e-5)])
def test_every_step_agrees(mnist5k, dtype, loss_tol, weight_tol):
    X, y = mnist5k.X_train[:600].astype(dtype), mnist5k.y_train[:600]
    twins = make_twins([784, 50, 10], dtype=dtype, lr=0.1)
    schedule = BatchSchedule(len(y), 50, seed=123)
    batches = schedule.epoch() + schedule.epoch()  # two epochs, 24 steps
    steps = 0
    for loss_s, loss_t, w_s, w_t in lockstep_steps(twins, X, y, batches):
        steps += 1
        assert loss_s == pytest.approx(loss_t, rel=loss_tol), f"step {steps}"
        assert list(w_s) == list(w_t)
        for name in w_s:
            np.testing.assert_allclose(w_s[name], w_t[name], rtol=0, atol=weight_tol, err_msg=f"step {steps} {name}")
    assert steps == 24


def test_lockstep_train_histories_agree(mnist5k):
    twins = make_twins([784, 50, 10])
    result = lockstep_train(twins, mnist5k, epochs=3, batch_size=100, seed=123)
    assert result.epochs_done == 3 and len(result.history["scratch"]) == 3
    for s, t in zip(result.history["scratch"], result.history["torch"]):
        assert s["epoch"] == t["epoch"]
        for key in ("loss", "mse", "train_acc", "valid_acc"):
            assert abs(s[key] - t[key]) <= 1e-12, (s, t)
        assert s["loss"] == pytest.approx(10 * s["mse"], rel=1e-12)  # the 10x relation of the mse loss
    assert max(result.max_weight_diff) <= 1e-13
    assert result.history["scratch"][-1]["loss"] < result.history["scratch"][0]["loss"]


def test_schedule_is_seeded_and_covers_every_example_once_per_epoch():
    a, b = BatchSchedule(1000, 100, seed=5), BatchSchedule(1000, 100, seed=5)
    e1, e2 = a.epoch(), a.epoch()
    assert all(np.array_equal(x, z) for x, z in zip(e1, b.epoch()))
    assert not all(np.array_equal(x, z) for x, z in zip(e1, e2))  # a new permutation each epoch
    assert sorted(np.concatenate(e1)) == list(range(1000))
    assert len(BatchSchedule(1050, 100, seed=5).epoch()) == 10  # the partial tail is dropped


def test_schedule_matches_the_lessons_generator_with_the_same_rng():
    X, y = np.zeros((30, 1)), np.arange(30)
    ours = BatchSchedule(30, 7, seed=3).epoch()
    lesson = [yb for _, yb in minibatch_generator(X, y, 7, rng=BatchSchedule(30, 7, seed=3).rng)]
    assert all(np.array_equal(a, b) for a, b in zip(ours, lesson)) and len(ours) == len(lesson)


def test_evaluation_does_not_move_the_batch_order(mnist5k):
    """The book's evaluation shuffles with the global RNG; ours never draws from the schedule."""
    twins = make_twins([784, 50, 10])
    lockstep_train(twins, mnist5k, epochs=2, batch_size=100, seed=11)
    expected = BatchSchedule(len(mnist5k.y_train), 100, seed=11)
    expected.epoch(), expected.epoch()
    fresh = BatchSchedule(len(mnist5k.y_train), 100, seed=11)
    np.random.seed(0)  # touching the global RNG changes nothing either
    fresh.epoch(), fresh.epoch()
    assert np.array_equal(expected.epoch()[0], fresh.epoch()[0])


@pytest.mark.parametrize("where, done", [("scratch_history_row", 1), ("torch_history_row", 1),
                                         ("max_weight_diff", 1), ("progress", 2)])
def test_ctrl_c_keeps_only_whole_epochs_and_their_weights(mnist5k, monkeypatch, where, done):
    """Ctrl-C can land anywhere in an epoch's bookkeeping; what survives is whole epochs and the
    weights they ended with, never one twin's row without the other's. In epoch 2's bookkeeping
    it keeps epoch 1; once epoch 2 is recorded (the progress callback) it keeps both."""
    import compare.lockstep as lockstep
    from compare.lockstep import TrainingStopped

    reference = make_twins([784, 8, 10], seed=4)
    lockstep_train(reference, mnist5k, epochs=done, batch_size=500, seed=2)

    calls = []

    def interrupted_on_second_epoch(real):
        def call(*args, **kwargs):
            calls.append(1)
            if len(calls) == 2:
                raise KeyboardInterrupt
            return real(*args, **kwargs)
        return call

    progress = None
    if where == "progress":
        progress = interrupted_on_second_epoch(lambda epoch: None)
    else:
        monkeypatch.setattr(lockstep, where, interrupted_on_second_epoch(getattr(lockstep, where)))
    twins = make_twins([784, 8, 10], seed=4)
    with pytest.raises(TrainingStopped) as stop:
        lockstep_train(twins, mnist5k, epochs=3, batch_size=500, seed=2, progress=progress)
    result = stop.value.result
    assert stop.value.reason == "interrupted" and str(stop.value) == f"interrupted after {done} of 3 epochs"
    assert result.epochs_done == len(result.history["scratch"]) == len(result.history["torch"]) == done
    for name, value in reference.scratch.state_dict().items():
        np.testing.assert_array_equal(twins.scratch.state_dict()[name], value)
    for name, value in reference.net.state_dict().items():
        assert torch.equal(twins.net.state_dict()[name], value), name
