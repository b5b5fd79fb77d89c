"""Console input off the event loop: bounded lines from a file descriptor, read on a daemon thread.

A daemon thread blocked in `os.read` never holds up the interpreter's exit (an executor thread in
`readline` did: SIGTERM with stdin open hung the bot), and `os.read` takes no lock that shutdown
needs (a buffered stdin's `readline` does). A line over the limit is dropped while it streams in,
so a 10 MB line costs the limit in memory, not 10 MB, and is never parsed.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading

log = logging.getLogger(__name__)
CHUNK = 65536
READ_AHEAD = 8  # lines read but not yet handled: stdin faster than the bot waits in the pipe


class TooLong:
    """Stands for one dropped line that was over the limit (only its first bytes were ever held)."""


TOO_LONG = TooLong()
Line = str | TooLong


class LineSplitter:
    """Cuts a byte stream into lines of at most `limit` bytes; each longer line becomes one TOO_LONG.

    Memory stays under `limit` plus one chunk whatever the input is.
    """

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._partial = bytearray()
        self._dropping = False

    def feed(self, chunk: bytes) -> list[bytes | TooLong]:
        lines: list[bytes | TooLong] = []
        start = 0
        while True:
            end = chunk.find(b"\n", start)
            piece = chunk[start:] if end < 0 else chunk[start:end]
            if not self._dropping:
                if len(self._partial) + len(piece) > self._limit:
                    self._dropping = True
                    self._partial.clear()
                    lines.append(TOO_LONG)
                else:
                    self._partial += piece
            if end < 0:
                return lines
            if not self._dropping:
                lines.append(bytes(self._partial))
            self._partial.clear()
            self._dropping = False
            start = end + 1

    def close(self) -> list[bytes | TooLong]:
        """At end of input: the last line if it had no newline (`printf /help | digestbot run`)."""
        rest: list[bytes | TooLong] = [] if self._dropping or not self._partial else [bytes(self._partial)]
        self._partial.clear()
        self._dropping = False
        return rest


class InputReader:
    """Delivers the lines of `fd` (str, or TOO_LONG) and then None at end of input, to `get()`."""

    def __init__(self, fd: int, limit: int) -> None:
        self._fd = fd
        self._splitter = LineSplitter(limit)
        self._room = threading.Semaphore(READ_AHEAD)
        self._lines: asyncio.Queue[Line | None] = asyncio.Queue()

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        threading.Thread(target=self._pump, args=(loop,), name="console-input", daemon=True).start()

    async def get(self) -> Line | None:
        line = await self._lines.get()
        self._room.release()
        return line

    def _pump(self, loop: asyncio.AbstractEventLoop) -> None:
        try:
            while True:
                try:
                    chunk = os.read(self._fd, CHUNK)
                except OSError as exc:  # closed under us, or a terminal that hung up: end of input
                    log.warning("console input unreadable: %s", exc)
                    chunk = b""
                pieces = self._splitter.feed(chunk) if chunk else self._splitter.close()
                for piece in pieces:
                    self._post(loop, piece.decode("utf-8", "replace") if isinstance(piece, bytes) else piece)
                if not chunk:
                    self._post(loop, None)
                    return
        except RuntimeError:  # the loop is closed: the bot has stopped and nobody reads any more
            return

    def _post(self, loop: asyncio.AbstractEventLoop, line: Line | None) -> None:
        self._room.acquire()
        loop.call_soon_threadsafe(self._lines.put_nowait, line)
