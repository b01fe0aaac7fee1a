"""``mlp-compare`` (also ``python -m compare``): the entry point and one module per subcommand.

``app`` builds the parser and maps exceptions to exit codes; ``args`` holds the argument types the
subcommands share; ``run``, ``gradcheck``, ``check``, ``lesson``, ``bench`` each have ``add_parser(sub)``
and ``main(args)`` and import what they need only when they run, so ``--help`` loads neither torch nor
matplotlib. Imports every room below; nothing imports it.
"""

from .app import main

__all__ = ["main"]
