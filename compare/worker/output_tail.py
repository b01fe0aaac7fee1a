"""What a worker printed: a bounded tail, and how far it has been read relative to the worker's replies.

The worker's prints reach the checker on a pipe of their own, read by a thread, while replies come on
another: a reply can arrive before the last lines printed ahead of it have been read. The worker writes a
mark (``serve.SYNC``) on its output before each reply; ``text`` waits until as many marks as replies have
been read, so the output shown for a request holds everything printed before its reply.
"""

from __future__ import annotations

import threading
from collections import deque

from .serve import SYNC

TAIL_BYTES = 4000          # what is kept of a worker's output: its last bytes
SYNC_WAIT_S = 2.0          # how long ``text`` waits for what was printed before the last reply to be read


class OutputTail:
    def __init__(self) -> None:
        self.chunks: deque[bytes] = deque()
        self.size = self.printed = 0
        self.replied = self.marked = 0
        self.ended = False
        self._carry = b""
        self._read_up = threading.Condition()

    def feed(self, chunk: bytes) -> None:
        """One read of the worker's output: its marks counted and taken out, the rest kept (the tail)."""
        data = self._carry + chunk
        marks = data.count(SYNC)
        data = data.replace(SYNC, b"")
        # a mark may be split across two reads: keep what could be its beginning for the next
        keep = next((k for k in range(len(SYNC) - 1, 0, -1) if data.endswith(SYNC[:k])), 0)
        data, self._carry = (data[:-keep], data[-keep:]) if keep else (data, b"")
        if data:
            self.printed += len(data)
            self.chunks.append(data)
            self.size += len(data)
            while self.size - len(self.chunks[0]) >= TAIL_BYTES:
                self.size -= len(self.chunks.popleft())
        with self._read_up:
            self.marked += marks
            self._read_up.notify_all()

    def end(self) -> None:
        with self._read_up:
            self.ended = True
            self._read_up.notify_all()

    def reply_came(self) -> None:
        with self._read_up:
            self.replied += 1

    def text(self) -> str:
        """The last ``TAIL_BYTES`` as text, saying how much came before: all of what was printed before the
        last reply (waited for, at most ``SYNC_WAIT_S``)."""
        with self._read_up:
            self._read_up.wait_for(lambda: self.marked >= self.replied or self.ended, timeout=SYNC_WAIT_S)
        text = b"".join(self.chunks)[-TAIL_BYTES:].decode("utf-8", "replace")
        cut = self.printed - len(text.encode("utf-8", "replace"))
        return (f"[{cut} bytes before these left out]\n" if cut > 0 else "") + text
