"""``mlp-compare`` (also ``python -m compare``): the entry point and one module per subcommand.

``app`` builds the parser and maps exceptions to exit codes; ``args`` holds the argument types the
subcommands share; ``run``, ``gradcheck``, ``check``, ``lesson``, ``bench`` each have ``add_parser(sub)``
and ``main(args)`` and import what they need only when they run, so ``--help`` loads neither torch nor
matplotlib. Imports every room below; nothing imports it.

Before anything loads NumPy or torch, their idle threads are told to stop spinning soon
(``compare.thread_pools``): the libraries read that only when they load.
"""

from ..thread_pools import shorten_spins

shorten_spins()

from .app import console_main, main  # noqa: E402  (after shorten_spins: app's imports load NumPy)

__all__ = ["console_main", "main"]
