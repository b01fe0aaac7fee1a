"""Both twins, same init, same batches: the loss and every parameter agree after every step."""

import copy

import numpy as np
import pytest
import torch

from compare.data.schedule import BatchSchedule
from compare.twins.lockstep import TorchData, lockstep_steps, lockstep_train, make_twins, predict_test_set
from compare.twins.transfer import max_weight_diff, scratch_to_torch, torch_state_numpy, torch_to_scratch
from scratch import MLP, minibatch_generator, train_epoch
from scratch.train import history_row as scratch_history_row
from torch_impl.train import history_row as torch_history_row


class RecordingSchedule(BatchSchedule):
    """A batch schedule that keeps every epoch of batches it hands out."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.handed_out: list[list[np.ndarray]] = []

    def epoch(self) -> list[np.ndarray]:
        batches = super().epoch()
        self.handed_out.append(batches)
        return batches


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
    assert not np.array_equal(np.concatenate(e1), np.concatenate(BatchSchedule(1000, 100, seed=6).epoch()))
    assert sorted(np.concatenate(e1)) == list(range(1000))
    assert len(BatchSchedule(1050, 100, seed=5).epoch()) == 10  # the partial tail is dropped


def test_schedule_matches_the_lessons_generator_with_the_same_rng():
    X, y = np.zeros((30, 1)), np.arange(30)
    ours = BatchSchedule(30, 7, seed=3).epoch()
    lesson = [yb for _, yb in minibatch_generator(X, y, 7, rng=BatchSchedule(30, 7, seed=3).rng)]
    assert all(np.array_equal(a, b) for a, b in zip(ours, lesson)) and len(ours) == len(lesson)


def test_training_uses_one_schedule_epoch_per_epoch_and_nothing_else(mnist5k):
    """The book's evaluation shuffles with the training RNG, shifting every later batch. Here the
    twins train on exactly the batches the schedule hands out, one epoch of them per epoch, and
    nothing else (evaluation included) draws from the schedule's generator."""
    X, y = mnist5k.X_train, mnist5k.y_train
    schedule = RecordingSchedule(len(y), 100, seed=11)
    untouched = copy.deepcopy(schedule)  # the same generator state, never seen by training
    twins = make_twins([784, 50, 10])
    lockstep_train(twins, mnist5k, epochs=2, batch_size=100, seed=11, schedule=schedule)
    expected = [untouched.epoch(), untouched.epoch()]
    assert len(schedule.handed_out) == 2
    for got, want in zip(schedule.handed_out, expected):
        assert len(got) == len(want) == 35 and all(np.array_equal(a, b) for a, b in zip(got, want))
    assert np.array_equal(schedule.epoch()[0], untouched.epoch()[0])  # no draw after the last epoch either
    reference = MLP([784, 50, 10])  # the scratch twin's start, stepped through exactly those batches
    for batches in expected:
        train_epoch(reference, ((X[i], y[i]) for i in batches), 0.1)
    for name, value in reference.state_dict().items():
        np.testing.assert_array_equal(twins.scratch.state_dict()[name], value, err_msg=name)


def test_a_schedule_for_other_data_is_refused(mnist5k):
    with pytest.raises(ValueError, match="^the schedule must cut 3500 training examples into batches of 100, "
                                         "got 3500 examples in batches of 50; build it from the same data$"):
        lockstep_train(make_twins([784, 8, 10]), mnist5k, epochs=1, batch_size=100, seed=1,
                       schedule=BatchSchedule(len(mnist5k.y_train), 50, seed=1))
    with pytest.raises(ValueError, match="got 600 examples in batches of 100"):
        lockstep_train(make_twins([784, 8, 10]), mnist5k, epochs=1, batch_size=100, seed=1,
                       schedule=BatchSchedule(600, 100, seed=1))


def test_twins_that_differ_are_reported_as_different(mnist5k):
    """The comparison must be able to see a gap: start the twin from other weights and every number
    each side reports is that side's own, not a copy of the other's."""
    X, y = mnist5k.X_train[:600], mnist5k.y_train[:600]
    twins = make_twins([784, 20, 10])
    scratch_to_torch(MLP([784, 20, 10], seed=7), twins.net)
    steps = list(lockstep_steps(twins, X, y, BatchSchedule(len(y), 100, seed=3).epoch()))
    *_, w_s, w_t = steps[-1]
    assert all(abs(loss_s - loss_t) > 1e-3 for loss_s, loss_t, _, _ in steps)
    assert max(np.abs(w_s[k] - w_t[k]).max() for k in w_s) > 1e-2
    for name, value in torch_state_numpy(twins.net).items():
        np.testing.assert_array_equal(w_t[name], value, err_msg=name)
        np.testing.assert_array_equal(w_s[name], twins.scratch.state_dict()[name], err_msg=name)

    twins = make_twins([784, 20, 10])
    scratch_to_torch(MLP([784, 20, 10], seed=7), twins.net)
    result = lockstep_train(twins, mnist5k, epochs=1, batch_size=100, seed=3)
    d, t = mnist5k, TorchData.from_dataset(mnist5k, twins.device)
    assert result.history["scratch"] == [scratch_history_row(1, twins.scratch, d.X_train, d.y_train, d.X_valid,
                                                             d.y_valid)]
    assert result.history["torch"] == [torch_history_row(1, twins.net, t.X_train, t.y_train, t.X_valid, t.y_valid,
                                                         "mse")]
    assert abs(result.history["scratch"][0]["loss"] - result.history["torch"][0]["loss"]) > 1e-3
    assert result.max_weight_diff == [max_weight_diff(twins.scratch, twins.net)] and result.max_weight_diff[0] > 1e-2
    preds = predict_test_set(twins, mnist5k, t)
    with torch.no_grad():
        np.testing.assert_array_equal(preds["torch"], twins.net(t.X_test).argmax(dim=1).numpy())
    np.testing.assert_array_equal(preds["scratch"], twins.scratch.forward(d.X_test).argmax(axis=1))
    assert np.count_nonzero(preds["scratch"] != preds["torch"]) > 10


@pytest.mark.parametrize("where, done", [("scratch_history_row", 1), ("torch_history_row", 1),
                                         ("max_weight_diff", 1), ("progress", 2)])
def test_ctrl_c_keeps_only_whole_epochs_and_their_weights(mnist5k, monkeypatch, where, done):
    """Ctrl-C can land anywhere in an epoch's bookkeeping; what survives is whole epochs and the
    weights they ended with, never one twin's row without the other's. In epoch 2's bookkeeping
    it keeps epoch 1; once epoch 2 is recorded (the progress callback) it keeps both."""
    import compare.twins.lockstep as lockstep
    from compare.twins.lockstep import TrainingStopped

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


def test_an_epoch_recorded_for_one_twin_only_is_dropped_and_its_weights_rolled_back():
    """Ctrl-C can land between the appends that record an epoch (a signal is handled between any two
    bytecodes): what is kept is the epochs both twins and the weight gap recorded, and the weights the
    first unrecorded epoch started from."""
    from compare.twins.lockstep import LockstepResult, _keep_finished_epochs, _snapshot

    twins = make_twins([6, 4, 3], seed=2)
    start = _snapshot(twins)
    for value in twins.scratch.state_dict().values():
        value += 1.0  # the weights some unrecorded epoch 2 left behind
    with torch.no_grad():
        for p in twins.net.parameters():
            p += 1.0
    result = LockstepResult()
    result.history["scratch"] += [{"epoch": 1}, {"epoch": 2}]
    result.history["torch"] += [{"epoch": 1}, {"epoch": 2}]
    result.max_weight_diff.append(0.0)
    _keep_finished_epochs(twins, result, (2, start))
    assert result.history == {"scratch": [{"epoch": 1}], "torch": [{"epoch": 1}]} and result.epochs_done == 1
    for name, value in start[0].items():
        np.testing.assert_array_equal(twins.scratch.state_dict()[name], value)
    for name, value in start[1].items():
        assert torch.equal(twins.net.state_dict()[name], value), name
