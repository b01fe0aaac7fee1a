"""``mlp-compare bench``: both twins' epoch times against this machine's BLAS floor; a table, JSON, a plot."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from .args import positive_int

if TYPE_CHECKING:
    from matplotlib.figure import Figure

# The report's palette (Okabe-Ito, colour-blind safe): scratch solid, torch dashed, the floor dotted,
# the NumPy limit dash-dotted.
STYLE = {"scratch": dict(color="#0072B2", linestyle="-", marker="o"),
         "torch": dict(color="#D55E00", linestyle="--", marker="s"),
         "floor": dict(color="#555555", linestyle=":", marker=""),
         "lean": dict(color="#56B4E9", linestyle="-.", marker="^")}


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("bench", help="time both twins against the BLAS floor: table, --json, plot",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help="a smoke run in about a minute: 5,500 rows, 2 rounds, 5-epoch runs of the default run, a folder of 4 files")
    p.add_argument("--reps", type=positive_int, help="timed rounds per measurement (default 5, --quick 2)")
    p.add_argument("--rows", type=positive_int, help="training rows per epoch (default 55000, --quick 5500)")
    p.add_argument("--threads", type=int, default=0, help="threads for NumPy's BLAS and for torch (0: all cores)")
    p.add_argument("--no-memory", action="store_true", help="skip the peak-memory probes (two subprocesses per dtype)")
    p.add_argument("--no-run", action="store_true",
                   help="skip timing the default mlp-compare run, its plain script and the twins apart")
    p.add_argument("--no-folder", action="store_true",
                   help="skip timing check DIR over a class folder of correct files against check FILE")
    p.add_argument("--json", type=Path, help="also write every number as JSON to this file")
    p.add_argument("--out", type=Path, help="folder for bench.png and bench.json")
    p.add_argument("--overwrite", action="store_true", help="allow writing into a --out folder that already holds files")
    return p


def main(args) -> int:
    from ..bench.bench import run_bench
    from ..bench.config import BenchConfig
    from ..files import check_file_target, prepare_out_dir, save_figure, write_json

    overrides = {k: v for k, v in (("reps", args.reps), ("rows", args.rows)) if v is not None}
    overrides["threads"] = args.threads
    if args.no_memory:
        overrides["memory_dtypes"] = ()
    if args.no_run:
        overrides["run_epochs"] = 0
    if args.no_folder:
        overrides["folder_files"] = 0
    config = BenchConfig.quick(**overrides) if args.quick else BenchConfig(**overrides)
    check_file_target(args.json)
    out = prepare_out_dir(args.out, args.overwrite) if args.out is not None else None
    results = run_bench(config, progress=lambda message: print(f"  {message}", file=sys.stderr, flush=True))
    print(format_table(results))
    if args.json is not None:
        write_json(args.json, results)
    if out is not None:
        write_json(out / "bench.json", results)
        save_figure(plot_bench(results), out / "bench.png")
        print(f"wrote {out / 'bench.png'} and {out / 'bench.json'}")
    return 0


def _settings_line(r: dict) -> str:
    s = r["settings"]
    blas = ", ".join(f"{b['internal_api']} {b['version']} ({b['architecture']} kernel, {b['threading_layer']}, "
                     f"{b['num_threads']} threads)" for b in s["blas"]) or "no BLAS found by threadpoolctl"
    env = ", ".join(f"{k}={v}" for k, v in s["env"].items() if v is not None and k.startswith("OPENBLAS")) or "unset"
    return (f"threads: NumPy BLAS {s['threads']} = torch {s['torch_threads']}; BLAS: {blas}; OPENBLAS_CORETYPE/L2_SIZE: {env}\n"
            f"numpy {s['versions']['numpy']}, torch {s['versions']['torch']}, {s['cpu_count']} CPUs; "
            f"median of {s['config']['reps']} rounds after a warm-up")


def _cells_table(cells: list[dict], label: str, key) -> list[str]:
    lean = all("lean_s" in c for c in cells)  # the NumPy limit is timed on the seed network only
    head = f"{label:>10} {'GFLOP':>7} {'floor s':>8} {'scratch s':>9} {'torch s':>8}"
    head += f" {'limit s':>8}" if lean else ""
    head += f" {'scratch/floor':>13} {'torch/floor':>11} {'torch/scratch':>13}"
    head += f" {'limit/floor':>11} {'scratch/limit':>13}" if lean else ""
    lines = [head + f" {'scratch GF/s':>12} {'torch GF/s':>10}"]
    for c in cells:
        row = f"{key(c):>10} {c['flops'] / 1e9:7.2f} {c['floor_s']:8.4f} {c['scratch_s']:9.4f} {c['torch_s']:8.4f}"
        row += f" {c['lean_s']:8.4f}" if lean else ""
        row += f" {c['scratch_over_floor']:12.2f}x {c['torch_over_floor']:10.2f}x {c['torch_over_scratch']:12.2f}x"
        row += f" {c['lean_over_floor']:10.2f}x {c['scratch_over_lean']:12.2f}x" if lean else ""
        lines.append(row + f" {c['scratch_gflops']:12.1f} {c['torch_gflops']:10.1f}")
    return lines


def format_table(r: dict) -> str:
    """The benchmark as plain text: settings, calibration, the seed network, scaling, memory, targets."""
    cfg = r["settings"]["config"]
    lines = ["mlp-compare bench", _settings_line(r), ""]
    gemm = ", ".join(f"{d} {g['gflops']:.1f} GFLOP/s" for d, g in r["calibration"]["gemm"].items())
    n = next(iter(r["calibration"]["gemm"].values()))["n"] if r["calibration"]["gemm"] else 0
    lines += [f"calibration: large product {n}x{n} @ {n}x{n}: {gemm}",
              "BLAS floor = the epoch's matrix products alone (forward a @ W.T, delta.T @ a, delta @ W), same shapes",
              "NumPy limit = the whole training step with every array preallocated, no checks (numpy_limit.lean_epoch)",
              "ratios: median over rounds of the per-round ratio", ""]
    lines += [f"seed network 784-50-10, {cfg['rows']} rows per epoch:"]
    lines += _cells_table(r["seed"], "dtype, B", lambda c: f"f{c['dtype'][5:]}, {c['batch_size']}")
    sr = cfg["scaling_rows"]
    lines += ["", f"scaling, float64, batch 100, {sr} rows per epoch; hidden width (one layer):"]
    lines += _cells_table(r["scaling"]["width"], "width", lambda c: c["sizes"][1])
    lines += [crossover(r["scaling"]["width"], lambda c: f"width {c['sizes'][1]}"), "",
              "depth (hidden layers of width 50):"]
    lines += _cells_table(r["scaling"]["depth"], "depth", lambda c: len(c["sizes"]) - 2)
    lines += [crossover(r["scaling"]["depth"], lambda c: f"depth {len(c['sizes']) - 2}")]
    if r["memory"]:
        lines += ["", "peak memory one training epoch + one evaluation adds (resident set, fresh process per twin):"]
        for m in r["memory"]:
            extra = f"; NumPy arrays at most {m['numpy_peak_mib']:.1f} MiB (tracemalloc)" if "numpy_peak_mib" in m else ""
            peak = "n/a" if m["peak_growth_mib"] is None else f"{m['peak_growth_mib']:.1f} MiB"
            lines.append(f"  {m['twin']:<8} {m['dtype']}, batch {m['batch_size']}: {peak}{extra}")
    lines += _gpu_lines(r) + _evaluation_lines(r.get("evaluation")) + _run_lines(r.get("run"), cfg["rows"])
    lines += _folder_lines(r.get("folder"))
    lines += ["", "targets (from this run):"]
    for c in r["checks"]:
        verdict = "n/a" if c["met"] is None else ("met" if c["met"] else "MISSED")
        value = "n/a" if c["value"] is None else f"{c['value']:.2f}"
        lines.append(f"  {c['name']}: {value} (target {c['target']}): {verdict}")
    load = r["other_load"]
    lines += ["", f"other processes used {load:.0%} of the CPUs during the run" if load is not None else "",
              f"wall time {r['wall_s']:.1f} s"]
    if load is not None and load > 0.1:
        lines.append("warning: the machine was busy; the ratios are less trustworthy than usual, run it again when idle")
    drift = max((c["spread"]["floor"] for c in r["seed"]), default=1.0)
    if drift > 1.25:
        lines.append(f"warning: the BLAS floor's slowest round took {drift:.2f}x its fastest: the machine's speed "
                     "drifted during the run; compare ratios, not seconds, or run it again")
    return "\n".join(lines)


def _gpu_lines(r: dict) -> list[str]:
    g = r.get("gpu") or {}
    if not g.get("name"):
        return ["", "GPU: no CUDA GPU here, so the twin's GPU epoch was not timed"]
    cpu = {c["dtype"]: c["torch_s"] for c in r["seed"] if c["batch_size"] == 100}
    lines = ["", f"GPU ({g['name']}, TF32 off), the torch twin's epoch on the seed network, batch 100:"]
    for c in g["seed"]:
        on_cpu = (f"; on the CPU {cpu[c['dtype']]:.4f} s (CPU / GPU {cpu[c['dtype']] / c['torch_s']:.2f}x)"
                  if c["dtype"] in cpu else "")
        lines.append(f"  {c['dtype']}: {c['torch_s']:.4f} s on the GPU{on_cpu}")
    return lines


def _evaluation_lines(e: dict | None) -> list[str]:
    if not e:
        return []
    return ["", f"evaluation (loss, printed MSE, accuracy), float64, {e['rows']} + {e['valid_rows']} rows, beside its "
            f"forward products alone ({e['flops'] / 1e9:.2f} GFLOP):",
            f"  products alone: NumPy {e['floor_s']:.4f} s ({e['floor_gflops']:.1f} GFLOP/s), torch "
            f"{e['torch_floor_s']:.4f} s ({e['torch_floor_gflops']:.1f} GFLOP/s, its own BLAS: "
            f"{e['torch_floor_over_floor']:.2f}x NumPy's)",
            f"  scratch {e['scratch_s']:.4f} s = {e['scratch_over_floor']:.2f}x NumPy's products; "
            f"torch {e['torch_s']:.4f} s "
            f"= {e['torch_over_torch_floor']:.2f}x torch's products ({e['torch_over_floor']:.2f}x NumPy's)"]


def _run_lines(c: dict | None, rows: int) -> list[str]:
    """The default run's wall time against its plain script, its phases against the training arithmetic,
    and the twins' times in it against the same twins trained apart."""
    if not c:
        return []
    if "error" in c:
        return ["", f"the default run: not measured, a child process failed: {c['error']}"]
    lines = ["", f"the default run (mlp-compare run --epochs {c['epochs']}, {c['children']} fresh processes, "
             f"median): {c['wall_s']:.2f} s wall; the same work written plainly (python -m compare.bench.plain_run): "
             f"{c['plain_s']:.2f} s; run / plain {c['run_over_plain']:.2f}x (in pairs)"]
    arithmetic = c["training_arithmetic_s"]
    if arithmetic:
        lines.append(f"  training arithmetic (both twins' matrix products at the float64 batch-100 floor's rate): "
                     f"{arithmetic:.3f} s; whole run {c['wall_s'] / arithmetic:.1f}x that")
    lines.append(f"  {'phase':<26} {'s':>7}" + (f" {'x arithmetic':>13}" if arithmetic else ""))
    for name, seconds in c["phases"].items():
        lines.append(f"  {name:<26} {seconds:7.3f}" + (f" {seconds / arithmetic:12.1f}x" if arithmetic else ""))
    t, x = c["torch_over_scratch"], lambda v: "n/a" if v is None else f"{v:.2f}x"  # noqa: E731
    per_twin = lambda d: ", ".join(f"{n.replace('_eval', ' evaluation')} {v:.2f}x" for n, v in d.items())  # noqa: E731
    lines += [f"  torch/scratch training time: in the runs above {x(t['run'])}; trained apart {x(t['apart'])} "
              f"(from {x(c['apart_round_range'][0])} to {x(c['apart_round_range'][1])} round by round) and "
              f"in the run's lockstep loop {x(t['lockstep'])} (rounds of {c['round_epochs']} epochs timing both "
              f"ways, this process); the bench's paired ({rows} synthetic rows, float64, batch 100) {x(t['paired'])}",
              f"  each twin per epoch in the runs above / alone: {per_twin(c['run_over_apart'])}",
              f"  each twin in the lockstep loop / alone (in pairs): {per_twin(c['lockstep_over_apart'])}"]
    return lines


def _folder_lines(f: dict | None) -> list[str]:
    """``check DIR`` over a class folder against ``check FILE`` on one of its files."""
    if not f:
        return []
    if "error" in f:
        return ["", f"check DIR: not measured, a check failed: {f['error']}"]
    singles = ", ".join(f"{s:.2f}" for s in f["single_s"])
    return ["", f"check DIR over {f['files']} correct files (the exercise's answer), --epochs {f['epochs']}, every "
                f"report written: {f['folder_s']:.1f} s, {f['per_file_s']:.2f} s a file; check FILE on one of them: "
                f"{singles} s (before and after); per file / alone {f['per_file_over_single']:.2f}x"]


def crossover(cells: list[dict], name) -> str:
    """Where the twins trade places: the first cell whose torch/scratch ratio is on the other side of 1."""
    if not cells:
        return ""
    first = cells[0]["torch_over_scratch"] > 1
    for c in cells[1:]:
        if (c["torch_over_scratch"] > 1) != first:
            return f"the twins cross over at {name(c)}: {'torch' if first else 'scratch'} is faster from there on"
    return f"no crossover: {'scratch' if first else 'torch'} is faster at every size measured"


def plot_bench(r: dict) -> Figure:
    """Seed network (time relative to the floor), then epoch time against hidden width and depth."""
    from matplotlib.figure import Figure  # imported here: every mlp-compare command imports this module

    fig = Figure(figsize=(13, 4.5), layout="constrained")
    ax1, ax2, ax3 = fig.subplots(1, 3)
    labels = [f"{c['dtype']}\nbatch {c['batch_size']}" for c in r["seed"]]
    x = range(len(labels))
    for offset, who in ((-0.27, "lean"), (0.0, "scratch"), (0.27, "torch")):
        if all(f"{who}_over_floor" in c for c in r["seed"]):
            ax1.bar([i + offset for i in x], [c[f"{who}_over_floor"] for c in r["seed"]], width=0.27,
                    color=STYLE[who]["color"], label="NumPy limit" if who == "lean" else who)
    ax1.axhline(1.0, **{k: v for k, v in STYLE["floor"].items() if k != "marker"}, label="BLAS floor")
    ax1.set(xticks=list(x), title="seed network 784-50-10: epoch / BLAS floor", ylabel="times the floor")
    ax1.set_xticklabels(labels, fontsize=8)
    ax1.legend()
    widths = [c["sizes"][1] for c in r["scaling"]["width"]]
    depths = [len(c["sizes"]) - 2 for c in r["scaling"]["depth"]]
    for ax, cells, xs, xlabel in ((ax2, r["scaling"]["width"], widths, "hidden width"),
                                  (ax3, r["scaling"]["depth"], depths, "hidden layers (width 50)")):
        for who in ("scratch", "torch", "floor"):
            ax.plot(xs, [c[f"{who}_s"] for c in cells], label=who if who != "floor" else "BLAS floor", **STYLE[who])
        ax.set(xlabel=xlabel, ylabel="seconds per epoch", title=f"float64, batch 100, {r['settings']['config']['scaling_rows']} rows")
        ax.grid(alpha=0.3)
        ax.legend()
    ax2.set(xscale="log", yscale="log")
    ax2.set_xticks(widths, [str(w) for w in widths])
    ax2.minorticks_off()
    ax3.set_xticks(depths)
    return fig
