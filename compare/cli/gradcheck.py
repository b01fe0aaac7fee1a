"""``mlp-compare gradcheck``: check the manual backprop three ways on one batch, or run the mutant gallery.

Exit 0 when everything agrees (or every mutant is caught with its diagnosis), 1 when not, 2 on bad input.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from ..errors import UserError
from .args import ACTIVATION_CHOICES, DTYPE_CHOICES, LOSS_CHOICES, hidden_sizes, positive_int, seed_value


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("gradcheck", help="manual backprop vs autograd, finite differences and directional checks",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--hidden", type=hidden_sizes, default=(50,), help="hidden widths, comma-separated")
    p.add_argument("--activation", choices=ACTIVATION_CHOICES, default="sigmoid")
    p.add_argument("--loss", choices=LOSS_CHOICES, default="mse")
    p.add_argument("--dtype", choices=DTYPE_CHOICES, default="float64")
    p.add_argument("--batch-size", type=positive_int, default=100,
                   help="examples in the checked batch (a stratified draw from mnist-5k: every class when >= 10)")
    p.add_argument("--seed", type=seed_value, default=123,
                   help="initial weights and the checked batch; also picks the sampled coordinates")
    p.add_argument("--torch-loss", choices=["mse-mean"],
                   help="give the twin another loss: mse-mean is nn.MSELoss(), the 10x trap")
    p.add_argument("--mutants", action="store_true", help="run the gallery of deliberately buggy backprops")
    p.add_argument("--json", type=Path, help="also write the results as JSON to this file")
    p.add_argument("--out", type=Path, help="with --mutants: also write the gallery's page, mutants.html, into this "
                   "folder (a mutants.html already there is replaced)")
    return p


def main(args) -> int:
    from ..data.load import describe_batch, gradient_check_batch, label_counts, load_dataset
    from ..files import check_file_target, prepare_out_dir, write_json

    # bad input fails before any work
    check_file_target(args.json)
    if args.out is not None and not args.mutants:
        raise UserError("--out writes the mutant gallery's page: use it with --mutants")
    if args.out is not None:
        prepare_out_dir(args.out, overwrite=True)
    if not args.mutants and args.torch_loss == "mse-mean" and args.loss == "cross_entropy":
        raise UserError("--torch-loss mse-mean compares against the lesson's squared error: use it with --loss mse "
                        "or softmax_mse")
    data = load_dataset("mnist-5k", seed=args.seed, dtype=np.dtype(args.dtype))
    if args.batch_size > len(data.y_train):
        raise UserError(f"batch size must be at most {len(data.y_train)} (the mnist-5k training split), "
                         f"got {args.batch_size}")
    batch = gradient_check_batch(data.y_train, args.batch_size, args.seed, data.num_classes)
    X, y = data.X_train[batch], data.y_train[batch]
    labels = label_counts(y, data.num_classes)
    batch_words = f"{len(y)} mnist-5k training examples, {describe_batch(labels)}"
    print(f"checked batch: {batch_words}")
    if args.mutants:
        result, code = _mutants(X, y, args.out, batch_words)
    else:
        result, code = _single(args, X, y)
    if args.json is not None:
        write_json(args.json, {**result, "batch_labels": labels})
    return code


def _single(args, X, y) -> tuple[dict, int]:
    from scratch import MLP, NeuralNetMLP

    from ..gradcheck.check import check_gradients

    lesson = len(args.hidden) == 1 and args.activation == "sigmoid" and args.loss == "mse" \
        and args.dtype == "float64"
    model: MLP | NeuralNetMLP
    if lesson:  # the lesson's own code, line for line
        model = NeuralNetMLP(X.shape[1], args.hidden[0], 10, random_seed=args.seed)
    else:
        model = MLP([X.shape[1], *args.hidden, 10], args.activation, args.loss, seed=args.seed, dtype=args.dtype)
    report = check_gradients(model, X, y, torch_loss=args.torch_loss, seed=args.seed)
    print(f"{type(model).__name__} {' -> '.join(map(str, model.sizes))}, {args.activation}, {args.loss}, "
          f"{args.dtype}, batch {len(y)}; twin loss: {report.torch_loss}")
    print(report)
    return report.as_dict(), 0 if report.passed else 1


def _mutants(X, y, out: Path | None, batch: str) -> tuple[dict, int]:
    from ..gradcheck.mutants import bug_line, run_gallery

    results = run_gallery(X, y)
    counts = np.bincount(y, minlength=10)
    alone = int(counts.argmax())
    k = int(np.count_nonzero(counts))
    print(f"mutant gallery: batch of {len(y)} with {k} class{'es' * (k != 1)}; the one-class check uses its "
          f"{counts[alone]} rows of class {alone}")
    w = max(len(r.mutant.__name__) for r in results)
    nw = max(len(r.network) for r in results)
    print(f"{'mutant':<{w}} {'network':<{nw}} {'expected diagnosis':<30} {'found':<50} {'diagnosis':<9} "
          f"{'one class':<9} caught")
    rows = []
    for r in results:
        found = ", ".join(dict.fromkeys(f.kind for f in r.report.diagnosis)) or "(check passed)"
        one = "caught" if r.one_class_caught else "missed"
        print(f"{r.mutant.__name__:<{w}} {r.network:<{nw}} {r.mutant.expected:<30} {found:<50} "
              f"{r.how if r.caught else '-':<9} {one:<9} {'yes' if r.caught else 'NO: ' + r.how}")
        buggy, _, correct = bug_line(r.mutant)
        print(f"    bug: {buggy}   fix: {correct}")
        rows.append({"mutant": r.mutant.__name__, "mistake": r.mutant.__doc__, "network": r.network,
                     "expected": r.mutant.expected, "enters_at": r.mutant.enters_at, "independent": r.independent,
                     "caught": r.caught, "diagnosis": r.how, "one_class_batch": one, "buggy_line": buggy,
                     "correct_line": correct, "report": r.report.as_dict()})
    n_caught = sum(r.caught for r in results)
    independent = [r for r in results if r.independent]
    for how in ("precise", "generic"):
        named = [r.mutant.__name__ for r in independent if r.caught and r.how == how]
        print(f"independent of the recognisers, {how}: {len(named)}/{len(independent)} ({', '.join(named)})")
    print(f"a one-class batch misses: {', '.join(r.mutant.__name__ for r in results if not r.one_class_caught)}")
    if out is not None:
        from ..report.mutants_page import write_mutants_page
        print(f"open {write_mutants_page(out, results, batch)} in a browser: each mutant's buggy line beside the "
              f"correct one, and its diagnosis")
    print(f"caught {n_caught}/{len(rows)}")
    return ({"mutants": rows, "caught": n_caught, "total": len(rows), "batch_labels": counts.tolist(),
             "one_class_label": alone}, 0 if n_caught == len(rows) else 1)
