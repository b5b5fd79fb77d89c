"""One bot process per database: an exclusive flock on `<database>.lock`, holding the owner's pid.

A lock file beside the database rather than SQLite's `locking_mode=EXCLUSIVE`: the exclusive mode
would also shut out WAL readers (`sqlite3 db.sqlite`, backups, stats scripts), which must keep
working beside the bot. flock belongs to the open file, so the kernel drops it when the process
dies, however it dies: a lock file left behind by a crash (with a dead pid in it) blocks nothing.
The file itself is never deleted, because deleting it while another process waits on it would let
two processes each hold a lock on a different file.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from bot.store.errors import StoreError


class DatabaseLocked(StoreError):
    """Another process holds the database; the message names its pid and the database path."""


class ProcessLock:
    """`acquire()` once at start-up, `release()` at shutdown; the kernel releases it on a crash."""

    def __init__(self, database: str | Path) -> None:
        self.database = str(database)
        self.path = Path(f"{database}.lock")
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock or raise DatabaseLocked at once (never waits for the other process)."""
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StoreError(
                f"{self.database}: cannot create the lock file {self.path.name}: {exc.strerror}"
            ) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", errors="replace").strip() or "unknown"
            os.close(fd)
            raise DatabaseLocked(
                f"another digestbot (pid {holder}) holds this database ({self.database})"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            os.close(self._fd)
            self._fd = None
