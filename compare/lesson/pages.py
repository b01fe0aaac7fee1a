"""The bridge lesson: the lesson's NumPy MLP and its PyTorch twin, step by step, side by side.

Every step quotes the real source of both sides with ``inspect`` (the lesson cannot drift from the
code: a quoted function that disappears fails ``tests/test_bridge.py``), lists the array shapes at
that step and the agreement measured live on real digits when the page is written
(``compare.lesson.measure``; one function per step in ``compare.lesson.steps``). The 10x trap is
worked through with real numbers too.

Lesson: the whole of "Implementing a Multi-Layer NN", from loading the digits to the misclassified examples.
"""

from __future__ import annotations

import importlib
import inspect
import textwrap
from dataclasses import dataclass
from pathlib import Path

from ..data.load import Dataset
from ..files import write_atomic
from ..report.html import Block, Code, Columns, Link, Note, Page, Section, Table, render_html, slug
from ..report.markdown import render_markdown_page
from ..report.run_page import sci
from .measure import BATCH, measure_lesson
from .walkthrough import CellQuote


@dataclass(frozen=True)
class Quote:
    """Real source code: ``"module:qualname"``, or only its lines that contain ``only``."""

    target: str
    only: str = ""

    def resolve(self):
        module, qualname = self.target.split(":")
        obj = importlib.import_module(module)
        for part in qualname.split("."):
            obj = getattr(obj, part)
        return obj

    def code(self) -> Code:
        """The quoted text, dedented, labelled ``file:line qualname``."""
        obj = self.resolve()
        lines, start = inspect.getsourcelines(obj)
        numbered = list(enumerate(lines, start))
        if self.only:
            numbered = [(n, line) for n, line in numbered if self.only in line]
        text = textwrap.dedent("".join(line for _, line in numbered))
        module = inspect.getmodule(obj)   # where it is defined, not where it was imported from
        if module is None:
            raise ValueError(f"{self.target}: no module defines it, so its file cannot be named; quote a function, "
                             "class or method defined in a module")
        first = numbered[0][0] if numbered else start
        return Code(text, f"{module.__name__.replace('.', '/')}.py:{first} {self.target.split(':')[1]}")


@dataclass(frozen=True)
class Step:
    key: str
    title: str
    text: str                        # what happens here, and what PyTorch automates
    scratch: tuple[Quote, ...] = ()  # the book's code
    torch: tuple[Quote | CellQuote, ...] = ()   # the PyTorch a learner writes: cells of torch_impl/walkthrough.py
    shared: tuple[Quote, ...] = ()   # code both twins run: one pipeline, no copy of it per twin
    note: str = ""                   # how the page keeps the two columns in lockstep: what runs, where not shown


Q, C = Quote, CellQuote
STEPS = (
    Step("load", "Load the digits",
         "One loader for both columns (the book fetches MNIST with `fetch_openml`; here the embedded 5,000 digits "
         "or the IDX files). PyTorch gets the very same arrays as tensors: `torch.from_numpy` shares the memory, "
         "and a `TensorDataset` pairs each image with its label.",
         shared=(Q("compare.data.load:load_dataset"),), torch=(C("load"),),
         note="The book's `fetch_openml` needs the network; this page loads the same kind of arrays offline."),
    Step("normalise", "Normalise and flatten",
         "The book scales pixels with `((X / 255.) - .5) * 2` to [−1, 1] and flattens each image to 784 "
         "features. torchvision's `ToTensor()` then `Normalize((0.5,), (0.5,))` is the same scaling.",
         shared=(Q("compare.data.load:preprocess"),)),
    Step("onehot", "One-hot targets",
         "The book turns labels into one-hot rows by hand; PyTorch has `F.one_hot`, used inside the loss.",
         scratch=(Q("scratch.lesson:int_to_onehot"),), torch=(C("loss"),)),
    Step("split", "Split: train, validation, test",
         "A seeded, stratified split, made once: both columns train, validate and test on the same examples.",
         shared=(Q("compare.data.load:stratified_indices"),)),
    Step("init", "Initialise the weights",
         "The book draws `normal(0, 0.1)` weights from `RandomState(123)`. `nn.Linear` draws its own "
         "(Kaiming-uniform) and seeds do not transfer between NumPy and torch, so PyTorch starts from the "
         "book's arrays: same (out, in) layout, no transposes. The `nn.Module` version names its parameters "
         "after its attributes; one line maps them.",
         scratch=(Q("scratch.lesson:NeuralNetMLP.__init__"),), torch=(C("model"), C("init"))),
    Step("forward", "Forward pass",
         "`np.dot(x, W.T) + b` and the sigmoid, by hand; in PyTorch `nn.Linear` and `nn.Sigmoid` in an "
         "`nn.Sequential`, called as `net(X)`.",
         scratch=(Q("scratch.lesson:NeuralNetMLP.forward"),), torch=(C("forward"),)),
    Step("dtype", "float64 and float32",
         "NumPy computes in float64; torch makes float32 layers. Fed the book's float64 digits, a float32 "
         "`nn.Linear` raises `mat1 and mat2 must have the same dtype`. Train in float32 (`X.float()`), or make the "
         "network float64 (`.double()`), as this lesson does to compare with the book to the last bit.",
         torch=(C("dtype"),)),
    Step("loss", "Loss",
         "L is the squared error summed over the classes, averaged over the examples: the loss whose "
         "gradient the book's backward computes. The book prints `mse_loss`, which is 10× smaller.",
         scratch=(Q("scratch.lesson:mse_loss"),), torch=(C("loss"),)),
    Step("backward", "Backward pass",
         "The heart of the lesson. The book writes the chain rule out, link by link, and names every "
         "intermediate. PyTorch records the forward pass and `loss.backward()` walks it back, computing the very "
         "same intermediates on its way to the parameters' `.grad`; it keeps them only when asked "
         "(`retain_grad()`, in the first table's measurement). The table sets each of the book's intermediates "
         "beside autograd's: `delta_out` *is* `z_out.grad`.",
         scratch=(Q("scratch.lesson:NeuralNetMLP.backward"),), torch=(C("backward"),),
         note="The intermediates are kept with `retain_grad()` (`torch_impl.idiomatic.forward_keeping_grads`)."),
    Step("update", "Update the weights",
         "The book's `train()` moves each of the four parameters by `-learning_rate * gradient`; in PyTorch "
         "`optimizer.step()` does it for every parameter, after `optimizer.zero_grad()`, because `.grad` "
         "accumulates.",
         scratch=(Q("scratch.lesson:train", only="-= learning_rate"),), torch=(C("update"),)),
    Step("minibatches", "Mini-batches and epochs",
         "The book shuffles and slices index arrays; the `DataLoader` takes the same batches as its "
         "`batch_sampler`, so both columns train on the same examples in the same order.",
         scratch=(Q("scratch.lesson:minibatch_generator"), Q("scratch.lesson:train")), torch=(C("minibatches"),),
         note="A `DataLoader(..., shuffle=True)` would shuffle with torch's own generator: the two columns "
              "would see other batches, and their weights could not be compared step by step."),
    Step("evaluate", "Evaluate",
         "The printed MSE and the accuracy on the validation set. PyTorch evaluates under `torch.no_grad()`: "
         "no graph is recorded.",
         scratch=(Q("scratch.lesson:compute_mse_and_acc"),), torch=(C("evaluate"),),
         note="The book's `compute_mse_and_acc` takes its batches from `minibatch_generator`, which shuffles "
              "with the global RNG: each evaluation would move every later training batch. Here it takes them "
              "in order; the mean over the batches is the same."),
    Step("misclassified", "Misclassified examples",
         "The predicted class is the output with the largest value, `argmax` over the classes, on either side.",
         scratch=(Q("scratch.lesson:compute_mse_and_acc", only="argmax"),), torch=(C("misclassified"),)),
)
GRADCHECK_URL = "https://pytorch.org/docs/stable/generated/torch.autograd.gradcheck.html"
GRADCHECK_NOTE = Note([
    "PyTorch's own test of a backward is ", Link("`torch.autograd.gradcheck`", GRADCHECK_URL), ": it compares "
    "the analytical Jacobian autograd computes with a numerical one from central finite differences, in float64 "
    "(eps 1e-6, atol 1e-5, rtol 1e-3). This project asks three opinions of a hand-written backward instead: "
    "autograd itself (the tables above, to the last bit), fourth-order central differences in float64 (truncation "
    "error ~h⁴ where gradcheck's stencil has ~h²), and directional derivatives (one difference along a random "
    "direction checks a whole weight matrix at once, where gradcheck nudges one entry at a time). gradcheck tests autograd's "
    "formulas for a function; the three opinions test *your* backward against them and say which link is wrong "
    "(`mlp-compare check`)."])
TRAP_TITLE = "The 10× trap, with real numbers"
TRAP_QUOTES = (Q("scratch.lesson:NeuralNetMLP.backward", only="d_loss__d_a_out ="),
               Q("scratch.lesson:mse_loss", only="np.mean"),
               Q("torch_impl.model:squared_error_loss", only="sum(dim=1)"),
               Q("torch_impl.model:mse_mean_loss", only="mse_loss("))
# The one list tests/test_bridge.py checks: every quoted object exists and its quoted text is not empty.
QUOTED = tuple(dict.fromkeys(q for s in STEPS for q in (*s.scratch, *s.torch, *s.shared))) + TRAP_QUOTES


def trap_blocks(t: dict) -> list[Block]:
    """The 10x trap section, from ``measure_trap``'s numbers and the quoted lines."""
    q = TRAP_QUOTES
    runs = t["runs"]
    shown = range(1, t["epochs"] + 1)
    return [
        "The lesson's backward starts from the derivative of the squared error **summed over the 10 classes** and "
        "averaged over the n examples. The MSE it prints averages over all n × 10 entries. A first PyTorch port "
        "reaches for `nn.MSELoss()`, which is the printed one:",
        Columns([("scratch (NumPy)", [q[0].code(), q[1].code()]), ("PyTorch", [q[2].code(), q[3].code()])]),
        f"On the lesson's batch of {BATCH} digits, {t['batch']}, before any training:",
        Table(["quantity", "value"], [
            ["L, the loss the backward differentiates", repr(t["L"])],
            ["the lesson's printed MSE (`mse_loss`)", repr(t["printed_mse"])],
            ["`nn.MSELoss()` on one-hot targets", repr(t["nn_mse"])],
            ["L / `nn.MSELoss()`", repr(t["L"] / t["nn_mse"])]]),
        "So every gradient of `nn.MSELoss()` is exactly 10× smaller than the one the lesson's backward computes:",
        Table(["parameter", "lesson backward vs autograd of L, max abs diff", "‖grad L‖ / ‖grad nn.MSELoss‖",
               "max |grad L − 10 · grad MSELoss| / max |grad L|"],
              [[f"`{g['name']}`", sci(g["manual_vs_L"]), repr(g["ratio"]), sci(g["deviation"])] for g in t["grads"]]),
        f"At the same learning rate the port takes steps 10× too short and learns slower. Validation accuracy "
        f"while training on {t['train_rows']} digits, from the same weights and the same batches:",
        Table(["run", *(f"valid acc, epoch {e}" for e in shown)],
              [[k.replace("nn.MSELoss()", "`nn.MSELoss()`"), *(f"{v[e - 1]:.4f}" for e in shown)] for k, v in runs.items()]),
        Note(f"**The trap is a rescaled learning rate.** `nn.MSELoss()` with a 10× larger learning rate retraces the "
             f"twin's run: after {t['epochs']} epochs their weights differ by {sci(t['rescaled_gap'])}. The twin here "
             "avoids the trap by using L itself: `((out - onehot) ** 2).sum(dim=1).mean()`.", "ok"),
    ]


def _measured_table(rows: list[list[str]]) -> Table:
    return Table(["measured", "scratch (NumPy)", "PyTorch", "max abs difference", "agree?"], rows, align="lrrrl")


def step_blocks(step: Step, measured: dict) -> list[Block]:
    blocks: list[Block] = [step.text]
    if step.note:
        blocks.append(Note(step.note))
    if step.shared:
        blocks += ["Shared by both twins:", *(q.code() for q in step.shared)]
    cols = [(name, [q.code() for q in quotes]) for name, quotes in
            (("scratch (NumPy)", step.scratch), ("PyTorch", step.torch)) if quotes]
    if cols:
        blocks.append(Columns(cols))
    if measured.get("shapes"):
        blocks.append(Table(["array", "shape"], [[f"`{a}`", s] for a, s in measured["shapes"]], align="ll"))
    if measured.get("bridge"):
        blocks += ["Each link of the book's chain rule and the tensor whose `.grad` autograd computed for it, "
                   "on the same batch:",
                   Table(["the book's", "autograd's", "what it is", "shape", "max abs difference", "agree?"],
                         measured["bridge"], align="llllrl")]
    if measured.get("rows"):
        blocks.append(_measured_table(measured["rows"]))
    blocks += [Note(n) for n in measured.get("notes", [])]
    return blocks


def build_lesson(data: Dataset | None = None, seed: int = 123, report: str | None = None,
                 measured: dict | None = None) -> Page:
    """The lesson as a page, measured on ``data`` (a ``compare.data.Dataset``; default: mnist-5k), or from
    ``measure_lesson``'s numbers when given."""
    m = measured if measured is not None else measure_lesson(data, seed)
    page = Page("The bridge lesson: the lesson's NumPy MLP and its PyTorch twin, step by step")
    page.intro = [
        f"The network of \"Implementing a Multi-Layer NN\" (784 → 50 → 10, sigmoid, squared error, mini-batch "
        f"SGD with learning rate 0.1) written twice: `scratch.NeuralNetMLP` in NumPy, and an `nn.Sequential` "
        f"trained the PyTorch way. Every code block below is the real source, quoted with `inspect` when this "
        f"page was written; every number was measured then, on {m['about']}.",
        "A difference of a few times 1e-16 is the last bit of a float64: the two sides compute the same "
        "numbers in a different order. A real mistake (a wrong factor, sign or layer) is off by far more.",
        Table(["step", "largest measured difference"],
              [[[f"{i}. ", Link(s.title, f"#{slug(s.title)}")], m["steps"][s.key]["worst"]]
               for i, s in enumerate(STEPS, 1)]
              + [[[f"{len(STEPS) + 1}. ", Link(TRAP_TITLE, f"#{slug(TRAP_TITLE)}")], "ratio exactly 10"]],
              align="lr"),
    ]
    page.toc = False  # the table above is the contents
    if report:
        page.intro.append(["Back to ", Link("the comparison report", report), "."])
    page.sections = [Section(s.title, step_blocks(s, m["steps"][s.key]) + ([GRADCHECK_NOTE] if s.key == "backward"
                                                                         else [])) for s in STEPS]
    page.sections.append(Section(TRAP_TITLE, trap_blocks(m["trap"])))
    page.footer = "Written by mlp-compare lesson. Every quoted line is the code that ran."
    return page


def write_lesson(out: Path, data: Dataset | None = None, seed: int = 123, report: str | None = "report.html",
                 measured: dict | None = None) -> Page:
    """Write ``lesson.html`` (self-contained) and ``lesson.md`` into ``out``; returns the page. ``measured``:
    ``measure_lesson``'s numbers, when the caller has them (``run --slides`` draws slides from them too)."""
    out = Path(out)
    page = build_lesson(data, seed, report, measured=measured)
    write_atomic(out / "lesson.html", render_html(page))
    md = render_markdown_page(page)
    write_atomic(out / "lesson.md", md.replace("](report.html)", "](report.md)"))
    return page
