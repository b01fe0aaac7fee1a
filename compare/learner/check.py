"""``check_backprop``: every check on a learner's class, in order, into one ``CheckReport``.

1. forward, 2. intermediates, 3. gradients (three opinions), 4. purity and repeatability, 5. training in
lockstep. Each check gets a fresh instance. The checks run on one batch of ``mnist-5k`` training digits
drawn stratified and seeded, as every gradient check here is (``compare.data.load.gradient_check_batch``): on a batch of
one class a one-hot built as ``onehot[:, y] = 1`` gives exactly the right gradient.

Their code raising (``LearnerRaised``) or returning what cannot be used (``BadReturn``) ends the check
with that one line as the finding; a class that cannot be loaded or built raises ``CannotCheck``.
"""

from __future__ import annotations

import dataclasses
import inspect

import numpy as np

from ..data.load import Dataset, describe_batch, gradient_check_batch, label_counts, load_dataset
from ..errors import UserError
from ..gradcheck.diagnosis import Finding
from ..twins.threads import same_threads
from ..worker.client import isolation
from .adapt import subject
from .batch_sizes import check_sizes, other_size, raises_off_size, scaled_by_batch
from .blame import LearnerRaised, shown
from .book import BookLearner
from .borrowed import fail_borrowed
from .contract import check_forward, check_gradient_opinions, check_intermediates
from .handles import class_name_of, is_remote
from .purity import check_purity
from .result import CheckReport
from .returns import BadReturn
from .spec import as_checked, their_network, with_nonzero_biases
from .train import TrainingResult, replay_to, train_lockstep

FEATURES, HIDDEN, CLASSES = 784, 50, 10   # the book's network; mnist-5k's digits and classes
CHECK_BATCH = 100                         # examples in the checked batch: 10 of each class


def check_batch(data: Dataset, seed: int, size: int = CHECK_BATCH) -> tuple[np.ndarray, np.ndarray]:
    """The run's gradient-check batch of the training split: X (size, D), y (size,), every class present."""
    idx = gradient_check_batch(data.y_train, size, seed, data.num_classes)
    return data.X_train[idx], data.y_train[idx]


def _source_file(obj) -> str | None:
    try:
        return inspect.getsourcefile(obj if inspect.isclass(obj) else type(obj))
    except (TypeError, OSError):  # a builtin; or a class defined in a notebook or at the prompt (__main__)
        return None


def _dataset(data: Dataset | None, seed: int, dtype: np.dtype) -> Dataset:
    if data is None:
        return load_dataset("mnist-5k", seed=seed, dtype=dtype)
    if data.X_train.dtype == dtype:
        return data
    return dataclasses.replace(data, **{k: getattr(data, k).astype(dtype) for k in ("X_train", "X_valid", "X_test")})


def check_backprop(obj, *, epochs: int = 5, batch_size: int = 100, lr: float = 0.1, seed: int = 123,
                   dtype="float64", data: Dataset | None = None, file: str | None = None,
                   isolate: bool = False, timeout: float = 120.0, allow_imports: tuple[str, ...] = (),
                   l2: float = 0.0, loss: str | None = None) -> CheckReport:
    """Check a learner's class (or instance) against its PyTorch twin; returns the ``CheckReport``.

    ``obj``: the book's ``NeuralNetMLP`` shape or the ``scratch.MLP`` contract; a class is built as
    ``NeuralNetMLP(num_features=784, num_hidden=50, num_classes=10, random_seed=seed)``. ``epochs``: lockstep
    training afterwards (0 skips it). ``data``: the mnist-5k ``Dataset`` to use (loaded when not given).
    Raises ``CannotCheck`` (a ``ValueError``) when the class cannot be loaded, built or adapted.

    ``loss``: under a softmax output, check against this loss (``"cross_entropy"`` or ``"softmax_mse"``) instead of
    the one read from the backward: an exercise that asks for one loss pins it.
    ``l2``: λ of an L2 penalty λ‖W‖² on the weights (not the biases) that the twin's loss adds, to check a
    class whose backward adds its gradient 2λW (training uses ``weight_decay`` = 2λ on the weights).
    ``allow_imports``: modules a backward may use (``"torch"``); by default a backward that is not NumPy code
    of the learner's own fails (``compare.learner.borrowed``). ``isolate``: load the class's source file in a
    worker process (``compare.worker``) and check it there, as ``mlp-compare check`` does, within ``timeout``
    seconds (an instance is checked through its class); by default a learner's own test runs it here. A
    class without a source file (defined at a prompt) is checked here, and the report says so.
    """
    dtype = np.dtype(dtype)
    if isolate and not is_remote(obj):
        return _check_isolated(obj, file, dict(epochs=epochs, batch_size=batch_size, lr=lr, seed=seed, dtype=dtype,
                                               data=data, timeout=timeout, allow_imports=allow_imports, l2=l2,
                                               loss=loss))
    if dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(f"dtype must be float32 or float64, got {dtype}")
    if epochs < 0:
        raise ValueError(f"epochs must be >= 0 (0 skips training), got {epochs}")
    if not l2 >= 0:
        raise ValueError(f"l2 must be >= 0 (0: no penalty), got {l2}")
    if loss not in (None, "cross_entropy", "softmax_mse"):
        raise ValueError(f"loss must be None (read from the backward), 'cross_entropy' or 'softmax_mse', got {loss!r}")
    file = file or _source_file(obj)
    name = obj.__name__ if inspect.isclass(obj) or is_remote(obj) else class_name_of(obj)
    report = CheckReport(name, shown(file) if file else None, dtype=dtype.name, seed=seed)
    if is_remote(obj):
        _, report.isolated, report.not_isolated = (list(x) for x in isolation())
    else:
        report.not_isolated = ["the Python API runs a learner's own test here (isolate=True for a worker)" if file
                               else "the class has no source file a worker could load"]
    try:
        subj = subject(obj, file, (FEATURES, HIDDEN, CLASSES), seed, dtype)
    except LearnerRaised as e:  # their constructor raised: their bug, one line
        report.raised = str(e)
        report.stage("forward", "FAIL", f"the class could not be built: {e}")
        report.skip_rest("not reached: the class could not be built")
        return report
    report.l2 = l2
    first = subj.make()
    report.kind, report.storage, report.sizes = first.kind, first.storage, first.sizes
    report.activation, report.loss = first.activation, first.loss_name
    data = _dataset(data, seed, dtype)
    if epochs and not 1 <= batch_size <= len(data.y_train):  # refused before any check runs, not after them
        raise UserError(f"batch size must be between 1 and the training-set size {len(data.y_train)}, got {batch_size}")
    batches = [check_batch(data, seed, size) for size in check_sizes(batch_size)]
    report.batch = " and ".join(f"{len(y)} mnist-5k training digits, {describe_batch(label_counts(y, data.num_classes))}"
                                for _, y in batches) + f" (seed {seed}; biases set non-zero so every term shows)"
    # One thread each: the arrays are small, and the sides alternate step by step, where pools that
    # spin after their work would slow the other side down.
    with same_threads(1):
        network = None
        if isinstance(first, BookLearner):   # the twin is built as the network they built, found from their forward
            network, report.network_note = their_network(first, subj.make, batches[0], seed, loss)
            if network is not None:
                report.activation, report.loss = network.activation, network.loss_name
                report.network = "" if network.is_book else network.words()
        subj = dataclasses.replace(subj, make=as_checked(subj.make, network, l2))
        _run_checks(report, subj, batches, data, dict(epochs=epochs, batch_size=batch_size, lr=lr, seed=seed))
    fail_borrowed(report, file, allow_imports, first.obj.description if is_remote(first.obj) else None)
    return report


def _check_isolated(obj, file: str | None, kwargs: dict) -> CheckReport:
    """``check_backprop`` with the class loaded from its file in a worker (a class without one: here)."""
    file = file or _source_file(obj)
    if file is None:
        return check_backprop(obj, file=None, **kwargs)
    from ..worker.client import Worker
    from .load import load_in_worker, prepare

    name = obj.__name__ if inspect.isclass(obj) else type(obj).__name__
    # The whole file, as it already ran in the caller's process to give this class.
    prepared = prepare(f"{file}:{name}", run_file=True)
    with Worker(prepared.submission, timeout=kwargs.pop("timeout", 120.0), texts=prepared.texts) as worker:
        target = load_in_worker(worker, prepared)
        return check_backprop(target.cls, file=target.file, **kwargs)


def _run_checks(report: CheckReport, subj, batches: list[tuple[np.ndarray, np.ndarray]], data: Dataset,
                training: dict) -> None:
    (X, y), (X2, y2) = batches

    def make():
        return with_nonzero_biases(subj.make(), training["seed"])

    current, size = "forward", len(y)
    try:
        rows, findings, _ = check_forward(make(), X)
        report.intermediates = rows
        if findings:
            report.findings += findings
            report.stage("forward", "FAIL", findings[0].message)
            report.skip_rest("not reached: the forward pass must agree first")
            return
        names = ", ".join(r.name for r in rows[:-1]) + f" and {rows[-1].name}" if len(rows) > 1 else rows[0].name
        worst = max(r.comparison.max_rel_diff for r in rows)
        report.stage("forward", "ok", f"{names} match the twin's (max rel diff {worst:.2g})")

        current = "intermediates"
        rows, findings = check_intermediates(make(), X, y, rows)
        report.intermediates, report.findings = rows, report.findings + findings
        worst = max(r.comparison.max_rel_diff for r in rows)
        report.stage("intermediates", "FAIL" if findings else "ok",
                     f"{findings[0].params[0]} is the first that differs" if findings
                     else f"all {len(rows)} values match the twin's (max rel diff {worst:.2g})")

        current = "gradients"
        report.gradient_check, findings = check_gradient_opinions(make(), X, y, training["seed"])
        size = len(y2)
        constant = scaled_by_batch(make(), batches)
        other = other_size(make(), X2, y2) if constant is None and report.gradient_check.passed else None
        report.findings += [f for f in (constant, other) if f is not None] + findings
        bad = [r.shown for r in report.gradient_check.rows if not r.passed]
        named = next((f for f in findings if f.kind in ("loss-factor", "l2-penalty")), None)   # what it is
        report.stage("gradients", "FAIL" if bad or constant or other else "ok",
                     constant.message if constant else named.message if named else f"wrong: {', '.join(bad)}"
                     if bad else other.message if other
                     else f"autograd, finite differences and directional derivatives agree on every parameter at "
                     f"batch {len(y)}, and autograd at batch {len(y2)}")

        current, size = "purity", len(y)
        findings = check_purity(make(), X, y)
        report.findings += findings
        report.stage("purity", "FAIL" if findings else "ok",
                     ", ".join(dict.fromkeys(f.kind for f in findings)) if findings else
                     "forward and backward leave the weights and their inputs alone; backward repeats exactly")

        current = "training"
        _training(report, subj, data, **training)
    except LearnerRaised as e:
        report.raised = str(e)
        Xc, yc = (X, y) if size == len(y) else (X2, y2)
        off = None if current == "training" else raises_off_size(make, e, Xc, yc, data.X_train, data.y_train,
                                                                   training["batch_size"])
        if off is not None:
            report.findings.append(off)
        report.stage(current, "FAIL", off.message if off else str(e))
        report.skip_rest("not reached: your code raised")
    except BadReturn as e:
        report.findings.append(e.finding)
        report.stage(current, "FAIL", e.finding.message)
        report.skip_rest("not reached: fix what your code returns first")


def _training(report: CheckReport, subj, data: Dataset, epochs: int, batch_size: int, lr: float, seed: int) -> None:
    if epochs == 0:
        report.stage("training", "skipped", "epochs 0")
        return
    result = train_lockstep(subj.make(), data, epochs, batch_size, lr, seed)
    report.training = result
    if result.stopped:
        report.findings.append(_finding("training-stopped", result.stopped))
        report.stage("training", "FAIL", result.stopped)
        if result.stopped.startswith("your ") and "raised" in result.stopped:
            report.raised = result.stopped
        return
    agreement = result.agreement
    assert agreement is not None  # training finished
    if not agreement.passed:
        finding = blame_parting(subj, data, result, seed)
        report.findings.append(finding)
        report.stage("training", "FAIL", f"parted at {agreement.where(agreement.parted_at or 0)}: "
                     f"{agreement.gap_at_parting:.2g} apart, {agreement.allowed_at_parting:.2g} allowed")
        return
    acc = {side: float(np.mean(pred == data.y_test)) for side, pred in (result.predictions or {}).items()}
    done = f"{result.epochs_done} epoch{'s' * (result.epochs_done != 1)}"
    report.stage("training", "ok", f"{done} x {result.steps_per_epoch} steps beside optim.SGD: "
                 f"{agreement.summary()}; test accuracy yours {acc['scratch']:.4f}, twin {acc['torch']:.4f}")


def blame_parting(subj, data: Dataset, result: TrainingResult, seed: int) -> Finding:
    """What went wrong where training parted: the checks re-run at the last weights both sides agreed on.

    A fresh instance is trained to the step before the parting and checked there, on that step's batch: a
    forward or gradient that is wrong only at those weights is named; if everything agrees there, what
    differs is the step itself.
    """
    a = result.agreement
    assert a is not None and a.parted_at is not None
    k = a.parted_at
    head = (f"training parted from the twin at {a.where(k)}: the weights are {a.gap_at_parting:.2g} apart after "
            f"the update, where two correct implementations are at most {a.envelope or 0:.2g} apart")
    state = replay_to(subj.make(), data, result.batches[:k - 1], result.lr)
    idx = result.batches[k - 1]
    learner = subj.make()
    learner.load_state_dict(state)
    X, y = data.X_train[idx], data.y_train[idx]
    try:
        rows, findings, _ = check_forward(learner, X)
        if not findings:
            _, findings = check_gradient_opinions(learner, X, y, seed)
    except (LearnerRaised, BadReturn) as e:
        found = str(e) if isinstance(e, LearnerRaised) else e.finding.message
        return _finding("training-parted", f"{head}; at the weights just before, on that step's batch, {found}")
    if findings:
        return Finding("training-parted", f"{head}; at the weights just before it, on that step's batch, the checks "
                       f"fail: {findings[0].message}", findings[0].params)
    widest = result.widest[k - 1]
    return Finding("training-parted", f"{head} ({widest} the furthest); at the weights just before it, on that "
                   f"step's batch, your forward and gradients agree with the twin's, so what differs is the step "
                   f"itself: each parameter must move by exactly -learning_rate x its gradient, and nothing may "
                   f"carry over from one call to the next (a counter, a cached value, weights changed inside "
                   f"forward or backward)", [widest])


def _finding(kind: str, message: str, params: list[str] | None = None) -> Finding:
    return Finding(kind, message, params or [])


class BackpropMismatch(AssertionError):
    """``assert_backprop_matches``' failure: the table as its message, the ``CheckReport`` as ``report``."""

    def __init__(self, report: CheckReport):
        self.report = report
        super().__init__("your backprop does not match PyTorch:\n" + report.table())


def assert_backprop_matches(obj, **kwargs) -> CheckReport:
    """For a learner's pytest: ``check_backprop(obj, **kwargs)``; ``BackpropMismatch`` (an ``AssertionError``)
    with the table on failure."""
    report = check_backprop(obj, **kwargs)
    if not report.passed:
        raise BackpropMismatch(report)
    return report
