"""``mlp-compare`` (also ``python -m compare``): the command line.

User errors (bad flags, missing or corrupt data, an unusable output folder) print one line,
``mlp-compare: error: <message>``, and exit 2. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import sys

PROG = "mlp-compare"


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {value}")
    return value


def hidden_sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(t) for t in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated widths like 50 or 50,30, got {text!r}") from None
    if any(s < 1 for s in sizes):
        raise argparse.ArgumentTypeError(f"every hidden width must be >= 1, got {text!r}")
    return sizes


def learning_rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number like 0.1, got {text!r}") from None
    if not (value > 0 and value != float("inf")):
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {text!r}")
    return value


COMMANDS = ("run", "gradcheck", "lesson", "bench", "check")  # each has a module compare/cli_<name>.py with add_parser(sub) and main(args)


def build_parser() -> argparse.ArgumentParser:
    import importlib

    parser = argparse.ArgumentParser(prog=PROG, description="Compare a from-scratch NumPy MLP with its PyTorch twin.")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        module = importlib.import_module(f"compare.cli_{name}")
        module.add_parser(sub).set_defaults(handler=module.main)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except (ValueError, FileNotFoundError) as e:
        # Our validation raises ValueError (DataError is one) with a message written for the user.
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # outside training (which keeps its finished epochs and says so itself)
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
