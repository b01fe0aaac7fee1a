"""``mlp-compare`` (also ``python -m compare``): the command line.

Exit codes: 0 done (and the gradients agree), 1 a check failed, a run diverged or a bug, 2 a user
error, 130 Ctrl-C. A user error (``compare.errors.UserError``: bad flags, missing or corrupt data, an
unusable output folder) prints one line, ``mlp-compare: error: <message>``. Any other exception is a
bug in this project or a library below it: one line, ``mlp-compare: internal error: <Type>: <message>``,
and the traceback with the global ``--debug`` flag (a run that keeps its folder also writes it to
``error.log`` there).
"""

from __future__ import annotations

import argparse
import gc
import sys
import traceback
from pathlib import Path

from ..errors import ERROR_LOG, UserError
from .args import PROG

# Middle-generation collections before a full one (Python's default: 10). Measured: a default run makes 89 in all,
# a full-size one 96, so neither collects in full; a longer process still does, after more than 100 each time.
MIDDLE_COLLECTIONS_PER_FULL = 100
COMMANDS = ("run", "gradcheck", "lesson", "bench", "check")  # each a module compare/cli/<name>.py: add_parser(sub), main(args)


def build_parser() -> argparse.ArgumentParser:
    import importlib

    parser = argparse.ArgumentParser(prog=PROG, description="Compare a from-scratch NumPy MLP with its PyTorch twin.")
    parser.add_argument("--debug", action="store_true",
                        help="show the full traceback of an internal error (a bug), not only its one-line summary")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        module = importlib.import_module(f"compare.cli.{name}")
        module.add_parser(sub).set_defaults(handler=module.main)
    return parser


def main(argv: list[str] | None = None) -> int:
    return dispatch(build_parser().parse_args(argv))


def console_main() -> int:
    """``main`` for the ``mlp-compare`` process itself, which ends right after it.

    Python's full collections walk every long-lived object. While torch, torch._dynamo, matplotlib,
    torchvision and nbformat load, a default run started six of them (0.5 s), each finding 0 to 70
    objects: what imports create lives as long as the process. So this process waits for 100
    middle-generation collections before a full one, not 10: a default run (89 of them) and a full-size
    run (96) now have none, while a longer process that leaves cycles behind still frees them. Measured:
    importing those libraries took 2.45 s instead of 3.0 s; the peak memory of the default and the
    full-size run, of ``check``, ``lesson`` and ``bench --quick`` stayed within 0.2 %. What a run leaves
    in cycles (its figures, and the frames an exception inside matplotlib's text parsing keeps) waited
    for the exit before too. (Python 3.14's incremental collector ignores this setting.)

    With torch loaded, the interpreter's teardown spends most of a second collecting garbage among
    millions of module objects the operating system is about to reclaim anyway (measured: 0.93 s
    with torch, torch._dynamo and matplotlib loaded; 0.17 s after ``gc.freeze()``). Everything this
    command writes is closed by then, and ``atexit`` handlers still run. Both only here, not in ``main``:
    tests call that many times in one process.
    """
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, MIDDLE_COLLECTIONS_PER_FULL)
    code = main()
    gc.freeze()
    return code


def dispatch(args: argparse.Namespace) -> int:
    """Call ``args.handler(args)`` and turn what it raises into one line on stderr and an exit code.

    ``args.debug`` shows the traceback of a bug; a handler that writes into a folder names it in
    ``args.out``, where a traceback it logged (``error.log``) is pointed to.
    """
    try:
        return args.handler(args)
    except UserError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # outside training (which keeps its finished epochs and says so itself)
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except Exception as e:
        if getattr(args, "debug", False):
            traceback.print_exc()
        log = Path(getattr(args, "out", None) or "") / ERROR_LOG
        where = f" (also in {log})" if getattr(args, "out", None) and log.is_file() else ""
        summary = " ".join(str(e).split())  # one line, whatever the library wrote
        print(f"{PROG}: internal error: {type(e).__name__}: {summary}; rerun with --debug for the traceback{where}",
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(console_main())
