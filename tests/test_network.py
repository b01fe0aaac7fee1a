"""What the learner built, found from their forward: the twin gets their hidden units and output, and a
backward that is another loss's gradient times a constant is named for it (the softmax with the book's 2)."""

from pathlib import Path

import pytest

from compare.learner import check_backprop
from compare.learner.load import load_target

LEARNERS = Path(__file__).resolve().parent / "learners"
BOOK = (LEARNERS / "book_mlp.py").read_text()


@pytest.fixture(scope="module")
def mnist5k():
    from compare.data.load import load_dataset

    return load_dataset("mnist-5k", seed=123)


def check(path: Path, data, epochs: int = 0):
    return check_backprop(load_target(str(path)).cls, data=data, epochs=epochs)


def test_a_softmax_with_cross_entropy_passes_and_is_named_so(mnist5k):
    report = check(LEARNERS / "softmax_cross_entropy.py", mnist5k, epochs=1)
    assert report.passed, report.table()
    assert report.network == "softmax outputs, sigmoid hidden units"
    assert report.as_dict()["network"] == {"found": "softmax outputs, sigmoid hidden units", "activation": "sigmoid",
                                           "loss": "cross_entropy", "note": "", "l2": 0.0}
    assert "784 -> 50 -> 10, float64; softmax outputs, sigmoid hidden units, so the twin is built with them" in (
        report.table())
    assert report.training.history["scratch"][0]["loss"] == pytest.approx(report.training.history["torch"][0]["loss"])


def test_the_books_2_left_in_a_softmax_backward_is_named(mnist5k):
    report = check(LEARNERS / "softmax_stale_two.py", mnist5k)
    gradients = next(s for s in report.stages if s.name == "gradients")
    assert not report.passed and gradients.status == "FAIL"
    assert gradients.summary == (
        "your backward is the gradient of softmax + cross-entropy, times 2: the 2 of the squared error stayed when "
        "the output became a softmax; with cross-entropy the output's delta is (a_out - y_onehot) / n, without the 2 "
        "(and with softmax + squared error, delta_out would need the softmax's Jacobian)")
    # the gallery's "the 2 from the derivative of the square" is about squared error, not this loss
    assert [f.kind for f in report.findings] == ["first-difference", "loss-factor"], report.table()


def test_a_softmax_with_squared_error_and_its_jacobian_passes_and_is_named_so(mnist5k):
    report = check(LEARNERS / "softmax_squared_error.py", mnist5k, epochs=1)
    assert report.passed, report.table()
    assert report.as_dict()["network"] == {
        "found": "softmax outputs, sigmoid hidden units", "activation": "sigmoid", "loss": "softmax_mse",
        "note": "your backward matches softmax + squared error (the Jacobian of the softmax is there)", "l2": 0.0}
    history = report.training.history
    assert history["scratch"][0]["loss"] == pytest.approx(history["torch"][0]["loss"], rel=1e-12)


def test_a_softmax_backward_that_is_neither_loss_says_which_it_assumed(mnist5k, tmp_path):
    # the softmax's Jacobian with only its diagonal, a * (1 - a): a sigmoid's derivative, not a softmax's
    diagonal = (LEARNERS / "softmax_squared_error.py").read_text().replace(
        "delta_out = a_out * (d_loss__d_a_out - np.sum(a_out * d_loss__d_a_out, axis=1, keepdims=True))",
        "delta_out = d_loss__d_a_out * a_out * (1. - a_out)")
    (tmp_path / "diagonal.py").write_text(diagonal)
    report = check(tmp_path / "diagonal.py", mnist5k)
    assert not report.passed and report.loss == "softmax_mse", report.table()
    assert report.network_note == ("your output layer's gradients are neither those of softmax + cross-entropy nor "
                                   "those of softmax + squared error, even times a constant: checked against softmax "
                                   "+ squared error, the nearer of the two")
    assert next(s for s in report.stages if s.name == "gradients").status == "FAIL"
    assert "softmax-jacobian-diagonal" in [f.kind for f in report.findings], report.table()


def test_a_squared_error_averaged_over_the_classes_under_a_softmax_is_named(mnist5k, tmp_path):
    mean = (LEARNERS / "softmax_squared_error.py").read_text().replace(
        "d_loss__d_a_out = 2.*(a_out - y_onehot) / y.shape[0]",
        "d_loss__d_a_out = 2.*(a_out - y_onehot) / (y.shape[0] * self.num_classes)")
    (tmp_path / "mean.py").write_text(mean)
    report = check(tmp_path / "mean.py", mnist5k)
    assert report.loss == "softmax_mse" and report.network_note == "", report.table()
    assert next(s for s in report.stages if s.name == "gradients").summary.startswith(
        "your backward is the gradient of softmax + squared error summed over the classes, times 0.1 = "
        "1/num_classes: the squared error is averaged over the 10 classes too (nn.MSELoss()'s mean)")


def test_at_depth_two_a_softmax_backward_is_read_the_same_way(mnist5k, tmp_path):
    deep = (LEARNERS / "two_hidden.py").read_text().replace(
        "        a_out = sigmoid(z_out)\n",
        "        e = np.exp(z_out - z_out.max(axis=1, keepdims=True))\n        a_out = e / e.sum(axis=1, keepdims=True)\n")
    book_delta = "        d_a_out__d_z_out = a_out * (1. - a_out)\n        delta_out = d_loss__d_a_out * d_a_out__d_z_out"
    assert book_delta in deep
    (tmp_path / "jacobian.py").write_text(deep.replace(book_delta, "        delta_out = a_out * (d_loss__d_a_out - "
                                                       "np.sum(a_out * d_loss__d_a_out, axis=1, keepdims=True))"))
    (tmp_path / "stale.py").write_text(deep.replace(book_delta, "        delta_out = d_loss__d_a_out"))
    report = check(tmp_path / "jacobian.py", mnist5k)
    assert report.passed and report.loss == "softmax_mse" and report.sizes == (784, 50, 30, 10), report.table()
    report = check(tmp_path / "stale.py", mnist5k)
    assert report.loss == "cross_entropy" and next(s for s in report.stages if s.name == "gradients").summary.startswith(
        "your backward is the gradient of softmax + cross-entropy, times 2: the 2 of the squared error stayed")


def test_tanh_hidden_units_and_logits_outputs_are_built_as_theirs(mnist5k, tmp_path):
    report = check(LEARNERS / "tanh_hidden.py", mnist5k)
    assert report.passed and report.network == "sigmoid outputs, tanh hidden units", report.table()
    logits = (LEARNERS / "softmax_cross_entropy.py").read_text().replace(
        "        a_out = softmax(z_out)\n", "        a_out = z_out\n").replace(
        "delta_out = (a_out - y_onehot) / y.shape[0]", "delta_out = (softmax(a_out) - y_onehot) / y.shape[0]")
    (tmp_path / "logits.py").write_text(logits)
    report = check(tmp_path / "logits.py", mnist5k, epochs=1)
    assert report.passed and report.network == "logits (no output activation), sigmoid hidden units", report.table()


def test_relu_hidden_units_with_the_books_output_are_found(mnist5k, tmp_path):
    relu = BOOK.replace("        a_h = sigmoid(z_h)\n", "        a_h = np.maximum(z_h, 0)\n").replace(
        "d_a_h__d_z_h = a_h * (1. - a_h) # sigmoid derivative", "d_a_h__d_z_h = (a_h > 0) * 1.")
    (tmp_path / "relu.py").write_text(relu)
    report = check(tmp_path / "relu.py", mnist5k)
    assert report.passed and report.network == "sigmoid outputs, relu hidden units", report.table()


def test_the_books_own_network_is_not_announced(mnist5k):
    report = check(LEARNERS / "book_mlp.py", mnist5k)
    assert report.passed and report.network == "" and "twin is built" not in report.table()
    assert (report.activation, report.loss) == ("sigmoid", "mse")


def test_logits_under_the_books_backward_mean_a_missing_sigmoid_and_say_what_was_assumed(mnist5k):
    report = check(LEARNERS / "no_output_sigmoid.py", mnist5k)
    assert report.network == "" and (report.activation, report.loss) == ("sigmoid", "mse")
    assert report.network_note == ("your a_out has no output activation (logits), but your backward is the book's "
                                   "sigmoid + squared-error one: checked with sigmoid outputs and squared error")
    forward = report.stages[0]
    assert forward.status == "FAIL" and "is the output sigmoid missing?" in forward.summary, report.table()


def test_an_l2_penalty_in_the_gradients_is_recognised_with_its_lambda(mnist5k, tmp_path):
    report = check(LEARNERS / "l2_penalty.py", mnist5k)
    gradients = next(s for s in report.stages if s.name == "gradients")
    assert not report.passed and gradients.status == "FAIL"
    assert gradients.summary == (
        "your gradients include an L2 penalty λ‖W‖² with λ = 0.0001 (your l2_lambda): each weight's gradient carries "
        "2λW, the biases' none; the twin's loss has none: pass --l2 0.0001 to compare with weight_decay, or set yours "
        "to 0")
    assert [f.kind for f in report.findings] == ["first-difference", "l2-penalty"], report.table()
    # A penalty on the biases too is no L2 on the weights: not named as one.
    biased = (LEARNERS / "l2_penalty.py").read_text().replace(
        "        d_loss__d_w_h = d_loss__d_w_h + 2 * self.l2_lambda * self.weight_h\n",
        "        d_loss__d_w_h = d_loss__d_w_h + 2 * self.l2_lambda * self.weight_h\n"
        "        d_loss__db_out = d_loss__db_out + 2 * self.l2_lambda * self.bias_out\n")
    (tmp_path / "biased.py").write_text(biased)
    report = check(tmp_path / "biased.py", mnist5k)
    assert not report.passed and "l2-penalty" not in [f.kind for f in report.findings], report.table()
    # On every bias as well as every weight: an L2 penalty that reaches the biases.
    everywhere = biased.replace(
        "        d_loss__db_out = d_loss__db_out + 2 * self.l2_lambda * self.bias_out\n",
        "        d_loss__db_out = d_loss__db_out + 2 * self.l2_lambda * self.bias_out\n"
        "        d_loss__d_b_h = d_loss__d_b_h + 2 * self.l2_lambda * self.bias_h\n")
    (tmp_path / "everywhere.py").write_text(everywhere)
    report = check(tmp_path / "everywhere.py", mnist5k)
    finding = next(f for f in report.findings if f.kind == "l2-on-biases")
    assert finding.message.startswith("every gradient carries an extra 0.0002 times its parameter, the biases' too: "
                                      "an L2 penalty (λ = 0.0001 in λ‖·‖²) on the biases as well"), report.table()


@pytest.mark.parametrize("name", ["softmax_cross_entropy.py", "tanh_hidden.py"])
def test_their_network_is_found_in_float32_too(mnist5k, name):
    report = check_backprop(load_target(str(LEARNERS / name)).cls, data=mnist5k, epochs=0, dtype="float32")
    assert report.passed and report.network, report.table()


def test_a_softmax_backward_with_another_bug_is_blamed_in_backward_not_in_forward(mnist5k, tmp_path):
    no_derivative = (LEARNERS / "softmax_cross_entropy.py").read_text().replace(
        "d_loss__d_w_h = np.dot((d_loss__a_h * d_a_h__d_z_h).T, d_z_h__d_w_h)",
        "d_loss__d_w_h = np.dot(d_loss__a_h.T, d_z_h__d_w_h)")
    (tmp_path / "no_derivative.py").write_text(no_derivative)
    report = check(tmp_path / "no_derivative.py", mnist5k)
    assert report.network == "softmax outputs, sigmoid hidden units" and report.stages[0].status == "ok"
    assert {r.shown: r.passed for r in report.gradient_check.rows}["weight_h"] is False, report.table()


def test_a_zero_or_a_flipped_gradient_is_no_factor_of_the_loss(mnist5k, tmp_path):
    source = (LEARNERS / "softmax_cross_entropy.py").read_text()
    for name, delta in (("zero.py", "0. * (a_out - y_onehot)"), ("flipped.py", "(y_onehot - a_out)")):
        (tmp_path / name).write_text(source.replace("(a_out - y_onehot) / y.shape[0]", f"{delta} / y.shape[0]"))
        report = check(tmp_path / name, mnist5k)
        assert not report.passed and "loss-factor" not in [f.kind for f in report.findings], report.table()


def test_a_missing_output_bias_is_blamed_on_the_output_layer_not_on_right_hidden_units(mnist5k, tmp_path):
    source = (LEARNERS / "tanh_hidden.py").read_text()
    no_bias = source.replace("z_out = np.dot(a_h, self.weight_out.T) + self.bias_out", "z_out = np.dot(a_h, self.weight_out.T)")
    assert no_bias != source
    (tmp_path / "no_bias.py").write_text(no_bias)
    report = check(tmp_path / "no_bias.py", mnist5k)
    forward = report.stages[0]
    assert forward.status == "FAIL" and "bias_out" in forward.summary and "tanh" not in forward.summary, report.table()


def test_a_contract_class_reports_its_own_network():
    import scratch

    class Net(scratch.MLP):
        pass

    def make(sizes, seed=123, dtype="float64"):
        return Net(sizes, "tanh", "cross_entropy", seed=seed, dtype=dtype)

    report = check_backprop(make([784, 20, 10]), epochs=0)
    gradients = next(s for s in report.stages if s.name == "gradients")
    assert gradients.status == "ok" and (report.activation, report.loss) == ("tanh", "cross_entropy"), report.table()


def test_l2_adds_the_penalty_to_the_twin_so_a_regularised_class_passes_as_written(mnist5k, tmp_path):
    report = check_backprop(load_target(str(LEARNERS / "l2_penalty.py")).cls, data=mnist5k, epochs=1, l2=1e-4)
    assert report.passed and report.l2 == 1e-4, report.table()
    assert "the twin's loss adds λ‖W‖² on the weights, λ = 0.0001 (--l2)" in report.table()
    # A penalty written as (λ/2)‖W‖², gradient λW: named with the --l2 that matches it.
    half = (LEARNERS / "l2_penalty.py").read_text().replace("+ 2 * self.l2_lambda *", "+ self.l2_lambda *")
    (tmp_path / "half.py").write_text(half)
    report = check(tmp_path / "half.py", mnist5k)
    gradients = next(s for s in report.stages if s.name == "gradients")
    assert gradients.summary == (
        "your gradients include an L2 penalty whose gradient is λW with λ = 0.0001 (your l2_lambda), the biases' "
        "none: you wrote (λ/2)‖W‖², and --l2 adds λ‖W‖²; the twin's loss has none: pass --l2 5e-05 (λ/2) to compare "
        "with weight_decay, or set yours to 0"), report.table()
    report = check_backprop(load_target(str(tmp_path / "half.py")).cls, data=mnist5k, epochs=1, l2=5e-5)
    assert report.passed, report.table()


def test_without_their_lambda_in_sight_both_ways_of_writing_the_penalty_are_named(mnist5k, tmp_path):
    hidden = (LEARNERS / "l2_penalty.py").read_text().replace("self.l2_lambda", "self.c")
    (tmp_path / "hidden.py").write_text(hidden)
    gradients = next(s for s in check(tmp_path / "hidden.py", mnist5k).stages if s.name == "gradients")
    assert gradients.summary == (
        "your gradients include an L2 penalty: each weight's gradient carries an extra 0.0002 times the weight, the "
        "biases' none; that is the gradient of λ‖W‖² with λ = 0.0001 (or of (λ/2)‖W‖² with λ = 0.0002). The twin's "
        "loss has none: pass --l2 0.0001 to compare with weight_decay, or set yours to 0")


def test_an_l2_that_does_not_match_theirs_is_named_both_ways(mnist5k):
    cls = load_target(str(LEARNERS / "l2_penalty.py")).cls
    summary = next(s for s in check_backprop(cls, data=mnist5k, epochs=0, l2=3e-4).stages
                   if s.name == "gradients").summary
    assert summary.startswith("your gradients include an L2 penalty λ‖W‖² with λ = 0.0001 (your l2_lambda)")
    assert summary.endswith("the twin's loss adds λ = 0.0003 (--l2): pass --l2 0.0001 to compare with weight_decay, "
                            "or set yours to 0")
    book = load_target(str(LEARNERS / "book_mlp.py")).cls
    summary = next(s for s in check_backprop(book, data=mnist5k, epochs=0, l2=1e-4).stages
                   if s.name == "gradients").summary
    assert summary == ("your gradients carry no L2 penalty, but --l2 0.0001 adds λ‖W‖² to the twin's loss: drop "
                       "--l2, or add the penalty's gradient 2λW to each weight's gradient")


def test_a_bad_l2_is_one_line_and_exit_2(capsys):
    from compare.cli.app import main

    with pytest.raises(SystemExit) as e:
        main(["check", str(LEARNERS / "l2_penalty.py"), "--l2", "-1"])
    assert e.value.code == 2 and "expected an L2 penalty λ >= 0, like 1e-4, got '-1'" in capsys.readouterr().err


# --- reading the loss and the penalty, at their edges ------------------------------------------------


def _softmax_case(n_classes: int, seed: int = 0):
    import numpy as np

    from scratch.losses import softmax, softmax_mse_delta

    rng = np.random.default_rng(seed)
    a_h, y = rng.uniform(0, 1, (12, 5)), np.arange(12) % n_classes
    a_out = softmax(rng.normal(0, 1, (12, n_classes)))
    ce = (a_out - np.eye(n_classes)[y]) / 12
    return a_h, a_out, y, {"cross_entropy": ce, "softmax_mse": softmax_mse_delta(a_out, y)}


@pytest.mark.parametrize("n_classes", [2, 3, 10])
def test_softmax_loss_tells_the_losses_apart_with_two_classes_too(n_classes):
    from compare.learner.network import softmax_loss

    a_h, a_out, y, deltas = _softmax_case(n_classes)
    for loss, delta in deltas.items():
        for c in (1.0, 0.5, 2.0, 1 / n_classes):
            assert softmax_loss(a_h, a_out, y, c * delta.T @ a_h, c * delta.sum(0), "float64")[0] == loss, (loss, c)
    flipped = -deltas["cross_entropy"]   # no loss's gradient times a positive constant: the nearer, said so
    found, note = softmax_loss(a_h, a_out, y, flipped.T @ a_h, flipped.sum(0), "float64")
    assert note.startswith("your output layer's gradients are neither"), (found, note)


def test_a_forgotten_output_bias_gradient_does_not_decide_the_loss(mnist5k, tmp_path):
    source = (LEARNERS / "softmax_squared_error.py").read_text()
    (tmp_path / "no_bias.py").write_text(source.replace(
        "d_loss__db_out = np.sum(delta_out, axis=0)", "d_loss__db_out = np.zeros(self.num_classes)"))
    report = check(tmp_path / "no_bias.py", mnist5k)
    assert report.loss == "softmax_mse" and "nearer" in report.network_note, report.table()
    assert [r.shown for r in report.gradient_check.rows if not r.passed] == ["bias_out"], report.table()


def test_a_difference_at_rounding_is_no_l2_penalty():
    import numpy as np

    from compare.learner.penalty import l2_coefficient

    rng = np.random.default_rng(0)
    ref = {"0.weight": rng.normal(size=(4, 3)), "0.bias": rng.normal(size=4)}
    weights = {"0.weight": rng.normal(size=(4, 3)), "0.bias": np.zeros(4)}
    noisy = {k: v * (1 + 1e-9 * rng.normal(size=v.shape)) for k, v in ref.items()}
    assert l2_coefficient(noisy, ref, weights, "float64") is None
    penalised = {"0.weight": ref["0.weight"] + 2e-4 * weights["0.weight"], "0.bias": ref["0.bias"]}
    assert l2_coefficient(penalised, ref, weights, "float64") == pytest.approx(2e-4)


def test_their_lambda_is_read_whatever_its_type_and_a_raising_property_ends_nothing(mnist5k, tmp_path):
    source = (LEARNERS / "l2_penalty.py").read_text()
    typed = source.replace("        self.l2_lambda = l2_lambda\n",
                           "        self.l2_lambda = np.float32(l2_lambda)\n        self.alpha = 2 * l2_lambda\n").replace(
        "    def forward(self, x):\n", "    @property\n    def regularisation(self):\n"
        "        raise RuntimeError('not trained yet')\n\n    def forward(self, x):\n")
    assert typed != source
    (tmp_path / "typed.py").write_text(typed)
    report = check_backprop(load_target(str(tmp_path / "typed.py")).cls, data=mnist5k, epochs=0, isolate=True)
    summary = next(s for s in report.stages if s.name == "gradients").summary
    assert summary.startswith("your gradients include an L2 penalty λ‖W‖² with λ = 0.0001 (your l2_lambda)"), summary


def test_an_exercise_that_asks_for_cross_entropy_pins_it(mnist5k):
    cls = load_target(str(LEARNERS / "softmax_squared_error.py")).cls
    report = check_backprop(cls, data=mnist5k, epochs=0, loss="cross_entropy")
    assert not report.passed and report.loss == "cross_entropy", report.table()
    assert report.network_note == "checked against softmax + cross-entropy, as asked"
    with pytest.raises(ValueError, match="loss must be None .read from the backward., 'cross_entropy' or"):
        check_backprop(cls, data=mnist5k, epochs=0, loss="mse")


def test_a_misshapen_gradient_beside_a_wrong_one_is_named_not_a_crash(batch):
    import numpy as np

    import scratch
    from compare import check_gradients

    class Net(scratch.MLP):
        def gradients(self, X, y):
            g = super().gradients(X, y)
            g["2.bias"] = g["2.bias"][:, None]
            g["0.weight"] = g["0.weight"] * 1.5
            return g

    model = Net([784, 16, 10])
    for _, b in model.layers():
        b[...] = np.random.default_rng(0).normal(0, 0.1, b.shape)
    report = check_gradients(model, *batch)
    assert not report.passed and "shape" in [f.kind for f in report.diagnosis], report.table()


@pytest.mark.parametrize(("s", "n_batch", "n_classes", "kind", "words"), [
    (2.0, 100, 2, "factor-two", "the 2 of the squared error's derivative stayed when the output became a softmax"),
    (0.5, 100, 10, "factor-two", "with softmax + cross-entropy the output's delta is (softmax(z_out) - onehot) / n"),
    (0.1, 64, 10, "loss-reduction", "averages the cross-entropy over the n x 10 entries"),
])
def test_a_cross_entropy_factor_is_explained_in_cross_entropys_words(s, n_batch, n_classes, kind, words):
    from compare.gradcheck.factors import explain_factor

    found, said = explain_factor(s, n_batch, n_classes, "true gradient", loss="cross_entropy")
    assert found == kind and words in said and "the derivative of the square" not in said, said
