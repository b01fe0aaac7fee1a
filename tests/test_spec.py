"""One spec, one set of rules: both twins refuse the same bad specs with the same words."""

import numpy as np
import pytest

from scratch import MLP
from torch_impl import build_model

BAD_SPECS = [
    ({"sizes": 784}, "sizes must be a list of layer widths"),
    ({"sizes": [784]}, "needs at least an input and an output width"),
    ({"sizes": [784, 0, 10]}, "every layer width must be an integer >= 1"),
    ({"sizes": [784, 2.5, 10]}, "every layer width must be an integer >= 1"),
    ({"sizes": [784, True, 10]}, "every layer width must be an integer >= 1"),
    ({"activation": "softplus"}, "activation must be one of"),
    ({"loss": "hinge"}, "loss must be one of"),
    ({"sizes": [784, 50, 1], "loss": "cross_entropy"}, "cross_entropy needs at least 2 output classes"),
    ({"sizes": [784, 50, 1], "loss": "softmax_mse"}, "softmax_mse needs at least 2 output classes"),
]


def _message(build, spec: dict) -> str:
    args = {"sizes": [784, 50, 10], "activation": "sigmoid", "loss": "mse", **spec}
    with pytest.raises(ValueError) as info:
        build(args["sizes"], args["activation"], args["loss"])
    return str(info.value)


@pytest.mark.parametrize(("spec", "words"), BAD_SPECS, ids=[w for _, w in BAD_SPECS])
def test_both_twins_give_the_same_message_for_the_same_bad_spec(spec, words):
    scratch_message, torch_message = _message(MLP, spec), _message(build_model, spec)
    assert words in scratch_message
    assert scratch_message == torch_message


def test_numpy_integer_widths_are_accepted_by_both():
    sizes = list(np.array([784, 50, 10]))
    assert MLP(sizes).sizes == (784, 50, 10)
    assert [m.out_features for m in build_model(sizes) if hasattr(m, "out_features")] == [50, 10]
