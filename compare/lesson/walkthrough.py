"""The lesson's PyTorch column (``torch_impl/walkthrough.py``): its cells quoted live, and the script run.

The script is one cell per step (``# %% key``), each with its imports, the PyTorch a learner writes:
``TensorDataset`` and a ``DataLoader`` over the book's batches, ``nn.Sequential`` and an ``nn.Module``,
the loss, ``zero_grad`` / ``backward`` / ``step``, evaluation under ``torch.no_grad()``. ``cells`` reads it
as text (for the page's PyTorch column), ``run_walkthrough`` runs it whole in a fresh interpreter on the
lesson's arrays and returns what it computed.

Lesson: every step of "Implementing a Multi-Layer NN", the PyTorch column.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..report.html import Code

SCRIPT = Path(__file__).resolve().parents[2] / "torch_impl" / "walkthrough.py"
LABEL = "torch_impl/walkthrough.py"
TIMEOUT_S = 300


def cells(path: Path = SCRIPT) -> dict[str, tuple[int, str]]:
    """``{key: (first line number, the cell's code)}`` for every ``# %% key`` cell of the script, in order."""
    found: dict[str, tuple[int, str]] = {}
    key: str | None = None
    start, lines = 0, list[str]()
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if line.startswith("# %% "):
            if key is not None:
                found[key] = (start, "\n".join(lines).strip() + "\n")
            key, start, lines = line[5:].strip(), number + 1, []
        elif key is not None:
            lines.append(line)
    if key is not None:
        found[key] = (start, "\n".join(lines).strip() + "\n")
    return found


@dataclass(frozen=True)
class CellQuote:
    """One cell of the PyTorch column, quoted as ``pages.Quote`` quotes a function: ``code()``."""

    key: str

    def code(self) -> Code:
        cell = cells().get(self.key)
        if cell is None:
            raise ValueError(f"{LABEL} has no cell '# %% {self.key}'")
        line, text = cell
        return Code(text, f"{LABEL}:{line} cell {self.key}")


class WalkthroughRun:
    """The script, started in a fresh interpreter on ``inputs`` (the arrays its docstring lists), running while
    the caller does other work; ``results()`` waits for it, ``close()`` ends it if it is still running."""

    def __init__(self, inputs: dict[str, np.ndarray], timeout: float = TIMEOUT_S):
        self._tmp = tempfile.TemporaryDirectory(prefix="mlp-compare-walkthrough-")
        given, self._out = Path(self._tmp.name) / "lesson.npz", Path(self._tmp.name) / "results.npz"
        np.savez(given, **inputs)  # type: ignore[arg-type]  # the stub: a **dict might hold allow_pickle
        self._timeout = timeout
        self._proc = subprocess.Popen([sys.executable, str(SCRIPT), str(given), str(self._out)],
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=self._tmp.name)

    def results(self) -> dict[str, np.ndarray]:
        """What the script saved, and what it printed (``"printed"``); ``RuntimeError`` with its own error
        output when it fails or outlives its timeout."""
        try:
            stdout, stderr = self._proc.communicate(timeout=self._timeout)
        except subprocess.TimeoutExpired:
            self.close()
            raise RuntimeError(f"{LABEL} did not finish within {self._timeout:g} s") from None
        try:
            if self._proc.returncode != 0:
                raise RuntimeError(f"{LABEL} failed (exit {self._proc.returncode}):\n{stderr[-3000:]}")
            with np.load(self._out, allow_pickle=False) as r:
                out = {k: r[k] for k in r.files}
        finally:
            self.close()
        out["printed"] = np.array(stdout)
        return out

    def close(self) -> None:
        if self._proc.poll() is None:
            self._proc.kill()
            self._proc.communicate()
        self._tmp.cleanup()


def run_walkthrough(inputs: dict[str, np.ndarray], timeout: float = TIMEOUT_S) -> dict[str, np.ndarray]:
    """Run the script in a fresh interpreter on ``inputs`` and wait for its results (``WalkthroughRun``)."""
    return WalkthroughRun(inputs, timeout).results()


def book_batches(n: int, epochs: int, seed: int, size: int = 100) -> np.ndarray:
    """(epochs, n // size, size): the batches ``scratch.lesson.train(..., rng=np.random.default_rng(seed))``
    takes, in its order (a permutation per epoch, the tail dropped)."""
    rng = np.random.default_rng(seed)
    return np.stack([rng.permutation(n)[:n // size * size].reshape(-1, size) for _ in range(epochs)])


WALK_EPOCHS = 2   # epochs the page's run of the script trains: enough for its numbers to mean something


def walkthrough_inputs(X, y, Xv, yv, Xt, yt, model, seed: int, epochs: int = WALK_EPOCHS) -> dict[str, np.ndarray]:
    """The script's LESSON.npz: the lesson's arrays, ``model``'s (a fresh ``NeuralNetMLP``) weights, the batches."""
    as64 = lambda a: np.asarray(a, dtype=np.int64)  # noqa: E731  (labels as torch wants them)
    return {"X_train": X, "y_train": as64(y), "X_valid": Xv, "y_valid": as64(yv), "X_test": Xt, "y_test": as64(yt),
            "weight_h": model.weight_h, "bias_h": model.bias_h, "weight_out": model.weight_out,
            "bias_out": model.bias_out, "learning_rate": np.array(0.1), "batches": book_batches(len(y), epochs, seed)}
