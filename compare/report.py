"""The comparison report in Markdown: what ran, do the gradients agree, the two runs, the test set."""

from __future__ import annotations

from pathlib import Path

from .io import write_atomic


def _fmt(x: float) -> str:
    return f"{x:.3e}" if (x != 0 and (abs(x) < 1e-3 or abs(x) >= 1e4)) else f"{x:.6g}"


def gradient_table_md(gc: dict) -> list[str]:
    lines = ["| parameter | shape | max abs diff | max rel diff | cosine | verdict |",
             "|---|---|---:|---:|---:|---|"]
    for r in gc["params"]:
        verdict = "ok" if r["passed"] else f"**FAIL** {r['problem']}".strip()
        lines.append(f"| `{r['name']}` | {'×'.join(map(str, r['shape']))} | {_fmt(r['max_abs_diff'])} | "
                     f"{_fmt(r['max_rel_diff'])} | {r['cosine']:.12f} | {verdict} |")
    return lines


def epoch_table_md(metrics: dict) -> list[str]:
    hs, ht = metrics["history"]["scratch"], metrics["history"]["torch"]
    lines = ["| epoch | loss L scratch | loss L torch | printed MSE scratch | printed MSE torch | "
             "train acc scratch | train acc torch | valid acc scratch | valid acc torch | max abs ΔW |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for s, t, d in zip(hs, ht, metrics["max_weight_diff"]):
        lines.append(f"| {s['epoch']} | {s['loss']:.10f} | {t['loss']:.10f} | {s['mse']:.10f} | {t['mse']:.10f} | "
                     f"{s['train_acc']:.4f} | {t['train_acc']:.4f} | {s['valid_acc']:.4f} | {t['valid_acc']:.4f} | "
                     f"{_fmt(d)} |")
    return lines


def render_markdown(metrics: dict, figure_name: str = "training.png") -> str:
    c, d, gc = metrics["config"], metrics["dataset"], metrics["gradient_check"]
    tm = metrics["timing"]
    sizes = " → ".join(map(str, metrics["sizes"]))
    lines = [f"# mlp-compare: scratch NumPy MLP vs PyTorch twin ({d['name']}, {sizes})", ""]
    if metrics["status"] != "complete":
        lines += [f"> **Partial run ({metrics['status']}):** {metrics['epochs_done']} of {c['epochs']} epochs finished.", ""]
    lines += ["## What was run", "", "| setting | value |", "|---|---|"]
    lines += [f"| {k} | `{v}` |" for k, v in c.items()]
    lines += ["", f"Dataset **{d['name']}** from `{d['source']}`: {d['n_train']} train / {d['n_valid']} valid / "
              f"{d['n_test']} test examples, {d['n_features']} features, {d['n_classes']} classes.", ""]
    lines += ["## Do the gradients agree?", "",
              f"Manual backprop (`scratch.MLP.gradients`) against autograd (`loss.backward()`), one batch of "
              f"{metrics['gradient_check_batch']} training examples, {gc['dtype']}, tolerance rtol {gc['rtol']:g}, "
              f"atol {gc['atol']:g}: **{'passed' if gc['passed'] else 'FAILED'}**.", ""]
    lines += gradient_table_md(gc)
    lines += ["", f"Loss on that batch: scratch {gc['loss_manual']!r}, torch {gc['loss_autograd']!r}.", ""]
    lines += ["## The two training runs", "", f"![training curves of both twins]({figure_name})", "",
              f"Largest difference between the two histories (every field, every epoch): "
              f"{_fmt(metrics['history_max_diff'])}. Final max |W_scratch − W_torch|: "
              f"{_fmt(metrics['max_weight_diff'][-1]) if metrics['max_weight_diff'] else 'n/a'}.", ""]
    if c["loss"] == "mse":
        lines += ["The loss L is the squared error summed over the classes and averaged over the examples: the "
                  "loss the lesson's backward differentiates. The lesson *prints* the mean over all n × C "
                  f"elements, {d['n_classes']}× smaller (the printed MSE column). `nn.MSELoss()` would train on "
                  "the printed one and get gradients that are 10× too small.", ""]
    lines += epoch_table_md(metrics)
    if metrics.get("test_acc"):
        ta = metrics["test_acc"]
        lines += ["", "## Test set", "", f"Test accuracy: scratch **{ta['scratch']:.4f}**, torch **{ta['torch']:.4f}**; "
                  f"test images the twins label differently: {metrics['test_disagreements']}.", ""]
    lines += ["## What it cost", "",
              f"Threads: NumPy BLAS {metrics['threads']['numpy']}, torch {metrics['threads']['torch']}, both {c['dtype']}.", "",
              "| twin | training s/epoch | evaluation s/epoch |", "|---|---:|---:|"]
    for twin in ("scratch", "torch"):
        lines.append(f"| {twin} | {tm[twin]['train_s_per_epoch']:.4f} | {tm[twin]['eval_s_per_epoch']:.4f} |")
    lines += ["", f"torch / scratch training time: {tm['torch_over_scratch']:.2f}×. Whole run: {tm['total_s']:.1f} s.", ""]
    lines += ["## Versions", "", ", ".join(f"{k} {v}" for k, v in metrics["versions"].items()), ""]
    return "\n".join(lines)


def write_markdown(metrics: dict, path: Path) -> None:
    write_atomic(path, render_markdown(metrics))
