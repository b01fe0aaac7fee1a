"""The verdict on a learner's class: the checks in order, the tables, the findings, for terminal and JSON.

``CheckReport.table()`` is what ``mlp-compare check`` prints and what ``assert_backprop_matches`` puts in
its ``AssertionError``; ``as_dict()`` is what ``--json`` writes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..gradcheck.check import GradientReport
from ..gradcheck.diagnosis import Finding
from .contract import Row
from .returns import LAYOUT_WORDS
from .train import TrainingResult

STAGES = ("forward", "intermediates", "gradients", "purity", "training")
TITLES = {"forward": "forward", "intermediates": "intermediates", "gradients": "gradients (3 opinions)",
          "purity": "purity, repeatability", "training": "training in lockstep"}


@dataclass
class Stage:
    name: str        # one of STAGES
    status: str      # "ok", "FAIL" or "skipped"
    summary: str     # one line

    def as_dict(self) -> dict:
        return {"name": self.name, "status": self.status, "summary": self.summary}


@dataclass
class CheckReport:
    """Everything ``check_backprop`` found about one learner's class."""

    class_name: str
    file: str | None
    kind: str = ""                          # "book" or "project"; empty when the class could not be built
    storage: str = "out_in"                 # how the learner stores its weights
    sizes: tuple[int, ...] = ()
    dtype: str = "float64"
    seed: int = 123
    batch: str = ""                         # which examples the checks used, in words
    stages: list[Stage] = field(default_factory=list)
    intermediates: list[Row] = field(default_factory=list)
    gradient_check: GradientReport | None = None
    training: TrainingResult | None = None
    findings: list[Finding] = field(default_factory=list)
    raised: str | None = None               # "your backward raised ... (file:line)" when their code raised
    isolated: list[str] = field(default_factory=list)      # how their code was kept apart from the checker
    not_isolated: list[str] = field(default_factory=list)  # and what protection did not apply, in words
    not_run: str = ""                       # the script code of their file that was not run, one line
    network: str = ""                       # the network found from their forward, when not the book's
    network_note: str = ""                  # what was assumed instead of what their forward computes, and why
    activation: str = "sigmoid"             # the twin's hidden units and loss, built to match theirs
    loss: str = "mse"
    l2: float = 0.0                         # --l2: the twin's loss adds l2 ‖W‖² on the weights

    @property
    def isolation(self) -> str:
        """One line: where their code ran, and what was not isolated."""
        ran = "; ".join(self.isolated) or "the checking process"
        missing = f"; not isolated: {'; '.join(self.not_isolated)}" if self.not_isolated else ""
        return f"your code ran in {ran}{missing}"

    @property
    def passed(self) -> bool:
        """The one verdict: no check failed. Every finding, and code of theirs that raised, fails the check it
        came from, so the table, the findings, the exit code, the JSON and the report all read this."""
        return all(s.status != "FAIL" for s in self.stages)

    @property
    def exit_code(self) -> int:
        return 0 if self.passed else 1

    def stage(self, name: str, status: str, summary: str) -> None:
        self.stages.append(Stage(name, status, summary))

    def skip_rest(self, why: str) -> None:
        """Mark the stages not reached yet as skipped, saying why."""
        done = {s.name for s in self.stages}
        self.stages += [Stage(name, "skipped", why) for name in STAGES if name not in done]

    @property
    def layout_note(self) -> str:
        if self.kind != "book":
            return "the scratch.MLP contract, weights (out, in) like the twin's"
        if self.storage == "out_in":
            return "the book's shape, weights stored (out, in) like the twin's"
        if self.storage == "in_out":
            return "the book's shape; your weights are stored (in, out); the twin's are (out, in)"
        return "the book's shape; your weight_h and weight_out are stored in different layouts"

    def headline(self) -> str:
        sizes = " -> ".join(map(str, self.sizes)) if self.sizes else "?"
        where = f" from {self.file}" if self.file else ""
        built = f"; {self.network}, so the twin is built with them" if self.network else ""
        note = f"; {self.network_note}" if self.network_note else ""
        note += f"; the twin's loss adds λ‖W‖² on the weights, λ = {self.l2:g} (--l2)" if self.l2 else ""
        return f"{self.class_name}{where}: {self.layout_note}; {sizes}, {self.dtype}{built}{note}"

    def verdict(self) -> str:
        if self.passed:
            return "verdict: your backprop agrees with PyTorch"
        return "verdict: DISAGREES with PyTorch" + (f": {self.raised}" if self.raised else "")

    def table(self, findings: bool = True) -> str:
        """What ``mlp-compare check`` prints, and ``str(report)``: the headline, one line per check, the
        intermediates and gradient tables, the findings, and the verdict in one line. ``findings=False``, for
        a caller that has said them already: no findings, and each check's line without its summary."""
        lines = [self.headline(), self.isolation, *([self.not_run] if self.not_run else [])]
        if self.batch:
            lines.append(f"batch: {self.batch}")
        lines.append("")
        for i, s in enumerate(self.stages, 1):
            lines.append(f"{i}. {TITLES[s.name]:<23} {s.status:<7} {s.summary if findings else ''}".rstrip())
        if self.intermediates:
            lines += ["", "intermediates (yours against the twin's, on the same weights and batch):",
                      f"  {'name':<18} {'what':<19} {'shape':<9} {'verdict':<8} {'max abs':>9} {'max rel':>9}"]
            for r in self.intermediates:
                c = r.comparison
                lines.append(f"  {r.name:<18} {r.what:<19} {'x'.join(map(str, c.shape)):<9} {r.verdict:<8} "
                             f"{c.max_abs_diff:>9.2g} {c.max_rel_diff:>9.2g}")
        if self.gradient_check is not None:
            # the gradient report's own diagnosis lines are among the findings below
            table = self.gradient_check.table().splitlines()[:2 + len(self.gradient_check.rows)]
            lines += ["", "gradients (autograd, finite differences, directional derivatives):"]
            lines += ["  " + line for line in table]
        if self.findings and findings:
            lines += [""] + [f"finding: {f.message}" for f in self.findings]
        lines += ["", self.verdict()]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()

    def as_dict(self) -> dict:
        return {"class": self.class_name, "file": self.file, "kind": self.kind, "storage": self.storage,
                "storage_words": LAYOUT_WORDS.get(self.storage, self.storage), "sizes": list(self.sizes),
                "dtype": self.dtype, "seed": self.seed, "batch": self.batch, "passed": self.passed,
                "exit_code": self.exit_code, "raised": self.raised,
                "stages": [s.as_dict() for s in self.stages],
                "intermediates": [r.as_dict() for r in self.intermediates],
                "gradient_check": self.gradient_check.as_dict() if self.gradient_check else None,
                "training": self.training.as_dict() if self.training else None,
                "findings": [f.as_dict() for f in self.findings],
                "isolation": {"applied": self.isolated, "missing": self.not_isolated}, "not_run": self.not_run,
                "network": {"found": self.network, "activation": self.activation, "loss": self.loss,
                            "note": self.network_note, "l2": self.l2}}
