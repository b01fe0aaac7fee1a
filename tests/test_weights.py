"""Weights out and back in, across the twins; pickled objects beyond plain tensors are refused."""

import pickle

import numpy as np
import pytest
import torch

from compare.twins.lockstep import make_twins
from compare.twins.transfer import max_weight_diff
from compare.twins.weights import load_scratch_weights, load_torch_weights, save_weights
from scratch import MLP


def test_round_trip_and_cross_load(tmp_path):
    twins = make_twins([784, 20, 10], seed=3)
    twins.scratch.state_dict()["0.bias"][:] = 0.25  # make the twins differ so the test means something
    save_weights(twins.scratch, twins.net, tmp_path)
    s, t = load_scratch_weights(tmp_path / "scratch.npz"), load_torch_weights(tmp_path / "torch.pt")
    assert list(s) == list(twins.scratch.state_dict()) == list(t)
    for k in s:
        np.testing.assert_array_equal(s[k], twins.scratch.state_dict()[k])
        assert torch.equal(t[k], twins.net.state_dict()[k])
    # Cross-load into fresh twins that start elsewhere (seed 99), so a load that does nothing fails.
    fresh = MLP([784, 20, 10], seed=99)
    assert max_weight_diff(fresh, twins.net) > 0
    fresh.load_state_dict({k: v.numpy() for k, v in t.items()})  # torch's weights into scratch
    assert max_weight_diff(fresh, twins.net) == 0.0
    net = make_twins([784, 20, 10], seed=99).net
    assert max_weight_diff(twins.scratch, net) > 0
    net.load_state_dict({k: torch.from_numpy(v) for k, v in s.items()})  # scratch's weights into torch
    assert max_weight_diff(twins.scratch, net) == 0.0
    assert max_weight_diff(twins.scratch, twins.net) > 0  # the two files really held different weights


def test_pickles_are_refused(tmp_path):
    evil = tmp_path / "evil.pt"
    evil.write_bytes(pickle.dumps({"0.weight": object()}, protocol=2))
    with pytest.raises(ValueError, match="is not a plain torch state dict"):
        load_torch_weights(evil)
    np.save(tmp_path / "obj.npy", np.array([object()]), allow_pickle=True)
    (tmp_path / "obj.npy").rename(tmp_path / "obj.npz")
    with pytest.raises(ValueError, match="is not a NumPy .npz of plain arrays"):
        load_scratch_weights(tmp_path / "obj.npz")
    with pytest.raises(ValueError, match="does not exist"):
        load_scratch_weights(tmp_path / "missing.npz")
