"""The checker's side of a worker: start it in a private folder, ask it things, bound everything, end it.

One ``Worker`` per submission. Its folder holds a copy of that submission only; the process runs
``python -I serve.py`` there with one thread per math library, under resource limits (address space,
CPU time, file size, open files) and, where this machine allows it, in a PID and network namespace of
its own as an unprivileged user (``isolation()`` says what applied and what did not). Every request has
the submission's remaining time; a worker that exits, hangs, answers garbage or too much ends as a
``WorkerDied`` with a bounded tail of what it printed, and ``close()`` kills it with every process it
started (the namespace's first process takes the rest with it).
"""

from __future__ import annotations

import ctypes
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from functools import lru_cache
from pathlib import Path

from .output_tail import OutputTail
from .serve import ProtocolError, read_message, write_message
from .workspace import fill

SERVE = Path(__file__).with_name("serve.py")
FILE_LIMIT = 64 << 20      # bytes a worker may write to any one file
OPEN_FILES = 256
# In the worker's mount namespace: its folder stays writable (a bind mount of itself), everything else becomes read-only, and /dev/shm
# is a fresh tmpfs of its own; then the worker starts. $0 is the folder.
READ_ONLY = ('mount --bind "$0" "$0" && mount -o remount,bind,ro / && mount -t tmpfs -o size=64m tmpfs /dev/shm '
             '&& cd "$0" && exec "$@"')   # cd: into the writable mount, not the folder beneath it
FOLDER = "{folder}"   # stands in the argument list for the worker's folder
MAX_REPLY = 512 << 20      # bytes of one reply, arrays included
NOBODY = 65534             # the unprivileged user's id, where the worker switches to it
PR_SET_PDEATHSIG = 1       # Linux prctl option: a signal for this process when its parent dies
POSIX = os.name == "posix"
# A math library's idle threads would compete with the checker's and with other workers.
ONE_THREAD = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
KEPT_ENV = ("PATH", "LANG", "LC_ALL", "SYSTEMROOT", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


class WorkerDied(Exception):
    """The worker ended, hung, or broke the protocol; ``kind`` is "crashed", "timed out" or "garbage"."""

    def __init__(self, kind: str, message: str, tail: str = ""):
        super().__init__(message)
        self.kind, self.tail = kind, tail


class TheirError(Exception):
    """The learner's code raised inside the worker: its type, one-line message and ``file:line``."""

    def __init__(self, error: dict):
        self.type, self.message = str(error.get("type", "?")), str(error.get("message", ""))
        self.where, self.code = str(error.get("where", "")), error.get("code")
        self.type, self.message, self.where = self.type[:80], self.message[:2000], self.where[:200]
        self.code = self.code if isinstance(self.code, int) else None
        self.is_import = bool(error.get("import"))
        syntax = error.get("syntax")
        try:
            self.syntax: tuple[str, int] | None = (str(syntax[0])[:500], int(syntax[1] or 0)) if syntax else None
        except (TypeError, ValueError, IndexError, KeyError):
            self.syntax = None
        super().__init__(f"{self.type}: {self.message}")


def _works(argv: list[str]) -> bool:
    try:
        return subprocess.run(argv, capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


@lru_cache(maxsize=1)
def isolation() -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """``(argv prefix, what applies, what is missing)`` for a worker on this machine, found once."""
    prefix: list[str] = []
    applied = ["a process of its own (python -I), a private folder with a copy of its submission"]
    missing = []
    if POSIX:
        applied.append("limits on memory, CPU time, file size and open files")
        # --mount-proc: a /proc of its own, so it cannot see (or open the pipes of) the workers beside it;
        # READ_ONLY then leaves it one writable folder, its own: it can touch no output of the checker's.
        unshare = ["unshare", "--pid", "--fork", "--kill-child", "--net", "--mount", "--mount-proc"]
        probe = tempfile.mkdtemp(prefix="mlp-compare-probe-")
        try:
            works = shutil.which("unshare") is not None and _works([*unshare, "sh", "-c", READ_ONLY, probe, "true"])
        finally:
            shutil.rmtree(probe, ignore_errors=True)
        if works:
            prefix += [*unshare, "sh", "-c", READ_ONLY, FOLDER]
            applied.append("a PID namespace with its own /proc (no process outlives its file, none sees another "
                           "worker), no network, and a read-only file system but for its own folder")
        else:
            missing.append("no PID or network namespace here (needs root or user namespaces): a process that "
                           "leaves its process group could outlive its file, and the network is reachable")
        if os.geteuid() == 0:
            drop = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"]
            if shutil.which("setpriv") and _works([*drop, sys.executable, "-I", "-c", "import numpy"]):
                prefix += drop
                applied.append("an unprivileged user (nobody)")
            else:
                missing.append(f"runs as root: the user nobody cannot run this Python with numpy "
                               f"({sys.executable}); install it where every user can read it to drop privileges")
    else:
        missing.append(f"on {sys.platform} only the process and its folder: no resource limits, namespaces or "
                       f"user switch")
    return tuple(prefix), tuple(applied), tuple(missing)


def _limits(memory_bytes: int | None, cpu_seconds: int):
    import resource  # imported here, before the fork: nothing may be imported between fork and exec

    libc = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None

    def apply() -> None:   # in the child between fork and exec: C calls only
        if libc is not None:   # if the checker dies, so does the worker, and all it started
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)

        if memory_bytes:
            resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
        resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_LIMIT, FILE_LIMIT))
        resource.setrlimit(resource.RLIMIT_NOFILE, (OPEN_FILES, OPEN_FILES))
    return apply


class Worker:
    """A worker for ``submission`` (a ``.py`` file, or a folder of one learner's files, copied under its own
    name into the worker's ``submission/``; then each of ``texts``, a path there and its text, written over or
    beside it) with ``timeout`` seconds for everything it is asked; use as a context manager."""

    def __init__(self, submission: Path, timeout: float = 120.0, memory_gib: float | None = 4.0,
                 texts: dict[str, str | bytes] | None = None):
        self.submission, self.timeout, self.texts = Path(submission), timeout, dict(texts or {})
        self.memory = int(memory_gib * (1 << 30)) if memory_gib else None
        self.folder: Path | None = None
        self.process: subprocess.Popen | None = None
        self.replies: queue.Queue = queue.Queue()
        self.out = OutputTail()   # what it printed, read up to its last reply when shown
        self.deadline = 0.0
        self.dead: WorkerDied | None = None   # once it died, every later request says so at once

    def __enter__(self) -> Worker:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def start(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="mlp-compare-worker-"))
        try:
            self._start()
        except BaseException:
            self.close()
            raise

    def _start(self) -> None:
        assert self.folder is not None
        fill(self.folder / "submission", self.submission, self.texts)
        prefix, _, _ = isolation()
        if "setpriv" in prefix:   # the unprivileged user must read its own copy; nobody else needs to
            for path in [self.folder, *self.folder.rglob("*")]:
                os.chown(path, NOBODY, -1, follow_symlinks=False)
        env = {k: os.environ[k] for k in KEPT_ENV if k in os.environ} | ONE_THREAD | {"HOME": str(self.folder)}
        self.deadline = time.monotonic() + self.timeout
        argv = [str(self.folder) if a == FOLDER else a for a in [*prefix, sys.executable, "-I", str(SERVE)]]
        self.process = subprocess.Popen(
            argv, cwd=self.folder, env=env, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=POSIX,
            preexec_fn=_limits(self.memory, int(self.timeout) + 5) if POSIX else None)
        threading.Thread(target=self._read_output, daemon=True).start()

    def _read_reply(self) -> None:
        """Read exactly one message (the reply to the request just sent) into the queue: the worker cannot
        queue up replies nobody asked for, and a reply is bounded in size as it is read."""
        assert self.process is not None and self.process.stdout is not None
        try:
            self.replies.put(read_message(self.process.stdout, max_total=MAX_REPLY))
        except Exception as e:   # EOF, a broken bound, a header nested past any sense: all end the worker
            self.replies.put(e)

    def _read_output(self) -> None:
        assert self.process is not None and self.process.stderr is not None
        while chunk := self.process.stderr.read1(65536):  # type: ignore[attr-defined]  # a BufferedReader
            self.out.feed(chunk)
        self.out.end()

    @property
    def printed(self) -> int:
        """Bytes the worker printed, all told."""
        return self.out.printed

    def output(self) -> str:
        """The tail of what the worker printed, whole up to its last reply (``OutputTail.text``)."""
        return self.out.text()

    def request(self, header: dict, arrays=()) -> tuple[dict, list]:
        """Send one request; its reply ``(header, arrays)``. ``TheirError`` when their code raised,
        ``WorkerDied`` when the worker ended, hung past the deadline or broke the protocol."""
        assert self.process is not None and self.process.stdin is not None
        if self.dead is not None:
            raise self.dead
        # Written from a thread: a worker that stops reading (stopped, or stuck) would block a large write
        # forever, past any deadline.
        stdin = self.process.stdin
        writer = threading.Thread(target=_send, args=(stdin, header, list(arrays)), daemon=True)
        writer.start()
        writer.join(max(self.deadline - time.monotonic(), 0.0))
        try:
            if writer.is_alive():
                raise queue.Empty
            threading.Thread(target=self._read_reply, daemon=True).start()
            reply = self.replies.get(timeout=max(self.deadline - time.monotonic(), 0.0))
        except queue.Empty:
            self.close()
            self.dead = WorkerDied("timed out", f"still running after the limit of {self.timeout:g} s", self.output())
            raise self.dead from None
        if isinstance(reply, BaseException):
            self.dead = self._died(reply)
            raise self.dead
        head, out = reply
        self.out.reply_came()
        if not isinstance(head, dict):
            self.dead = self._died(ProtocolError("a reply that is not a JSON object"))
            raise self.dead
        if "error" in head:
            if not isinstance(head["error"], dict):
                raise self.garbage("an error that is not described")
            raise TheirError(head["error"])
        return head, out

    def garbage(self, why: str) -> WorkerDied:
        """The worker answered something that cannot be a reply (a missing field, a wrong type): it is ended,
        and every later request says so."""
        self.close()
        self.dead = WorkerDied("garbage", f"the process running your file answered something that is not a reply "
                                          f"({why[:200]})", self.output())
        return self.dead

    def _died(self, error: BaseException) -> WorkerDied:
        """What ended the worker, as the ``WorkerDied`` to raise; the worker is closed."""
        assert self.process is not None
        if isinstance(error, (EOFError, OSError)) and not isinstance(error, ProtocolError):
            try:
                code = self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                code = None
            self.close()
            why = (f"exited with code {code}" if code is not None and code >= 0 else
                   f"was killed by signal {-code} ({_signal_name(-code)})" if code is not None else "closed its output")
            return WorkerDied("crashed", f"the process running your file {why} before it answered", self.output())
        self.close()
        return WorkerDied("garbage", f"the process running your file answered something that is not a reply "
                                     f"({error})", self.output())

    def close(self) -> None:
        """Kill the worker and everything it started; remove its folder."""
        p = self.process
        if p is not None:
            try:   # the whole group, even when its first process has already ended
                if POSIX:
                    os.killpg(p.pid, signal.SIGKILL)
                elif p.poll() is None:
                    p.kill()
            except (ProcessLookupError, PermissionError):
                pass
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)


def _send(stream, header: dict, arrays: list) -> None:
    try:
        write_message(stream, header, arrays)
    except (BrokenPipeError, OSError, ValueError):
        pass   # the worker is gone: the reply queue says how


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return "unknown"
