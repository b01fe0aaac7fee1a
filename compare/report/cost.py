"""Why the run's timing came out as it did: the arithmetic of one training step against the time measured.

A step of an MLP is its matrix products: ``2 * in * out * B`` floating-point operations each (a multiply and an
add per weight per example). Forward is one product per layer; backward is one per layer for the weight
gradient, and one per layer but the first for the gradient passed down (nobody needs the input pixels'
gradient). For 784 -> 50 -> 10 at batch 100 that is 7.94 + 8.04 = 15.98 MFLOP per step (the rule of thumb
6 * weights * B = 23.8 MFLOP counts that unneeded gradient too).

The report's "What it cost" section is built here too.

Lesson: the cost of ``NeuralNetMLP.forward`` and ``backward`` of "Implementing a Multi-Layer NN", in numbers.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..thread_pools import SHORT_SPINS
from .html import Block, Table


def ratio_spread(timing: dict, times: str = "x") -> str:
    """``"per epoch: median 2.38x, 2.10x to 3.30x over 50 epochs"``: how much the ratio moves, or ``""``."""
    r = timing.get("epoch_ratios")
    if not r:
        return ""
    over = f" over {r['epochs']} epochs" if r["epochs"] > 1 else ""
    return f"per epoch: median {r['median']:.2f}{times}, {r['min']:.2f}{times} to {r['max']:.2f}{times}{over}"

def flops_per_step(sizes: Sequence[int], batch: int) -> tuple[float, float]:
    """(forward, backward) floating-point operations of one training step on a batch of ``batch`` examples."""
    layers = list(zip(sizes[:-1], sizes[1:]))
    products = [2 * i * o * batch for i, o in layers]
    return float(sum(products)), float(sum(products) + sum(products[1:]))


def cost_explanation(m: dict) -> str:
    """One paragraph: MFLOP per step, each twin's measured time per step and rate, and where torch wins."""
    c, tm = m["config"], m["timing"]
    fwd, bwd = flops_per_step(m["sizes"], c["batch_size"])
    steps = m.get("step_loss", {}).get("steps_per_epoch") or max(1, m["dataset"]["n_train"] // c["batch_size"])
    per_step = {twin: tm[twin]["train_s_per_epoch"] / steps for twin in ("scratch", "torch")}
    rate = {twin: (fwd + bwd) / s / 1e9 if s > 0 else float("inf") for twin, s in per_step.items()}
    sizes = " → ".join(map(str, m["sizes"]))
    text = (f"One training step of {sizes} on a batch of {c['batch_size']} is {(fwd + bwd) / 1e6:.1f} MFLOP "
            f"({fwd / 1e6:.2f} forward, {bwd / 1e6:.2f} backward: 2 · in · out · batch per matrix product, and no "
            f"gradient for the input pixels). Measured here (an epoch's training time over its {steps} steps), a step took "
            f"{per_step['scratch'] * 1e3:.2f} ms in NumPy ({rate['scratch']:.1f} GFLOP/s) and "
            f"{per_step['torch'] * 1e3:.2f} ms in torch ({rate['torch']:.1f} GFLOP/s). ")
    if tm["torch_over_scratch"] > 1:
        text += ("So little arithmetic leaves room for fixed costs to show, and torch has more of them per "
                 "operation: each call goes through its dispatcher, and autograd records every operation of the "
                 "forward pass as a graph node and walks the graph back, where NumPy's calls are thin wrappers "
                 f"over the same BLAS. That is why a network this small, in {c['dtype']}, favours NumPy. ")
    else:
        text += "Even at this size torch's matrix products outweigh its per-operation bookkeeping here. "
    return text + ("torch wins where the arithmetic outgrows the bookkeeping: wider layers (the products grow with "
                   "in · out, the overhead per operation does not), float32 (half the memory traffic, twice the "
                   "numbers per vector instruction), and a GPU (`--device cuda`), which NumPy cannot use.")


def cost_section(m: dict, out) -> list:
    """The report's "What it cost": each twin's time, their ratio explained, and every phase of the run."""
    c, tm = m["config"], m["timing"]
    if "scratch" not in tm:
        return ["No timing was recorded."]
    rows = [[twin, f"{tm[twin]['train_s_per_epoch']:.4f}", f"{tm[twin]['eval_s_per_epoch']:.4f}",
             f"{tm[twin]['train_s']:.2f}"] for twin in ("scratch", "torch")]
    blocks: list[Block] = [f"Both twins in {c['dtype']} with the same thread count (NumPy's BLAS {m['threads']['numpy']}, "
              f"torch {m['threads']['torch']}), timed in the same process, epoch by epoch, one right after the "
              f"other. {_spin_note(tm.get('thread_pools'))} `mlp-compare bench` also times the twins apart and "
              "against this machine's matrix-multiply floor.",
              Table(["twin", "training s/epoch", "evaluation s/epoch", "training s, total"], rows),
              f"torch / scratch training time: **{tm['torch_over_scratch']:.2f}×**"
              + (f" ({ratio_spread(tm, '×')})." if ratio_spread(tm) else "."),
              cost_explanation(m)]
    if tm.get("phases"):
        rows = [[name, f"{s:.2f}"] for name, s in tm["phases"].items()]
        blocks += ["Where the whole run's time went:", Table(["phase", "seconds"], rows)]
    if "total_s" in tm:
        blocks.append(f"Whole run, up to writing this report: {tm['total_s']:.1f} s.")
    return blocks


def _spin_note(pools: dict | None) -> str:
    """Whether each twin's time is its own: both libraries' idle threads stop spinning soon after their work."""
    if not pools or not all(pools["in_effect"].values()):
        return ("These times may include the other library's spinning threads: after its work OpenBLAS's idle "
                "threads spin for about 0.1 s and torch's OpenMP threads for a while too, and this process loaded "
                "a library before the spin limits could be set (run `mlp-compare run` from the command line to "
                "have them).")
    values = ", ".join(f"`{name}={pools[name]}`" for name in SHORT_SPINS)
    if all(pools[name] == value for name, value in SHORT_SPINS.items()):
        return (f"Each library's idle threads stop spinning within a millisecond of its last call ({values}, set "
                "before either library loaded), so neither twin's time includes the other's spinning threads.")
    return (f"The idle threads' spin limits were set in the environment ({values}), not to this tool's "
            f"({', '.join(f'`{k}={v}`' for k, v in SHORT_SPINS.items())}): with longer spins one twin's time can "
            "include the other library's spinning threads.")
