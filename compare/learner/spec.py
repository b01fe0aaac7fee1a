"""What a learner's class is checked as: the network their forward computes, the penalty asked for, and the
non-zero biases every check runs at.

- ``with_nonzero_biases``: the checks' starting point, every term of forward present;
- ``their_network``: the network found from their forward (``network.found_network``), the loss a softmax
  output's backward differentiates (``network.softmax_loss``), and logits under the book's backward read as
  a sigmoid left out;
- ``as_checked``: a maker of learners that carry both (their hidden units and output, ``--l2``).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .blame import LearnerRaised
from .network import LOSS_OF, Network, book_delta_fits, found_network, softmax_loss
from .returns import BadReturn

LOGITS_AS_SIGMOID = ("your a_out has no output activation (logits), but your backward is the book's sigmoid + "
                     "squared-error one: checked with sigmoid outputs and squared error")


def with_nonzero_biases(learner, seed: int):
    """``learner`` with every bias set to a seeded normal(0, 0.1) draw, through its own attributes.

    The book starts its biases at zero, where a forward that leaves a bias out cannot be told from one
    that adds it: the checks run where every parameter matters. Training starts from the zero biases.
    """
    rng = np.random.default_rng([seed, 0xB1A5])
    state = {k: (rng.normal(0.0, 0.1, v.shape).astype(v.dtype) if k.endswith("bias") else v.copy())
             for k, v in learner.state_dict().items()}
    learner.load_state_dict(state)
    return learner


def _with_loss(network: Network, loss: str) -> Network:
    return dataclasses.replace(network, loss="" if loss == LOSS_OF["softmax"] else loss)


def their_network(first, make, batch: tuple[np.ndarray, np.ndarray], seed: int, loss: str | None = None
                  ) -> tuple[Network | None, str]:
    """``(the network their forward computes, or None for the book's, a note on what was found or assumed)``;
    the forward check says what differs from the book's where nothing fits.

    Under a softmax output, the loss is the one their backward differentiates (``network.softmax_loss``), or
    ``loss`` when one is asked for (an exercise that names its loss). An
    output left as logits whose backward is the book's sigmoid + squared-error one (read from their output
    bias's gradient) means a sigmoid was meant: the book's output is assumed, and the forward check says the
    sigmoid is missing.
    """
    X, y = batch
    try:
        network = found_network(with_nonzero_biases(first, seed), X)
    except (LearnerRaised, BadReturn):   # the checks say so, in their words
        return None, ""
    if network is None or network.output == "sigmoid":
        return network, ""
    try:
        learner = with_nonzero_biases(make(), seed)
        outputs, grads = learner.forward(X), learner.gradients(X, y)
    except (LearnerRaised, BadReturn):   # their backward fails: the gradient check says so, on this network
        return network, ""
    a_out, d_weight_out, d_bias_out = outputs["a_out"], grads[learner.order[0]], grads[learner.order[1]]
    if network.output == "softmax":
        if loss is not None:
            loss_words = "softmax + cross-entropy" if loss == "cross_entropy" else "softmax + squared error"
            return _with_loss(network, loss), f"checked against {loss_words}, as asked"
        found, note = softmax_loss(outputs[learner.outputs[-2]], a_out, y, d_weight_out, d_bias_out, learner.dtype)
        return _with_loss(network, found), note
    if not book_delta_fits(a_out, y, d_bias_out, learner.dtype):
        return network, ""
    return dataclasses.replace(network, output="sigmoid"), LOGITS_AS_SIGMOID


def as_checked(make, network: Network | None, l2: float):
    """``make`` whose learners the twin is built to match: their hidden units and output, and ``l2`` ‖W‖²
    added to the twin's loss."""
    def made():
        learner = make()
        if network is not None and not network.is_book:
            learner.use(network)
        learner.l2 = l2
        return learner
    return made
