"""Every mutant in the gallery is caught with a right diagnosis, precise or generic; the caught-rule
itself can say no; a one-class batch misses exactly the mutants that mix up examples' targets."""

import inspect
import json
import subprocess
import sys
from html import escape
from pathlib import Path

import numpy as np
import pytest

from compare.data.load import gradient_check_batch
from compare.gradcheck.check import check_gradients
from compare.gradcheck.mutants import (
    INDEPENDENT,
    MUTANTS,
    OnehotLabelsOffByOne,
    OnehotOfAnotherRow,
    OnehotWholeColumns,
    OutputDeltaMissingTwo,
    OutputDeltaSumsOverBatch,
    TeachingMLP,
    bug_line,
    build,
    judge,
    run_gallery,
)
from compare.gradcheck.mutants_book import BookMutant
from compare.gradcheck.mutants_deep import (
    DeepBookNet,
    DeepHidden1TanhDerivativeAtActivation,
    DeepHidden2DerivativeMissing,
)
from compare.gradcheck.mutants_softmax import (
    EveryBiasPenalised,
    OutputDeltaSoftmaxStaleTwo,
    OutputDeltaSoftmaxWithoutJacobian,
)
from compare.report.html import render_html
from compare.report.mutants_page import build_mutants_page

ROOT = Path(__file__).resolve().parents[1]
# The diagnosis only localises these (no recogniser names their mistake); every other mutant is named.
GENERIC = {"Hidden2SkipsDerivative", "DeepHidden1TanhDerivativeAtActivation", "DeepHidden2DerivativeMissing", "DeepHidden2WeightWrongInput"}


@pytest.fixture(scope="module")
def gallery_batch(mnist5k):
    """Two training rows of every class, a stratified seeded draw: X (20, 784), y (20,)."""
    batch = gradient_check_batch(mnist5k.y_train, 20, seed=123, num_classes=10)
    return mnist5k.X_train[batch], mnist5k.y_train[batch]


@pytest.fixture(scope="module")
def gallery(gallery_batch):
    return {r.mutant: r for r in run_gallery(*gallery_batch)}


class DeepTanhNet(DeepBookNet):
    activation = "tanh"


class SquareDeepNet(DeepBookNet):
    hidden = (12, 12)


def test_gallery_size_and_every_mutant_marks_its_one_wrong_line():
    assert len(MUTANTS) >= 23 and len(INDEPENDENT) >= 6 and set(INDEPENDENT) <= set(MUTANTS)
    for m in MUTANTS:
        assert m.__doc__ and m.expected and m.enters_at in (0, 1, 2), m.__name__
        own = inspect.getsource(m)
        assert own.count("# BUG") == 1, f"{m.__name__}: mark exactly one changed line with # BUG"


@pytest.mark.parametrize("network", [TeachingMLP, BookMutant, DeepBookNet, DeepTanhNet, SquareDeepNet],
                         ids=lambda n: n.__name__)
def test_the_unmutated_networks_pass(network, gallery_batch):
    """Each mutant differs from one of these by its # BUG line only, so that line is what gets caught."""
    model = build(network)
    report = check_gradients(model, *gallery_batch)
    assert report.passed and report.diagnosis == [], report.table()


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.__name__)
def test_mutant_is_caught_with_a_right_diagnosis(mutant, gallery):
    r = gallery[mutant]
    kinds = [f.kind for f in r.report.diagnosis]
    assert r.caught, f"{mutant.__name__}: {r.how}; findings {kinds}\n{r.report.table()}"
    assert r.how == ("generic" if mutant.__name__ in GENERIC else "precise"), (r.how, kinds)
    if r.how == "precise":
        assert kinds[0] == mutant.expected, f"{mutant.__name__}: the most specific finding comes first: {kinds}"


def test_past_the_chapter_the_softmax_and_penalty_mutants_are_named_for_their_network(gallery):
    stale = gallery[OutputDeltaSoftmaxStaleTwo]
    assert stale.network == "784-16-12-10 sigmoid cross_entropy"
    assert "the 2 of the squared error's derivative stayed when the output became a softmax" in (
        stale.report.diagnosis[0].message)
    jacobian = gallery[OutputDeltaSoftmaxWithoutJacobian]
    assert jacobian.network == "784-16-12-10 sigmoid softmax_mse"
    assert "leaves out the softmax's Jacobian" in jacobian.report.diagnosis[0].message
    biases = gallery[EveryBiasPenalised]
    assert biases.network == "784-16-12-10 sigmoid l2 0.01"
    assert biases.report.diagnosis[0].params == ["0.bias", "2.bias", "4.bias"]
    assert biases.report.diagnosis[0].message.startswith("the biases' gradients carry an L2 penalty too, 0.02 times "
                                                         "each bias: like weight_decay in the twin (and --l2 0.01)")


def test_a_one_class_batch_misses_the_mutants_that_mix_up_targets(gallery):
    missed = {m for m, r in gallery.items() if not r.one_class_caught}
    assert missed == {OnehotWholeColumns, OnehotOfAnotherRow}
    # y - 1 is a wrong target even when every row has the same class: a one-class batch catches it
    assert gallery[OnehotLabelsOffByOne].one_class_caught and gallery[OnehotLabelsOffByOne].how == "precise"


def test_the_caught_rule_rejects_a_wrong_mistake_and_a_wrong_layer(gallery):
    deep = gallery[DeepHidden2DerivativeMissing].report  # error enters at Linear layer 1
    assert judge(DeepHidden1TanhDerivativeAtActivation, deep) == (False, "wrong: layer 1, not 0")
    # a missing 2 diagnosed as "factor-two" does not count for a mutant that forgot / n
    assert judge(OutputDeltaSumsOverBatch, gallery[OutputDeltaMissingTwo].report) == (False, "wrong: factor-two")


def test_cli_mutants_table_json_and_exit_code_agree(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "compare", "gradcheck", "--mutants", "--batch-size", "16",
                           "--json", str(tmp_path / "m.json"), "--out", str(tmp_path / "page")], cwd=ROOT,
                          capture_output=True, text=True)
    data = json.loads((tmp_path / "m.json").read_text())
    lines = proc.stdout.strip().splitlines()
    page = (tmp_path / "page" / "mutants.html").read_text()
    assert f"open {tmp_path / 'page' / 'mutants.html'} in a browser" in proc.stdout
    for row in data["mutants"]:  # the terminal and the page show the buggy line and the fix
        assert f"    bug: {row['buggy_line']}   fix: {row['correct_line']}" in lines, row["mutant"]
        assert escape(row["correct_line"]) in page and f'<section id="{row["mutant"].lower()}">' in page
    assert lines[-1] == f"caught {data['caught']}/{data['total']}" and data["total"] == len(MUTANTS)
    assert proc.returncode == (0 if data["caught"] == data["total"] else 1), proc.stdout + proc.stderr
    assert sum(data["batch_labels"]) == 16
    one_class = np.count_nonzero(data["batch_labels"]) == 1
    for row in data["mutants"]:
        # every mutant is caught; only a one-class batch may miss the ones it cannot see
        assert row["caught"] or (one_class and row["one_class_batch"] == "missed"), row["mutant"]
        assert row["diagnosis"] in (("precise", "generic") if row["caught"] else ("missed",)), row["mutant"]
    assert sum(r["independent"] for r in data["mutants"]) == len(INDEPENDENT)
    assert any(line.startswith("independent of the recognisers, precise:") for line in lines)


@pytest.mark.parametrize("args, code, needle", [
    ([], 0, "gradient check: passed"),
    (["--torch-loss", "mse-mean"], 1, "factor 10.0 = num_classes"),
    (["--hidden", "8,6", "--activation", "tanh", "--loss", "cross_entropy", "--dtype", "float32", "--batch-size", "1"],
     0, "gradient check: passed"),
    (["--torch-loss", "mse-mean", "--loss", "cross_entropy"], 2, "use it with --loss mse"),
    (["--batch-size", "9999"], 2, "batch size must be at most 3500"),
])
def test_cli_gradcheck_exit_codes(args, code, needle):
    proc = subprocess.run([sys.executable, "-m", "compare", "gradcheck", *args], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == code, proc.stdout + proc.stderr
    assert needle in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr


# --- where the bug is, the line that fixes it, and the page a teacher projects ------------------------

def n_layers(mutant) -> int:
    return len(build(mutant).sizes) - 1


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.__name__)
def test_each_mutants_name_says_where_its_bug_is(mutant):
    name = mutant.__name__.removeprefix("Book").removeprefix("Deep")
    places = [p for p in ("Hidden", "Output", "Onehot", "Every") if p in name]
    assert places, f"{mutant.__name__}: say where the bug is (Hidden..., Output..., Onehot..., Every...)"
    if places[0] == "Hidden":
        assert mutant.enters_at < n_layers(mutant) - 1, mutant.__name__
    elif places[0] in ("Output", "Onehot"):
        assert mutant.enters_at == n_layers(mutant) - 1, mutant.__name__


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.__name__)
def test_each_mutants_correct_line_fixes_it(mutant, gallery_batch):
    """The mutant's source with its # BUG line replaced by ``correct`` passes the check."""
    buggy, _, correct = bug_line(mutant)
    assert buggy != correct and "# BUG" not in correct
    source = inspect.getsource(mutant)
    line = next(ln for ln in source.splitlines() if "# BUG" in ln)
    fixed_source = source.replace(line, line[:len(line) - len(line.lstrip())] + correct)
    namespace = dict(vars(inspect.getmodule(mutant)))
    exec(compile(fixed_source, f"<{mutant.__name__} fixed>", "exec"), namespace)  # noqa: S102  a test's own source
    report = check_gradients(build(namespace[mutant.__name__]), *gallery_batch, names=getattr(mutant, "names", None))
    assert report.passed, f"{mutant.__name__} with {correct!r}:\n{report}"


def test_the_mutant_page_shows_each_buggy_line_beside_the_correct_one_and_the_diagnosis(gallery):
    results = list(gallery.values())
    html = render_html(build_mutants_page(results, "20 mnist-5k training examples"))
    for r in results:
        buggy, _, correct = bug_line(r.mutant)
        section = html.split(f'<section id="{r.mutant.__name__.lower()}">')[1].split("</section>")[0]
        assert escape(buggy) in section and escape(correct) in section, r.mutant.__name__
        assert section.index("the buggy line") < section.index("the correct line")
        assert escape(r.report.diagnosis[0].message) in section, r.mutant.__name__
    assert f"Caught {len(results)}/{len(results)}" in html


def test_cli_out_writes_the_page_and_refuses_it_without_mutants(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "compare", "gradcheck", "--out", str(tmp_path)], cwd=ROOT,
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "use it with --mutants" in proc.stderr and not any(tmp_path.iterdir())
