"""Divergence stops both twins at the step it happens and says who went first; dead training is named."""

import numpy as np
import pytest

from compare.health import training_health
from compare.lockstep import TrainingStopped, lockstep_train, make_twins
from compare.schedule import BatchSchedule
from scratch import MLP


def test_overflowing_weights_stop_both_twins_with_epoch_and_step(mnist5k):
    twins = make_twins([784, 50, 10], "relu", "cross_entropy", lr=1e200)
    with pytest.raises(TrainingStopped) as exc:
        lockstep_train(twins, mnist5k, epochs=3, batch_size=100, seed=123)
    e = exc.value
    assert e.reason == "diverged" and e.result.epochs_done == 0
    assert e.detail == {"epoch": 1, "step": 2, "first": "both", "steps": {"scratch": 2, "torch": 2}}
    assert str(e).startswith("both twins diverged at epoch 1, step 2 (scratch and torch together)")
    assert "try a smaller --lr" in str(e)


class BlowsUpOnBatch(MLP):
    """A scratch model whose gradient becomes infinite on one given batch, every time it sees it."""

    trigger = None

    def gradients(self, X, y):
        return self.loss_and_gradients(X, y)[1]

    def loss_and_gradients(self, X, y):  # what a training step calls
        loss, g = super().loss_and_gradients(X, y)
        if np.array_equal(X, self.trigger):
            g["0.bias"][:] = np.inf
        return loss, g


def test_the_twin_that_went_first_is_named(mnist5k):
    schedule = BatchSchedule(len(mnist5k.y_train), 100, seed=123)
    schedule.epoch()
    twins = make_twins([784, 50, 10])
    twins.scratch = BlowsUpOnBatch([784, 50, 10])
    twins.scratch.trigger = mnist5k.X_train[schedule.epoch()[4]]  # epoch 2, step 5
    with pytest.raises(TrainingStopped) as exc:
        lockstep_train(twins, mnist5k, epochs=3, batch_size=100, seed=123)
    e = exc.value
    assert e.result.epochs_done == 1 and len(e.result.history["torch"]) == 1  # epoch 1 is kept
    assert e.detail["first"] == "scratch" and e.detail["epoch"] == 2 and e.detail["step"] == 5
    assert e.detail["steps"]["torch"] is None
    assert "the scratch twin diverged at epoch 2, step 5 (torch stayed finite)" in str(e)


def test_interrupt_keeps_the_finished_epochs(mnist5k):
    calls = []

    def progress(epoch):
        calls.append(epoch)
        if epoch == 2:
            raise KeyboardInterrupt

    with pytest.raises(TrainingStopped) as exc:
        lockstep_train(make_twins([784, 50, 10]), mnist5k, epochs=5, batch_size=100, seed=1, progress=progress)
    assert exc.value.reason == "interrupted" and exc.value.result.epochs_done == 2
    assert str(exc.value) == "interrupted after 2 of 5 epochs"


def test_a_huge_learning_rate_saturates_and_is_called_useless(mnist5k):
    twins = make_twins([784, 50, 10], lr=10000)
    result = lockstep_train(twins, mnist5k, epochs=2, batch_size=100, seed=123)
    last = result.history["scratch"][-1]
    assert last["loss"] == 1.0 and last["train_acc"] == pytest.approx(0.1)
    health = training_health(twins.scratch, result.history["scratch"], mnist5k.X_valid, mnist5k.y_train, 10000)
    assert health["useless"] and health["saturated_fraction"] > 0.9 and health["chance_acc"] == 0.1
    assert "chance level is 0.10" in health["warning"] and "lower the learning rate" in health["warning"]
    assert "of the hidden units' activations are saturated" in health["warning"]


def test_normal_training_is_not_called_useless(mnist5k):
    twins = make_twins([784, 50, 10])
    result = lockstep_train(twins, mnist5k, epochs=2, batch_size=100, seed=123)
    health = training_health(twins.scratch, result.history["scratch"], mnist5k.X_valid, mnist5k.y_train, 0.1)
    assert not health["useless"] and health["warning"] == ""
