"""Running a notebook top to bottom with ``nbclient`` (kernel ``python3``), for ``mlp-compare lesson --execute``.

``nbclient`` and ``ipykernel`` are the ``notebook`` extra, not dependencies: without them ``execute``
raises a ``UserError`` naming the extra to install (the command line exits 2).
"""

from __future__ import annotations

import importlib.util
import os
import tempfile
from pathlib import Path

from nbformat import NotebookNode

from ..errors import UserError

ROOT = Path(__file__).resolve().parents[2]   # the checkout: the kernel imports scratch, torch_impl and compare
EXTRA = "notebook"
CELL_TIMEOUT_S = 120                         # per cell: training the twins is the longest, a few seconds


def missing_modules() -> list[str]:
    return [m for m in ("nbclient", "ipykernel") if importlib.util.find_spec(m) is None]


def require_nbclient() -> None:
    missing = missing_modules()
    if missing:
        raise UserError(f"executing a notebook needs {' and '.join(missing)}: install the '{EXTRA}' extra, "
                        f"pip install 'mlp-compare[{EXTRA}]', or leave out --execute")


def execute(nb: NotebookNode, cwd: Path, timeout: int = CELL_TIMEOUT_S) -> NotebookNode:
    """Run every cell of ``nb`` in a fresh ``python3`` kernel started in ``cwd``; ``nb`` gains its outputs.

    Raises ``nbclient.exceptions.CellExecutionError`` at the first cell that fails (its output holds the error).
    """
    require_nbclient()
    from nbclient import NotebookClient
    from traitlets.config import Config

    # The kernel must import this checkout's packages, wherever the notebook is written.
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    env = {**os.environ, "PYTHONPATH": path}
    # Where the system has them, the kernel talks over local sockets in a private folder: nothing listens on a
    # TCP port, and ipykernel has no plain-text TCP to warn about. A socket's path must stay short (about 100
    # bytes), so the folder is made under /tmp; elsewhere (Windows), or where that path is still too long,
    # TCP on localhost, and ipykernel says so in one warning line.
    short = "/tmp" if os.name == "posix" and os.path.isdir("/tmp") else None
    with tempfile.TemporaryDirectory(prefix="mlpk-", dir=short) as sockets:
        ipc = short is not None and len(os.path.join(sockets, "kernel-xxxxxxxxxx")) < 90
        config = Config({"KernelManager": {"transport": "ipc", "ip": os.path.join(sockets, "kernel")}} if ipc else {})
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3", config=config,
                                resources={"metadata": {"path": str(cwd)}})
        client.execute(env=env)
    return nb
