"""The lesson as notebooks: lesson.ipynb runs and quotes the live source; exercise.ipynb grades in words.

Notebooks are executed with nbclient in a fresh python3 kernel (CELL_TIMEOUT_S per cell). A failing
check is found by the cell whose output is an error: it must be the check cell, with the diagnosis.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch

from compare.cli import main
from compare.lesson.exercise_notebook import TAG, exercise_notebook
from compare.lesson.lesson_notebook import lesson_notebook
from compare.lesson.notebook import KEY, stale_cells
from compare.lesson.pages import STEPS, TRAP_TITLE
from torch_impl import build_model, make_optimizer, squared_error_loss
from torch_impl import train as twin_train
from torch_impl.idiomatic import accuracy, copy_book_weights, forward_keeping_grads, loss_fn, make_net, train_step
from torch_impl.idiomatic import make_optimizer as idiomatic_optimizer

nbclient = pytest.importorskip("nbclient")
ROOT = Path(__file__).resolve().parents[1]
CELL_TIMEOUT_S = 180


def run_notebook(nb, cwd: Path) -> tuple[int | None, str]:
    """Execute ``nb`` (it gains its outputs); (index of the cell that failed or None, that cell's error text)."""
    from compare.lesson.execute import execute

    try:
        execute(nb, cwd, timeout=CELL_TIMEOUT_S)
    except nbclient.exceptions.CellExecutionError:
        pass
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if out.output_type == "error":
                return i, f"{out.ename}: {out.evalue}"
    return None, ""


def traceback_text(nb) -> str:
    """What the failed cell shows: its traceback's lines, colours removed."""
    import re

    lines = [line for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"
             for line in o.traceback]
    return "\n".join(re.sub(r"\x1b\[[0-9;]*m", "", line) for line in lines)


def printed(nb) -> str:
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))


def exercise_cells(nb):
    return [i for i, c in enumerate(nb.cells) if TAG in c.metadata.get("tags", [])]


# --- lesson.ipynb ---------------------------------------------------------------------------


def test_lesson_notebook_is_valid_empty_and_in_the_steps_order():
    nb = lesson_notebook()
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == "python3"
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in nb.cells if c.cell_type == "code")
    headings = [c.source.splitlines()[0] for c in nb.cells if c.cell_type == "markdown" and c.source.startswith("## ")]
    expected = [f"## {i}. {s.title}" for i, s in enumerate(STEPS, 1)] + [f"## {len(STEPS) + 1}. {TRAP_TITLE}"]
    assert headings[:len(expected)] == expected
    assert "loss_fn = nn.MSELoss()" in {c.source.split("   #")[0] for c in nb.cells}


def test_a_written_lesson_notebook_verifies_against_the_code(tmp_path, capsys):
    assert main(["lesson", "--out", str(tmp_path / "les")]) == 0
    quoted = [c.metadata[KEY]["quote"] for c in nbformat.read(tmp_path / "les" / "lesson.ipynb", 4).cells
              if KEY in c.metadata]
    assert "scratch.lesson:NeuralNetMLP.backward" in quoted and "torch_impl.idiomatic:train_step" in quoted
    capsys.readouterr()
    assert main(["lesson", "--verify", str(tmp_path / "les")]) == 0
    assert f"{len(quoted)} of {len(quoted)} quoting cells match the code" in capsys.readouterr().out
    assert main(["lesson", "--verify", str(tmp_path / "les"), "--execute"]) == 2   # it writes nothing


def test_verify_names_the_cell_whose_source_changed_after_the_notebook_was_written(tmp_path):
    """A notebook quoting a module, written, then the module edited: ``lesson --verify`` reads the file on disk."""
    from compare.lesson.notebook import code, notebook, quote, write_notebook

    (tmp_path / "drift_demo.py").write_text("def scale(x):\n    return 2 * x\n")
    sys.path.insert(0, str(tmp_path))
    try:
        write_notebook(notebook([code("import numpy as np"), quote("drift_demo:scale")]), tmp_path / "lesson.ipynb")
    finally:
        sys.path.remove(str(tmp_path))
    env = {**__import__("os").environ, "PYTHONPATH": str(tmp_path)}
    verify = [sys.executable, "-m", "compare", "lesson", "--verify", str(tmp_path)]
    same = subprocess.run(verify, cwd=ROOT, capture_output=True, text=True, env=env)
    assert same.returncode == 0 and "1 of 1 quoting cells match" in same.stdout, same.stdout + same.stderr
    (tmp_path / "drift_demo.py").write_text("def scale(x):\n    return 3 * x\n")   # the code moves on
    drifted = subprocess.run(verify, cwd=ROOT, capture_output=True, text=True, env=env)
    assert drifted.returncode == 1, drifted.stdout + drifted.stderr
    assert "cell 1 quotes drift_demo:scale but differs from its source today" in drifted.stdout


def test_a_cell_that_drifted_from_its_source_is_named():
    nb = lesson_notebook()
    i = next(i for i, c in enumerate(nb.cells) if c.metadata.get(KEY, {}).get("quote", "").endswith(".backward"))
    nb.cells[i].source = nb.cells[i].source.replace("2. * (a_out", "(a_out")
    j = next(k for k, c in enumerate(nb.cells) if KEY in c.metadata and k != i)
    nb.cells[j].metadata[KEY]["quote"] = "scratch.lesson:no_such_function"
    stale = stale_cells(nb)
    assert len(stale) == 2
    assert any(s.startswith(f"cell {i} quotes scratch.lesson:NeuralNetMLP.backward but differs") for s in stale)
    assert any(s.startswith(f"cell {j} quotes scratch.lesson:no_such_function, which no longer exists") for s in stale)


def test_lesson_notebook_runs_top_to_bottom(tmp_path):
    nb = lesson_notebook()
    failed, error = run_notebook(nb, tmp_path)
    assert failed is None, f"cell {failed} failed: {error}"
    text = printed(nb)
    assert "the book's gradient / this loss's gradient: 10.000000" in text   # nn.MSELoss: the trap
    assert "the book's gradient / this loss's gradient: 1.000000" in text    # after the one-line fix
    assert "d_loss__d_w_h vs .grad" in text and "executed in" in text
    assert "delta_out vs z_out.grad" in text and "d_loss__a_h * d_a_h__d_z_h vs z_h.grad" in text
    assert any(o.output_type == "display_data" and "image/png" in o.data
               for c in nb.cells if c.cell_type == "code" for o in c.outputs)   # the training curves, inline
    # no check cell echoes an Out: only the cell that shows the network on purpose
    echoed = [c.source.splitlines()[-1] for c in nb.cells if c.cell_type == "code"
              for o in c.outputs if o.output_type == "execute_result"]
    assert echoed == ["net"], echoed


# --- the PyTorch side the lesson quotes -------------------------------------------------------


def test_idiomatic_twin_is_build_model_and_steps_like_train_step():
    torch.manual_seed(0)
    net, reference = make_net().double(), build_model([784, 50, 10]).double()
    assert [type(m) for m in net] == [type(m) for m in reference]
    assert {k: v.shape for k, v in net.state_dict().items()} == {k: v.shape for k, v in reference.state_dict().items()}
    reference.load_state_dict(net.state_dict())
    X, y = torch.rand(32, 784, dtype=torch.float64) * 2 - 1, torch.randint(0, 10, (32,))
    assert torch.equal(loss_fn(net(X), y), squared_error_loss(reference(X), y))
    ours, theirs = torch.optim.SGD(net.parameters(), lr=0.1), make_optimizer(reference, 0.1)
    assert train_step(net, ours, X, y) == twin_train.train_step(reference, squared_error_loss, theirs, X, y).item()
    for a, b in zip(net.state_dict().values(), reference.state_dict().values()):
        assert torch.equal(a, b)
    kept = forward_keeping_grads(net, X)               # the lesson's backward step, layer by layer
    assert torch.equal(kept["a_out"], reference(X)) and torch.equal(kept["a_h"], reference[:2](X))
    assert accuracy(net, X, y) == twin_train.evaluate(reference, X, y, "mse")["acc"]
    assert isinstance(idiomatic_optimizer(net), type(make_optimizer(reference, 0.1)))


def test_copy_book_weights_needs_no_transpose():
    import scratch

    model, net = scratch.NeuralNetMLP(784, 50, 10), make_net().double()
    copy_book_weights(net, model)
    assert np.array_equal(net[0].weight.detach().numpy(), model.weight_h)
    assert np.array_equal(net[2].bias.detach().numpy(), model.bias_out)


# --- exercise.ipynb ---------------------------------------------------------------------------


def test_solution_and_exercise_differ_only_in_the_exercise_bodies():
    stub, solution = exercise_notebook(), exercise_notebook(solution=True)
    nbformat.validate(stub)
    assert [c.metadata for c in stub.cells] == [c.metadata for c in solution.cells]
    tagged = exercise_cells(stub)
    assert len(tagged) == 7   # backward, the update, the softmax backward; the network, loss, step and evaluation
    assert [i for i, (a, b) in enumerate(zip(stub.cells, solution.cells)) if a.source != b.source] == tagged
    first = stub.cells[tagged[0]].source
    assert first.startswith("def backward(self, x, a_h, a_out, y):")
    assert first.endswith('raise NotImplementedError("your code here")')
    assert all(n in first for n in ("d_loss__dw_out", "d_loss__db_out", "d_loss__d_w_h", "d_loss__d_b_h"))
    assert "NeuralNetMLP.backward = backward" in stub.cells[tagged[0] + 1].source


def test_the_reference_solution_passes(tmp_path):
    nb = exercise_notebook(solution=True)
    failed, error = run_notebook(nb, tmp_path)
    assert failed is None, f"cell {failed} failed: {error}"
    assert "your backward matches autograd" in printed(nb) and "your update matches optimizer.step()" in printed(nb)
    assert "your softmax + cross-entropy backward matches autograd" in printed(nb)
    assert "your step matches optimizer.step() for 3 steps" in printed(nb)
    assert "no graph recorded" in printed(nb)


def test_the_stub_fails_in_the_check_cell_asking_to_fill_it_in(tmp_path):
    nb = exercise_notebook()
    failed, error = run_notebook(nb, tmp_path)
    assert failed == exercise_cells(nb)[0] + 1
    assert "fill in backward in the cell above" in error


WRONG_BACKWARDS = {
    "missing 2.": (("2. * (a_out", "(a_out"), "exactly 1/2 of the true gradient"),
    "missing / n": ((" / n\n", "\n"), "a factor 64 = the batch size"),
    "sigma'(a) on the wrong array": (("* a_h * (1. - a_h)", "* sigmoid(a_h) * (1. - sigmoid(a_h))"),
                                     "derivative at the activation a instead of at z"),
    "transposed gradient": (("delta_out.T @ a_h", "a_h.T @ delta_out"), "the gradient is transposed"),
}


@pytest.mark.parametrize("mistake", sorted(WRONG_BACKWARDS))
def test_a_wrong_backward_fails_in_the_check_cell_with_the_diagnosis(tmp_path, mistake):
    (old, new), diagnosis = WRONG_BACKWARDS[mistake]
    nb = exercise_notebook(solution=True)
    cell = nb.cells[exercise_cells(nb)[0]]
    assert old in cell.source
    cell.source = cell.source.replace(old, new)
    failed, error = run_notebook(nb, tmp_path)
    assert failed == exercise_cells(nb)[0] + 1, error
    words = error.split("\n\n")[0]   # the plain words, before the full table
    assert words.startswith("ExerciseFailed: your backward does not match autograd")
    assert diagnosis in words and "the likely line" in words
    shown = traceback_text(nb)   # the message alone: no frames of the checking code, each finding once
    assert "contextlib" not in shown and "grade.py" not in shown and "File " not in shown, shown
    first = words.splitlines()[1].removeprefix("- ")
    assert shown.count(first) == 1, shown


@pytest.mark.parametrize(("old", "new", "said"), [
    ("    model.weight_out -= learning_rate * d_loss__dw_out\n", "    raise NotImplementedError('your code here')\n",
     "fill in train_step in the cell above"),
    ("model.weight_h -= learning_rate", "model.weight_h += learning_rate", "at epoch 1, step 1: the weights are"),
])
def test_a_wrong_update_fails_naming_where_it_parts(tmp_path, old, new, said):
    nb = exercise_notebook(solution=True)
    cell = nb.cells[exercise_cells(nb)[1]]
    cell.source = cell.source.replace(old, new)
    failed, error = run_notebook(nb, tmp_path)
    assert failed == exercise_cells(nb)[1] + 1 and said in error, error
    if "+=" in new:   # the hint names the parameter and what it did
        assert "weight_h moved uphill" in error, error


def test_the_books_2_left_in_the_softmax_exercise_is_named_in_the_check_cell(tmp_path):
    nb = exercise_notebook(solution=True)
    index = exercise_cells(nb)[2]
    cell = nb.cells[index]
    old = "delta_out = (a_out - int_to_onehot(y, self.num_classes)) / n"
    assert cell.source.startswith("def backward_softmax(self, x, a_h, a_out, y):") and old in cell.source
    cell.source = cell.source.replace(old, "delta_out = 2. * (a_out - int_to_onehot(y, self.num_classes)) / n")
    failed, error = run_notebook(nb, tmp_path)
    assert failed == index + 1, error
    words = error.split("\n\n")[0]
    assert "your backward is the gradient of softmax + cross-entropy, times 2: the 2 of the squared error stayed" in (
        words) and "the likely line" in words, words


def test_a_pytorch_step_without_zero_grad_fails_in_its_check_cell_with_the_words(tmp_path):
    nb = exercise_notebook(solution=True)
    index = next(i for i in exercise_cells(nb) if nb.cells[i].source.startswith("def train_step(net, optimizer"))
    zero_grad = "    optimizer.zero_grad()              # .grad accumulates: clear the last step's\n"
    assert zero_grad in nb.cells[index].source + "\n"
    nb.cells[index].source = (nb.cells[index].source + "\n").replace(zero_grad, "").rstrip()
    failed, error = run_notebook(nb, tmp_path)
    assert failed == index + 1, error
    assert error == ("ExerciseFailed: at step 2 your step used the sum of this batch's and the previous batches' "
                     "gradients: call optimizer.zero_grad() before loss.backward() (.grad accumulates)")


# --- the command line -------------------------------------------------------------------------


def test_exercise_and_solution_write_only_the_exercise(tmp_path):
    assert main(["lesson", "--out", str(tmp_path / "e"), "--exercise"]) == 0
    assert main(["lesson", "--out", str(tmp_path / "s"), "--solution"]) == 0
    assert [p.name for p in (tmp_path / "e").iterdir()] == ["exercise.ipynb"]
    assert [p.name for p in (tmp_path / "s").iterdir()] == ["exercise.ipynb"]
    stub, solution = (nbformat.read(tmp_path / d / "exercise.ipynb", as_version=4) for d in ("e", "s"))
    assert "raise NotImplementedError" in stub.cells[exercise_cells(stub)[0]].source
    assert "raise NotImplementedError" not in solution.cells[exercise_cells(solution)[0]].source


def test_execute_without_nbclient_says_which_extra_to_install(tmp_path):
    # A None in sys.modules is how Python marks a module that cannot be imported: nbclient is "not installed".
    hide = ("import sys\n"
            "sys.modules['nbclient'] = None\n"
            "from compare.cli import main\n"
            f"sys.exit(main(['lesson', '--out', {str(tmp_path / 'x')!r}, '--execute']))\n")
    done = subprocess.run([sys.executable, "-c", hide], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "'notebook' extra" in lines[0] and "nbclient" in lines[0]
    assert not (tmp_path / "x").exists()
