"""exercise.ipynb's PyTorch side: each answer cell's text, run as written, passes its check; each classic
first-PyTorch mistake fails it with the words that name it."""

import pytest

from compare.lesson.exercise_torch import EVALUATE, LOSS, NETWORK, SETUP, STEP, STUB_BODY
from compare.lesson.grade import ExerciseFailed
from compare.lesson.grade_torch import check_evaluate, check_loss, check_network, check_step


@pytest.fixture(scope="module")
def data():
    from compare.data.load import load_dataset

    return load_dataset("mnist-5k", seed=123)


def answers(**replace) -> dict:
    """The notebook's answer cells run as written, with ``replace = {old: new}`` applied to their text."""
    text = SETUP + "\n\n" + "\n\n".join(head + answer for head, answer in (NETWORK, LOSS, STEP, EVALUATE))
    for old, new in replace.items():
        assert old in text, old
        text = text.replace(old, new)
    namespace: dict = {}
    exec(compile(text, "<exercise answers>", "exec"), namespace)  # noqa: S102  the notebook's own cells
    return namespace


def test_the_answers_pass_every_check(data):
    ns = answers()
    check_network(ns["make_network"], data)
    check_loss(ns["loss_function"], data)
    check_step(ns["train_step"], ns["make_network"], data)
    assert check_evaluate(ns["evaluate"], data) == pytest.approx(0.102, abs=0.05)


def fails(check, *args) -> str:
    with pytest.raises(ExerciseFailed) as e:
        check(*args)
    return str(e.value)


def test_a_float32_network_is_told_about_float64_digits(data):
    ns = answers(**{"nn.Sigmoid()).double()": "nn.Sigmoid())"})
    said = fails(check_network, ns["make_network"], data)
    assert said.startswith("your network's parameters are float32, the digits float64") and ".double()" in said


def test_a_network_without_its_last_sigmoid_is_told_so(data):
    ns = answers(**{"nn.Linear(50, 10), nn.Sigmoid()).double()": "nn.Linear(50, 10)).double()"})
    assert "It gives z_out itself: end with nn.Sigmoid()" in fails(check_network, ns["make_network"], data)


def test_nn_mse_loss_is_the_10x_trap(data):
    ns = answers(**{"    return ((output - onehot) ** 2).sum(dim=1).mean()":
                    "    return nn.MSELoss()(output, onehot)"})
    said = fails(check_loss, ns["loss_function"], data)
    assert "exactly 1/10 of the book's L" in said and "nn.MSELoss()" in said and "10x trap" in said
    assert "is the loss nn.MSELoss()" in fails(check_step, ns["train_step"], ns["make_network"], data)


def test_a_loss_returned_as_a_number_is_told_to_keep_the_tensor(data):
    ns = answers(**{"sum(dim=1).mean()\n": "sum(dim=1).mean().item()\n"})
    assert "(a Python number: keep the tensor" in fails(check_loss, ns["loss_function"], data)


def test_a_step_without_zero_grad_is_named(data):
    ns = answers(**{"    optimizer.zero_grad()              # .grad accumulates: clear the last step's\n": ""})
    assert fails(check_step, ns["train_step"], ns["make_network"], data) == (
        "at step 2 your step used the sum of this batch's and the previous batches' gradients: call "
        "optimizer.zero_grad() before loss.backward() (.grad accumulates)")


def test_a_step_before_backward_does_not_move_the_weights(data):
    ns = answers(**{"    loss.backward()                    # autograd fills every parameter's .grad\n"
                    "    optimizer.step()                   # param -= lr * param.grad\n":
                    "    optimizer.step()\n    loss.backward()\n"})
    assert fails(check_step, ns["train_step"], ns["make_network"], data) == (
        "at step 1 your train_step did not move the weights: call optimizer.step() after loss.backward()")
    no_backward = answers(**{"    loss.backward()                    # autograd fills every parameter's .grad\n": ""})
    assert fails(check_step, no_backward["train_step"], no_backward["make_network"], data) == (
        "at step 1 your train_step did not move the weights, and no gradient reached them: call loss.backward() "
        "(then optimizer.step())")


def test_a_zero_grad_between_backward_and_step_is_named(data):
    ns = answers(**{"    optimizer.zero_grad()              # .grad accumulates: clear the last step's\n": "",
                    "    optimizer.step()                   # param -= lr * param.grad\n":
                    "    optimizer.zero_grad()\n    optimizer.step()\n"})
    said = fails(check_step, ns["train_step"], ns["make_network"], data)
    assert "they were gone before optimizer.step() could use them: optimizer.zero_grad() comes first" in said


def test_a_module_that_defines_its_output_layer_first_is_still_the_books_network(data):
    ns = answers(**{"    return nn.Sequential(nn.Linear(784, 50), nn.Sigmoid(), nn.Linear(50, 10), nn.Sigmoid()).double()\n":
                    "    class Net(nn.Module):\n"
                    "        def __init__(self):\n"
                    "            super().__init__()\n"
                    "            self.output = nn.Linear(50, 10)\n"
                    "            self.hidden = nn.Linear(784, 50)\n\n"
                    "        def forward(self, x):\n"
                    "            return torch.sigmoid(self.output(torch.sigmoid(self.hidden(x))))\n\n"
                    "    return Net().double()\n"})
    check_network(ns["make_network"], data)


def test_an_evaluation_without_no_grad_is_caught_with_what_it_kept(data):
    ns = answers(**{"    with torch.no_grad():\n        return": "    if True:\n        return"})
    said = fails(check_evaluate, ns["evaluate"], data)
    assert said.startswith("your evaluation records the graph for a backward that never comes: ")
    assert "MiB saved for backward on these 500 digits" in said and "with torch.no_grad():" in said
    assert float(said.split(": ")[1].split(" MiB")[0]) > 0


def test_a_stub_asks_to_be_filled_in(data):
    ns = answers(**{NETWORK[1]: STUB_BODY})
    assert fails(check_network, ns["make_network"], data) == (
        "fill in make_network in the cell above: it still raises NotImplementedError")
