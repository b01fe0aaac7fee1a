"""The bridge lesson: every quote is real code, every number measured, the 10x trap worked through."""

import inspect
import textwrap

import pytest

import scratch
from compare.cli.app import main
from compare.lesson.pages import QUOTED, STEPS, TRAP_QUOTES, Quote, build_lesson, measure_lesson
from compare.lesson.walkthrough import CellQuote, cells
from compare.report.markdown import render_markdown_page
from torch_impl import idiomatic


@pytest.mark.parametrize("quote", [q for q in QUOTED if isinstance(q, Quote)],
                         ids=lambda q: f"{q.target}[{q.only}]" if q.only else q.target)
def test_every_quoted_object_exists_and_its_text_is_not_empty(quote):
    obj = quote.resolve()                        # AttributeError / ModuleNotFoundError if it disappeared
    assert inspect.getsource(obj).strip()
    code = quote.code()
    assert code.text.strip(), f"{quote.target}: no line contains {quote.only!r}"
    assert code.label.split(":")[0].endswith(".py")


def test_a_quote_of_a_vanished_function_fails():
    with pytest.raises(AttributeError):
        Quote("scratch.lesson:NeuralNetMLP.backwards").code()
    assert Quote("scratch.lesson:NeuralNetMLP.backward", only="no such line").code().text == ""


def test_the_lesson_quotes_the_real_backward_and_loss_backward():
    step = {s.key: s for s in STEPS}["backward"]
    (lesson,), (twin,) = step.scratch, step.torch
    assert lesson.resolve() is scratch.NeuralNetMLP.backward
    assert lesson.code().text == textwrap.dedent(inspect.getsource(scratch.NeuralNetMLP.backward))
    assert twin == CellQuote("backward") and "loss.backward()" in twin.code().text


def test_the_pytorch_column_is_the_walkthrough_a_learner_writes_cell_by_cell():
    shown = [q for s in STEPS for q in s.torch]
    assert all(isinstance(q, CellQuote) for q in shown)
    assert {q.key for q in shown} == set(cells()) - {"results"}   # every cell but the one that saves results
    torch_code = "".join(q.code().text for q in shown)
    assert "nn.Sequential(nn.Linear(784, 50), nn.Sigmoid(), nn.Linear(50, 10), nn.Sigmoid()).double()" in torch_code
    for learner_writes in ("TensorDataset", "DataLoader", "class MLP(nn.Module)", "optimizer.zero_grad()",
                           "loss.backward()", "optimizer.step()", "torch.no_grad()"):
        assert learner_writes in torch_code, learner_writes
    for validation in ("raise ValueError", "check_spec", "chunk", "BatchSchedule", "recycle"):
        assert validation not in torch_code
    update = {s.key: s for s in STEPS}["update"]
    assert update.scratch[0].code().text.count("-= learning_rate") == 4   # the book's four update lines


def test_the_backward_step_links_to_gradcheck(mnist5k):
    md = render_markdown_page(build_lesson(mnist5k))
    backward = md.split("## Backward pass")[1].split("## Update the weights")[0]
    assert "(https://pytorch.org/docs/stable/generated/torch.autograd.gradcheck.html)" in backward
    assert "fourth-order" in backward and "directional" in backward and "float64" in backward
    assert "| `delta_out` | `z_out.grad` |" in backward


def test_every_step_of_the_issue_is_there():
    assert [s.key for s in STEPS] == ["load", "normalise", "onehot", "split", "init", "forward", "dtype", "loss",
                                      "backward", "update", "minibatches", "evaluate", "misclassified"]
    assert all(s.scratch or s.shared or s.key == "dtype" for s in STEPS) and all(s.torch or s.shared for s in STEPS)


@pytest.fixture(scope="module")
def measured(mnist5k):
    return measure_lesson(mnist5k)


def _diffs(measured, key):
    return [float(r[3]) for r in measured["steps"][key]["rows"] if r[3]]


def test_measured_agreement_at_every_step(measured):
    for key in ("forward", "loss", "backward", "update", "minibatches", "evaluate"):
        diffs = _diffs(measured, key)
        assert diffs and max(diffs) < 1e-13, key
        assert all(r[4] == "yes" for r in measured["steps"][key]["rows"] if r[3])
    # L once more, then each gradient, separately; then each gradient of the PyTorch column as it ran
    assert len(_diffs(measured, "backward")) == 5 + 4
    assert _diffs(measured, "onehot") == [0.0] and set(_diffs(measured, "init")) == {0.0}
    misclassified = {r[0]: r for r in measured["steps"]["misclassified"]["rows"]}
    assert misclassified["test images labelled differently"][3] == "0"
    assert misclassified["as run: the book's test predictions / the cell's `test_pred`"][3:] == ["0", "yes"]
    for key in ("forward", "backward", "update", "minibatches", "evaluate"):   # every cell's own results, as run
        assert any(r[0].startswith("as run: ") for r in measured["steps"][key]["rows"]), key
    load = {r[0]: r for r in measured["steps"]["load"]["rows"]}
    assert load["`X_train[:100]` and the same rows of its tensor"][1:4] == ["(100, 784) array", "(100, 784) array", "0"]
    assert load["the tensor shares the array's memory"][2] == "yes"
    shapes = dict(measured["steps"]["backward"]["shapes"])
    assert shapes["d_loss__d_w_h / 0.weight.grad"] == "(50, 784) float64"


def test_a_measured_disagreement_is_flagged():
    """Every real measurement agrees, so only a made-up one shows that a disagreement would be flagged."""
    from compare.lesson.steps import Measured

    m = Measured()
    assert m.agree("off by 0.5", [1.0, 2.0], [1.0, 2.5]) == 0.5
    assert m.agree("same", [1.0, 2.0], [1.0, 2.0]) == 0.0
    assert [r[4] for r in m.rows] == ["**NO**", "yes"] and m.as_dict()["worst"] == "0.5"  # the worst, not the last


def test_the_lesson_compares_on_a_stratified_batch(mnist5k, measured):
    """Forward, loss, gradients and the step are compared on one batch drawn stratified: every class, evenly."""
    import numpy as np

    from compare.lesson.measure import BATCH, lesson_arrays

    a = lesson_arrays(mnist5k, 123)
    counts = np.bincount(a["y"][a["batch"]], minlength=10)
    assert len(a["batch"]) == BATCH and counts.min() >= 1 and counts.max() - counts.min() <= 1
    assert np.array_equal(a["batch_as_loaded"], a["X"][a["batch"]])   # the normalise step checks the same rows
    assert measured["trap"]["batch"] == "every class present (10 each)"


def test_the_10x_trap_in_real_numbers(measured):
    t = measured["trap"]
    assert t["L"] / t["nn_mse"] == pytest.approx(10.0, abs=1e-12)
    assert t["printed_mse"] == pytest.approx(t["nn_mse"], abs=1e-15)
    for g in t["grads"]:
        assert g["ratio"] == pytest.approx(10.0, abs=1e-12) and g["deviation"] < 1e-12
        assert g["manual_vs_L"] < 1e-14
    runs = list(t["runs"].values())   # L at lr 0.1, nn.MSELoss at lr 0.1, nn.MSELoss at lr 1.0
    assert runs[1][-1] < runs[0][-1] - 0.1                        # the trap trains worse ...
    assert runs[2] == pytest.approx(runs[0], abs=1e-12)           # ... and is only a rescaled learning rate
    assert t["rescaled_gap"] < 1e-12


def test_lesson_command_writes_html_and_markdown(tmp_path, capsys):
    out = tmp_path / "lesson"
    assert main(["lesson", "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["lesson.html", "lesson.ipynb", "lesson.md"]
    html, md = (out / "lesson.html").read_text(), (out / "lesson.md").read_text()
    assert "<script" not in html and 'src="http' not in html and "@import" not in html   # nothing fetched
    assert "def backward(self, x, a_h, a_out, y):" in html and "loss.backward()" in html
    assert "d_loss__d_a_out = 2. * (a_out - y_onehot) / y.shape[0]" in md
    assert "The 10× trap, with real numbers" in md and "comparison report" not in md
    assert "lesson.html" in capsys.readouterr().out
    assert main(["lesson", "--out", str(out)]) == 2               # a folder with files is refused


def test_lesson_links_back_to_the_report(mnist5k):
    md = render_markdown_page(build_lesson(mnist5k, report="report.md"))
    assert "[the comparison report](report.md)" in md
    assert "[1. ](" not in md and "[Backward pass](#backward-pass)" in md
    assert len(TRAP_QUOTES) == 4


def test_a_float32_run_gets_an_honest_lesson_too(mnist5k):
    """The lesson's network is float64; a float32 run's data must not make any step look broken."""
    import dataclasses

    import numpy as np

    data32 = dataclasses.replace(mnist5k, **{k: getattr(mnist5k, k).astype(np.float32)
                                            for k in ("X_train", "X_valid", "X_test")})
    m = measure_lesson(data32)
    assert [r for s in m["steps"].values() for r in s["rows"] if r[4] not in ("", "yes")] == []


# --- the backward step as a bridge: the book's intermediates beside autograd's ----------------


def test_the_backward_step_matches_four_intermediates_to_autograd(measured):
    bridge = measured["steps"]["backward"]["bridge"]
    pairs = {r[0]: (r[1], r[3], float(r[4]), r[5]) for r in bridge}
    assert pairs["`d_loss__d_a_out`"][:2] == ("`a_out.grad`", "(100, 10) float64")
    assert pairs["`delta_out`"][:2] == ("`z_out.grad`", "(100, 10) float64")
    assert pairs["`d_loss__a_h`"][:2] == ("`a_h.grad`", "(100, 50) float64")
    assert pairs["`d_loss__a_h * d_a_h__d_z_h`"][:2] == ("`z_h.grad`", "(100, 50) float64")
    assert all(diff < 1e-15 and ok == "yes" for _, _, diff, ok in pairs.values())


class _DerivativeMissingAtOutput(scratch.NeuralNetMLP):
    """The book's backward with sigmoid'(z_out) written as a_out instead of a_out * (1 - a_out)."""

    def backward(self, x, a_h, a_out, y):
        y_onehot = scratch.int_to_onehot(y, self.num_classes)
        d_loss__d_a_out = 2. * (a_out - y_onehot) / y.shape[0]
        delta_out = d_loss__d_a_out * a_out
        d_loss__a_h = delta_out @ self.weight_out
        d_a_h__d_z_h = a_h * (1. - a_h)
        delta_h = d_loss__a_h * d_a_h__d_z_h
        return delta_out.T @ a_h, delta_out.sum(axis=0), delta_h.T @ x, delta_h.sum(axis=0)


def test_the_bridge_shows_the_first_wrong_link():
    """A backward wrong at the output's sigmoid derivative: d_loss__d_a_out still agrees, delta_out is the first NO."""
    import numpy as np
    import torch

    from compare.lesson.steps import Measured, backward, tensor
    from compare.twins.transfer import scratch_to_torch

    rng = np.random.default_rng(0)
    X, y = rng.uniform(-1, 1, (20, 784)), np.arange(20) % 10
    model = _DerivativeMissingAtOutput(784, 50, 10, random_seed=1)
    net = idiomatic.make_net().double()
    scratch_to_torch(model, net)
    a_h, a_out = model.forward(X)
    st = Measured()
    backward(st, model, net, idiomatic.loss_fn(net(tensor(X)), torch.from_numpy(y)), X, y, a_h, a_out)
    assert [(r[0], r[5]) for r in st.bridge] == [("`d_loss__d_a_out`", "yes"), ("`delta_out`", "**NO**"),
                                                 ("`d_loss__a_h`", "**NO**"), ("`d_loss__a_h * d_a_h__d_z_h`", "**NO**")]


def test_locals_at_return_reads_the_book_and_puts_the_old_profiler_back():
    import sys

    import numpy as np

    from compare.lesson.intermediates import book_value, locals_at_return

    model = scratch.NeuralNetMLP(784, 50, 10)
    X, y = np.zeros((3, 784)), np.array([0, 1, 2])
    calls = []
    previous = lambda frame, event, arg: calls.append(event)  # noqa: E731
    sys.setprofile(previous)
    try:
        grads, book = locals_at_return(scratch.NeuralNetMLP.backward, lambda: model.backward(X, *model.forward(X), y))
        assert sys.getprofile() is previous
    finally:
        sys.setprofile(None)
    assert np.array_equal(book["d_loss__dw_out"], grads[0])
    assert book_value("d_loss__a_h * d_a_h__d_z_h", book).shape == (3, 50)
    with pytest.raises(KeyError, match="no local 'delta_h'"):
        book_value("delta_h", book)
