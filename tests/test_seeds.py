"""One child stream of the seed per purpose: the split, the batch order and the checked batch never share
draws, so a longer run cannot move the split and another validation size cannot move the batch order."""

import numpy as np

from compare.data import seeds
from compare.data.load import EMBEDDED_TEST_SIZE, gradient_check_batch, load_embedded_mnist, stratified_indices
from compare.data.schedule import BatchSchedule


def test_every_purpose_draws_from_its_own_child_of_the_seed():
    draws = {p: seeds.rng(5, p).random(4) for p in seeds.PURPOSES}
    assert len({d.tobytes() for d in draws.values()}) == len(seeds.PURPOSES)
    children = np.random.SeedSequence(5).spawn(len(seeds.PURPOSES))  # the children spawn hands out, in order
    for purpose, k in seeds.PURPOSES.items():
        np.testing.assert_array_equal(draws[purpose], np.random.default_rng(children[k]).random(4))


def test_batch_order_draws_from_the_schedule_stream_whatever_the_split_size():
    # 3,500 and 3,600 training rows: the default split and one with 100 fewer validation examples.
    for n in (3500, 3600):
        expected = seeds.rng(5, "schedule").permutation(n)[:100]
        np.testing.assert_array_equal(BatchSchedule(n, 100, seed=5).epoch()[0], expected)
    assert BatchSchedule(3500, 100, seed=5).rng.random(4).tolist() != seeds.rng(5, "split").random(4).tolist()


def test_split_draws_from_the_split_stream_and_the_test_hold_out_from_a_fixed_one(mnist5k):
    """Rebuilt from the streams alone: nothing else (the batch order, the epochs) can have moved it."""
    images, labels = load_embedded_mnist()
    rest, test = stratified_indices(labels, EMBEDDED_TEST_SIZE, seeds.holdout_rng())
    train, valid = stratified_indices(labels[rest], 500, seeds.rng(123, "split"))
    np.testing.assert_array_equal(mnist5k.y_test, labels[test])
    np.testing.assert_array_equal(mnist5k.y_train, labels[rest][train])
    np.testing.assert_array_equal(mnist5k.y_valid, labels[rest][valid])
    np.testing.assert_array_equal(mnist5k.X_valid[:3], (images[rest][valid][:3].reshape(3, -1) / 255 - 0.5) * 2)


def test_checked_batch_draws_from_its_own_stream():
    y = np.repeat(np.arange(10), 50)
    order = seeds.rng(9, "gradient_check").permutation(len(y))  # its first draw ranks the examples
    batch = gradient_check_batch(y, 10, seed=9)
    # one example per class: the first of each class in that order
    first = {}
    for i in order:
        first.setdefault(int(y[i]), int(i))
    assert sorted(batch.tolist()) == sorted(first.values())
