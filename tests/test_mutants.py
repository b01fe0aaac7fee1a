"""Every mutant in the gallery is caught with a right diagnosis, precise or generic; the caught-rule
itself can say no; a one-class batch misses exactly the mutants that mix up examples' targets."""

import inspect
import json
import subprocess
import sys
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
                           "--json", str(tmp_path / "m.json")], cwd=ROOT, capture_output=True, text=True)
    data = json.loads((tmp_path / "m.json").read_text())
    lines = proc.stdout.strip().splitlines()
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
