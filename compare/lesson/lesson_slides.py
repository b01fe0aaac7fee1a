"""The lesson's key moments as slides, for ``mlp-compare run --slides``: the 10x trap, the book's intermediates
beside autograd's ``.grad``, and the book's four update lines beside PyTorch's three calls.

Drawn by ``compare.report.slides`` (16:9, every text at least 14 pt) from the numbers ``measure_lesson``
measured for the page and the code the page quotes, so a slide shows what the page shows.

Lesson: the backward's intermediates, the ``train`` loop's update, and the 10x trap.
"""

from __future__ import annotations

from matplotlib.figure import Figure

from ..report.slides import slide_code, slide_table
from .pages import Quote

UPDATE_WORDS = ("zero_grad", "loss = ", "backward()", "step()")   # PyTorch's side of one update


def _plain(text: str) -> str:
    return text.replace("`", "")


def trap_slide(t: dict) -> Figure:
    rows = [["L, the loss the book's backward differentiates", f"{t['L']:.6f}"],
            ["nn.MSELoss() on one-hot targets", f"{t['nn_mse']:.6f}"],
            ["L / nn.MSELoss()", f"{t['L'] / t['nn_mse']:.6f}"]]
    rows += [[f"‖grad L‖ / ‖grad nn.MSELoss()‖, {g['name']}", f"{g['ratio']:.6f}"] for g in t["grads"]]
    return slide_table("the 10× trap: nn.MSELoss() averages over the 10 classes too", ["quantity", "value"], rows,
                       "every gradient is 10× smaller: at the same learning rate the port learns slower")


def bridge_slide(bridge: list[list[str]]) -> Figure:
    rows = [[_plain(r[0]), _plain(r[1]), r[4], r[5]] for r in bridge]
    return slide_table("the book's chain rule, link by link, is autograd's .grad",
                       ["the book's", "autograd's", "max abs difference", "agree?"], rows,
                       "same batch, same weights, float64: the differences are rounding")


def code_slide() -> Figure:
    book = Quote("scratch.lesson:train", only="-= learning_rate").code().text
    step = Quote("torch_impl.idiomatic:train_step").code().text
    torch_lines = "\n".join(line.split("#")[0].strip() for line in step.splitlines()
                            if any(w in line for w in UPDATE_WORDS))
    return slide_code("one update: the book's four lines, PyTorch's three calls",
                      [("the book's train()", book), ("PyTorch", torch_lines)],
                      "optimizer.step() is the four lines; zero_grad() because .grad accumulates")


def lesson_slides(measured: dict) -> dict[str, Figure]:
    """``{"slides/<name>.png": Figure}`` from ``measure_lesson``'s numbers."""
    return {"slides/trap.png": trap_slide(measured["trap"]),
            "slides/bridge.png": bridge_slide(measured["steps"]["backward"]["bridge"]),
            "slides/code.png": code_slide()}

