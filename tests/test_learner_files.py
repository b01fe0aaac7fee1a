"""The files learners really hand in: a chapter script that downloads and trains at import, a notebook,
a notebook exported as a script, a class split over two files.

``check`` runs the class and the definitions it uses, never the script around it (unless ``--run-file``),
and names a notebook's lines by their code cell.
"""

import csv
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from child_runs import run_telling_where_it_hangs

from compare.learner.definitions import definitions
from compare.learner.source import CannotCheck, LearnerSource, read_source

ROOT = Path(__file__).resolve().parents[1]
LEARNERS = Path(__file__).resolve().parent / "learners"
BOOK = (LEARNERS / "book_mlp.py").read_text()
HELPERS = BOOK[BOOK.index("def sigmoid"):BOOK.index("class NeuralNetMLP")]
CLASS = BOOK[BOOK.index("class NeuralNetMLP"):]


def check(target: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "compare", "check", str(target), "--epochs", "0", "--out",
                           str(target.parent / f"out-{target.stem}"), *extra], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)


def notebook(path: Path, cells: list[str]) -> Path:
    """A notebook of code cells (with execution counts 1, 2, ..., as after "run all"), and one markdown cell."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Chapter 11")]
    nb.cells += [nbformat.v4.new_code_cell(source, execution_count=i) for i, source in enumerate(cells, 1)]
    nbformat.write(nb, path)
    return path


# --- the class, not the script -------------------------------------------------------------------------

def test_a_chapter_script_passes_without_its_download_plots_or_training(tmp_path):
    script = tmp_path / "chapter_script.py"
    script.write_text((LEARNERS / "chapter_script.py").read_text())
    r = check(script)
    assert r.returncode == 0 and "verdict: your backprop agrees with PyTorch" in r.stdout, r.stdout + r.stderr
    assert ("not run: 21 statements of script code, lines 4–155 outside the class, e.g. line 13 "
            "`X, y = fetch_openml('mnist_784', version=1, return_X_y=True)` (--run-file runs it all)") in r.stdout
    assert "Epoch:" not in r.stdout + r.stderr


def test_run_file_runs_the_script_part_too(tmp_path):
    script = tmp_path / "chapter_script.py"
    script.write_text((LEARNERS / "chapter_script.py").read_text())
    r = check(script, "--run-file")
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.strip().endswith("chapter_script.py:5: loading " + str(script) + ": an import failed: "
                                     "ModuleNotFoundError: No module named 'python_environment_check'"), r.stderr


def test_a_name_only_script_code_sets_is_named_with_its_line(tmp_path):
    script = tmp_path / "uses_y.py"
    script.write_text("import numpy as np\n\ny = np.load('labels.npy')\nNUM_CLASSES = len(np.unique(y))\n\n"
                      + HELPERS + CLASS.replace("int_to_onehot(y, self.num_classes)", "int_to_onehot(y, NUM_CLASSES)"))
    r = check(script)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr == (f"mlp-compare: error: {script}:4: your class uses `NUM_CLASSES`, set at line 4 by script "
                        f"code that check does not run: pass it to the constructor or make it a constant (--run-file "
                        f"runs the whole file)\n")


def test_constants_and_helpers_the_class_uses_are_kept_and_the_rest_is_blanked_line_for_line():
    text = ("import numpy as np\nimport matplotlib.pyplot as plt\nSCALE = 0.1\nSEED = 1; data = np.load('x')\n"
            "def helper(z):\n    return z * SCALE\n\n@staticmethod\ndef unused():\n    plt.show()\n\n"
            "class Net:\n    def forward(self, x, y=None):\n        return helper(x), np.zeros(SEED)\n"
            "    def backward(self, x, y):\n        return [y for y in x]\n\nfor epoch in range(3):\n    print(epoch)\n"
            "y = np.load('y.npy')\n")
    found = definitions(LearnerSource("net.py", text), None)
    kept = found.source.splitlines()
    assert len(kept) == len(text.splitlines())   # every line keeps its number
    assert kept[:6] == ["import numpy as np", "", "SCALE = 0.1", "SEED = 1; pass", "def helper(z):",
                        "    return z * SCALE"]
    assert kept[7:10] == ["", "", ""] and kept[-3:] == ["", "", ""]   # the decorated unused def, the loop, y
    assert [s.lineno for s in found.skipped] == [2, 4, 9, 18, 20]   # a parameter `y` is no script's `y`
    with pytest.raises(CannotCheck, match="your class uses `data`, set at line 4"):
        definitions(LearnerSource("net.py", text.replace("np.zeros(SEED)", "data")), None)


def test_an_exported_notebook_with_in_markers_and_magics_passes(tmp_path):
    script = tmp_path / "exported.py"
    script.write_text("#!/usr/bin/env python\n# coding: utf-8\n\n# In[1]:\n\n\nget_ipython().run_line_magic("
                      "'matplotlib', 'inline')\nimport numpy as np\n\n\n# In[2]:\n\n\n" + HELPERS + "\n# In[3]:\n\n\n"
                      + CLASS + "\n\n# In[4]:\n\n\nmodel = NeuralNetMLP(784, 50, 10)\nmodel.forward(np.load('x.npy'))\n")
    r = check(script)
    assert r.returncode == 0, r.stdout + r.stderr
    lines = script.read_text().splitlines()
    first, model = lines.index("get_ipython().run_line_magic('matplotlib', 'inline')") + 1, len(lines) - 1
    assert f"not run: 3 statements of script code, lines {first}–{model + 1} outside the class, e.g. line {model} " \
           f"`model = NeuralNetMLP(784, 50, 10)`" in r.stdout, r.stdout


# --- notebooks ----------------------------------------------------------------------------------------

def test_a_notebook_with_magics_and_a_shell_line_passes(tmp_path):
    nb = notebook(tmp_path / "chapter.ipynb", [
        "%matplotlib inline\n!pip install numpy\nimport numpy as np", HELPERS, CLASS,
        "model = NeuralNetMLP(784, 50, 10)\nhistory = train(model, X_train, y_train)"])
    r = check(nb)
    assert r.returncode == 0 and "verdict: your backprop agrees with PyTorch" in r.stdout, r.stdout + r.stderr
    assert "not run: 2 statements of script code, code cell 4 outside the class, e.g. code cell 4 [In 4], line 1 " \
           "`model = NeuralNetMLP(784, 50, 10)`" in r.stdout, r.stdout
    assert "NeuralNetMLP from " in r.stdout and "chapter.ipynb" in r.stdout


def test_a_bug_in_a_notebooks_backward_is_shown_at_its_cell_and_line(tmp_path):
    broken = CLASS.replace("np.dot(delta_out.T, d_z_out__dw_out)", "np.dot(delta_out, d_z_out__dw_out)")
    assert broken != CLASS
    line = broken.splitlines().index(next(s for s in broken.splitlines() if "np.dot(delta_out, d_z_out" in s)) + 1
    nb = notebook(tmp_path / "buggy.ipynb", ["import numpy as np", HELPERS, broken])
    r = check(nb, "--json", str(tmp_path / "buggy.json"))
    assert r.returncode == 1, r.stdout + r.stderr
    where = f"buggy.ipynb, code cell 3 [In 3], line {line})"
    assert "your backward raised ValueError: shapes" in r.stdout and where in r.stdout, r.stdout
    assert where in (tmp_path / "buggy.json").read_text()


def test_a_notebooks_syntax_error_is_named_by_its_cell(tmp_path):
    nb = notebook(tmp_path / "typo.ipynb", ["import numpy as np", "def f(:\n    pass", CLASS])
    r = check(nb)
    assert r.returncode == 2
    assert r.stderr == f"mlp-compare: error: {nb}, code cell 2 [In 2], line 1: SyntaxError: invalid syntax; fix it, " \
                       f"then check again\n"


def test_a_notebook_is_read_with_each_cells_lines_in_place(tmp_path):
    nb = notebook(tmp_path / "n.ipynb", ["import numpy as np\n%time x = 1", "%%bash\necho hi", "  !ls\ny = 2"])
    source = read_source(nb)
    assert source.text.splitlines() == ["import numpy as np", "pass  # time x = 1", "", "", "pass  # ls", "y = 2", ""]
    assert [source.line(n) for n in (1, 2, 5, 6)] == ["code cell 1 [In 1], line 1", "code cell 1 [In 1], line 2",
                                                      "code cell 3 [In 3], line 1", "code cell 3 [In 3], line 2"]
    (tmp_path / "bad.ipynb").write_text("{not json")
    with pytest.raises(CannotCheck, match="not a notebook nbformat can read"):
        read_source(tmp_path / "bad.ipynb")


# --- a class split over files ---------------------------------------------------------------------------

def two_files(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "utils.py").write_text("import numpy as np\n\nRANDOM_SEED = 123\n\n" + HELPERS)
    main = folder / "mlp.py"
    main.write_text("import numpy as np\nfrom utils import sigmoid, int_to_onehot, RANDOM_SEED\n\n"
                    + CLASS.replace("random_seed=123", "random_seed=RANDOM_SEED"))
    return main


def test_a_file_imports_its_helper_modules_from_its_own_folder(tmp_path):
    r = check(two_files(tmp_path / "anna"))
    assert r.returncode == 0 and "verdict: your backprop agrees with PyTorch" in r.stdout, r.stdout + r.stderr


def test_in_a_class_folder_a_learners_folder_is_one_submission_and_a_top_level_file_sees_only_itself(tmp_path):
    class_folder, out = tmp_path / "class", tmp_path / "out"
    two_files(class_folder / "anna")
    (class_folder / "bob.py").write_text((class_folder / "anna" / "mlp.py").read_text())   # without its utils.py
    (class_folder / "utils.py").write_text("raise SystemExit('a neighbour')\n")   # bob's utils? no: a submission
    (class_folder / "mlxtend.py").write_text(BOOK)
    notebook(class_folder / "cara.ipynb", ["import numpy as np", HELPERS, CLASS])
    r = run_telling_where_it_hangs([sys.executable, "-X", "faulthandler", "-m", "compare", "check", str(class_folder),
                                    "--epochs", "0", "--out", str(out)], timeout=300)
    with open(out / "summary.csv", newline="") as f:
        rows = {row["file"]: row for row in csv.DictReader(f)}
    assert {k: v["verdict"] for k, v in rows.items()} == {
        "anna/": "pass", "bob.py": "cannot load", "cara.ipynb": "pass", "mlxtend.py": "pass",
        "utils.py": "cannot load"}, r.stdout + r.stderr
    assert "No module named 'utils'" in rows["bob.py"]["first finding"]
    assert (out / "anna" / "report.html").is_file() and (out / "cara" / "report.html").is_file()


# --- the chapter's exercise: more hidden layers ----------------------------------------------------------

@pytest.fixture(scope="module")
def mnist5k():
    from compare.data.load import load_dataset

    return load_dataset("mnist-5k", seed=123)


def deep_check(name: str, data, **kwargs):
    from compare.learner import check_backprop
    from compare.learner.load import load_target

    return check_backprop(load_target(str(LEARNERS / name)).cls, data=data, **kwargs)


def test_two_hidden_layers_in_the_books_naming_are_built_at_distinct_widths_and_pass(mnist5k):
    report = deep_check("two_hidden.py", mnist5k, epochs=1)
    assert report.passed and report.sizes == (784, 50, 30, 10), report.table()
    assert [r.name for r in report.intermediates] == [
        "a_h1", "a_h2", "a_out", "d_loss__dw_out", "d_loss__db_out", "d_loss__d_w_h2", "d_loss__d_b_h2",
        "d_loss__d_w_h1", "d_loss__d_b_h1"]
    assert [r.shown for r in report.gradient_check.rows] == ["weight_h1", "bias_h1", "weight_h2", "bias_h2",
                                                            "weight_out", "bias_out"]
    assert "a_h1, a_h2 and a_out match the twin's" in report.table()


def test_a_bug_in_the_first_of_two_hidden_layers_is_named_in_the_learners_names(mnist5k):
    report = deep_check("two_hidden_no_derivative.py", mnist5k, epochs=0)
    assert not report.passed
    assert {r.shown: r.passed for r in report.gradient_check.rows} == {
        "weight_h1": False, "bias_h1": False, "weight_h2": True, "bias_h2": True, "weight_out": True,
        "bias_out": True}, report.table()
    assert "d_loss__d_w_h1 (dL/d weight_h1) is the first value that differs" in report.table()
    assert "the error enters at hidden layer 1 (weight_h1, bias_h1" in report.table()


def test_the_order_of_a_deeper_backward_is_read_from_the_shapes(tmp_path, mnist5k):
    from compare.learner import check_backprop
    from compare.learner.load import load_target

    source = (LEARNERS / "two_hidden.py").read_text()
    swapped = source.replace("""        return (d_loss__dw_out, d_loss__db_out,
                d_loss__d_w_h2, d_loss__d_b_h2,
                d_loss__d_w_h1, d_loss__d_b_h1)""", """        return (d_loss__dw_out, d_loss__db_out,
                d_loss__d_w_h1, d_loss__d_b_h1,
                d_loss__d_w_h2, d_loss__d_b_h2)""")
    assert swapped != source
    (tmp_path / "swapped.py").write_text(swapped)
    report = check_backprop(load_target(str(tmp_path / "swapped.py")).cls, data=mnist5k, epochs=0)
    assert not report.passed
    assert ("your 3rd returned array (d_loss__d_w_h1) has the shape of weight_h1's gradient (50, 784): the book "
            "returns d_w_out, d_b_out, d_w_h2, d_b_h2, d_w_h1, d_b_h1") in report.table(), report.table()


@pytest.mark.parametrize("script, skipped", [
    ("sigmoid = lambda z: 1 / (1 + np.exp(-z))", [2]), ("LABELS = [str(i) for i in range(10)]", [1, 2]),
    ("DTYPE = np.float64", [2])])
def test_constants_and_helpers_are_kept_with_what_they_read(script, skipped):
    name = script.split(" =")[0]
    text = f"import numpy as np\nimport os\n{script}\n\nclass Net:\n    def forward(self, x):\n        return {name}\n" \
           f"    def backward(self, x, y):\n        return x\n"
    found = definitions(LearnerSource("net.py", text), None)
    assert found.source.splitlines()[2] == script and [s.lineno for s in found.skipped] == skipped, found.source


def test_what_script_code_computes_is_never_run_to_feed_a_constant():
    for rhs in ("np.load('y.npy').max() + 1", "len(np.unique(np.load('y.npy')))", "np.random.default_rng(1)"):
        text = f"import numpy as np\nN = {rhs}\n\nclass Net:\n    def forward(self, x):\n        return N * x\n" \
               f"    def backward(self, x, y):\n        return np.zeros(3)\n"
        with pytest.raises(CannotCheck, match="your class uses `N`, set at line 2 by script code"):
            definitions(LearnerSource("net.py", text), None)


def test_reassignments_patches_fallbacks_and_annotations_run_as_written():
    text = ("from typing import Optional\nimport numpy as np\ntry:\n    from tqdm import tqdm\nexcept ImportError:\n"
            "    tqdm = lambda it: it\nLR = 0.1\nLR *= 0.5\nSEED: Optional[int] = 5\nW: np.ndarray\n\n"
            "def my_backward(self, x, y):\n    return tqdm(x)\n\nclass Base:\n    def forward(self, x):\n"
            "        return x * LR + SEED\n\nclass Mine(Base):\n    def __init__(self):\n        pass\n\n"
            "Base.backward = my_backward\nplot(W)\n")
    found = definitions(LearnerSource("net.py", text), None)
    assert [s.lineno for s in found.skipped] == [2, 10, 24], found.source   # numpy, W: np.ndarray, plot(W)
    assert "Base.backward = my_backward" in found.source and "class Mine(Base):" in found.source


def test_line_breaks_python_does_not_count_keep_every_line_in_place():
    text = ("import numpy as np\nSEP = 'a\u2028b'\n\x0c\nX = np.load('x')\n\nclass Net:\n    def forward(self, x):\n"
            "        return SEP\n    def backward(self, x, y):\n        return x\n")
    found = definitions(LearnerSource("net.py", text), None)
    assert [s.lineno for s in found.skipped] == [1, 4]
    assert "np.load" not in found.source and "'a\u2028b'" in found.source
    assert "line 4 `X = np.load('x')`" in found.summary()


def test_what_the_parser_accepts_but_python_refuses_is_a_one_line_finding():
    text = "def f():\n    x = 1\n    global x\n\nclass Net:\n    def forward(self, x):\n        return x\n"
    with pytest.raises(CannotCheck, match=r"net.py:3: SyntaxError: name 'x' is assigned to before global"):
        definitions(LearnerSource("net.py", text), None)


@pytest.mark.parametrize("encoding, head", [("utf-8-sig", ""), ("latin-1", "# -*- coding: latin-1 -*-\n")])
def test_files_saved_with_a_bom_or_a_coding_line_load(tmp_path, encoding, head):
    path = tmp_path / "saved.py"
    path.write_bytes((head + "# Gewichte für die Schicht\n" + BOOK.replace("typed in", "getippt für")).encode(encoding))
    r = check(path)
    assert r.returncode == 0 and "verdict: your backprop agrees with PyTorch" in r.stdout, r.stdout + r.stderr
    r = check(path, "--run-file", "--overwrite")
    assert r.returncode == 0, r.stdout + r.stderr
