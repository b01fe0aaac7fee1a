"""``check`` at weights and batch sizes where every mistake shows: two batch sizes that are not the training one,
non-zero biases, and weights reached through properties."""

from pathlib import Path

import pytest

from compare.learner import CannotCheck, check_backprop, load_target
from compare.learner.batch_sizes import check_sizes

LEARNERS = Path(__file__).resolve().parent / "learners"


def check(name: str, data, **kwargs):
    target = load_target(str(LEARNERS / name))
    return check_backprop(target.cls, file=target.file, data=data, **{"epochs": 0, **kwargs})


def test_the_checked_sizes_differ_from_each_other_and_from_the_training_batch():
    for training in (1, 37, 64, 100):
        a, b = check_sizes(training)
        assert a != b and training not in (a, b)


def test_a_division_by_the_chapters_global_minibatch_size_is_named(mnist5k):
    report = check("minibatch_global.py", mnist5k, epochs=1)   # trains at batch 100, where it is right
    assert not report.passed and report.exit_code == 1, report.table()
    found = [f for f in report.findings if f.kind == "batch-constant"]
    assert found and "64/100 of the true gradient at batch 64 and 37/100" in found[0].message, report.table()
    assert "instead of y.shape[0]" in found[0].message
    assert "batch 64 and 37/100" in next(s.summary for s in report.stages if s.name == "gradients")


def test_an_array_of_100_rows_that_raises_at_other_sizes_is_named(mnist5k):
    report = check("zeros_batch_100.py", mnist5k)
    assert not report.passed, report.table()
    found = [f for f in report.findings if f.kind == "batch-constant"]
    assert found and "at batch 64, but runs at batch 100" in found[0].message, report.table()
    assert "zeros_batch_100.py:" in found[0].message   # their file and line, from the error


def test_a_forward_without_its_output_bias_fails_naming_the_bias(mnist5k):
    report = check("missing_bias_out.py", mnist5k)
    forward = next(s for s in report.stages if s.name == "forward")
    assert forward.status == "FAIL", report.table()
    assert "a_out does not move when bias_out does: is `+ self.bias_out` missing?" in forward.summary


def test_training_still_starts_from_the_books_zero_biases(mnist5k):
    report = check("book_mlp.py", mnist5k, epochs=1)
    assert report.passed and report.training.agreement.largest_gap < 1e-14, report.table()


def test_weights_behind_properties_are_checked_like_attributes(mnist5k):
    report = check("property_weights.py", mnist5k, epochs=1)
    assert report.passed and [s.status for s in report.stages] == ["ok"] * 5, report.table()


def test_a_property_without_a_setter_cannot_be_cast_and_says_so(mnist5k):
    with pytest.raises(CannotCheck, match=r"weight_h cannot be set, so it cannot be cast to float32; give the "
                                          r"property a setter"):
        check("property_weights.py", mnist5k, dtype="float32")


def test_a_constant_factor_reads_the_same_in_every_column(mnist5k):
    """A backward missing its ``2.`` is exactly half the gradient: 0.5 for autograd, finite differences and the
    directional derivatives alike, each beside its tolerance in the same units."""
    report = check("missing_two.py", mnist5k)
    for row in report.gradient_check.rows:
        for rel in (row.max_rel_diff, row.fd_max_rel, row.dir_max_rel):
            assert rel == pytest.approx(0.5, abs=1e-4), report.table()
        assert row.fd_tol < 1e-4 and row.dir_tol < 1e-4 and row.autograd.rel_tolerance < 1e-9
    table = report.gradient_check.table()
    assert "a factor c reads |c - 1| in every column" in table
    assert table.splitlines()[0].count("(tol)") == 3


def test_one_verdict_every_finding_fails_the_check_it_came_from(mnist5k):
    """``passed`` reads the stages alone: no finding or exception of theirs may leave every check ok."""
    seen = 0
    for path in sorted(LEARNERS.glob("*.py")):
        try:
            report = check(path.name, mnist5k)
        except CannotCheck:
            continue
        seen += 1
        if report.findings or report.raised:
            assert any(s.status == "FAIL" for s in report.stages) and not report.passed, report.table()
        assert report.exit_code == (0 if report.passed else 1)
    assert seen >= 25


def test_code_that_refuses_a_second_call_is_not_blamed_on_the_batch_size(mnist5k):
    report = check("raises_on_second_call.py", mnist5k)
    assert not report.passed and "backward may be called once per forward" in (report.raised or ""), report.table()
    assert not [f for f in report.findings if f.kind == "batch-constant"], report.table()


def test_a_property_that_returns_a_copy_is_named_for_losing_writes(mnist5k):
    with pytest.raises(CannotCheck, match=r"weight_h returns a new copy every time it is read, so writing into it "
                                          r"changes nothing"):
        check("property_copy.py", mnist5k)


def test_where_training_parts_the_checks_rerun_at_those_weights_name_the_forward(mnist5k):
    """A sigmoid clipped at +-14 is right until a unit saturates, which only training reaches."""
    report = check("clipped_sigmoid.py", mnist5k, epochs=1, lr=2.0, batch_size=10)
    assert [s.status for s in report.stages] == ["ok", "ok", "ok", "ok", "FAIL"], report.table()
    parted = next(f for f in report.findings if f.kind == "training-parted")
    assert "at the weights just before it, on that step's batch, the checks fail: a_h differs" in parted.message
