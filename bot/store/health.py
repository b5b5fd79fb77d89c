"""What the bot does while its database fails (disk full, read-only, I/O error, locked, damaged).

Such a failure is outside the bot: every loop retries later instead of at once, and the log gets one
line when the database starts failing and one when it works again, not a traceback per attempt.
"""

from __future__ import annotations

import logging
import sqlite3
import sys
import time
from collections.abc import Callable

log = logging.getLogger("bot.store")

# Primary result codes of failures of the file or the system, not of the SQL: retrying may work.
_FAULT_CODES = frozenset(
    {
        sqlite3.SQLITE_PERM,
        sqlite3.SQLITE_BUSY,
        sqlite3.SQLITE_LOCKED,
        sqlite3.SQLITE_NOMEM,
        sqlite3.SQLITE_READONLY,
        sqlite3.SQLITE_IOERR,
        sqlite3.SQLITE_CORRUPT,
        sqlite3.SQLITE_FULL,
        sqlite3.SQLITE_CANTOPEN,
        sqlite3.SQLITE_PROTOCOL,
        sqlite3.SQLITE_NOTADB,
    }
)
_DAMAGED_CODES = frozenset({sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB})


def _code(exc: sqlite3.Error) -> int | None:
    code = getattr(exc, "sqlite_errorcode", None)
    return None if code is None else code & 0xFF


# SQLSTATE classes of PostgreSQL failures of the server or the connection, not of the SQL:
# 08 connection, 53 resources (disk full, out of memory), 57 operator intervention (shutdown),
# 58 system (I/O), XX internal (e.g. data corrupted), 40 a deadlock or serialization failure
# between processes (retried like SQLite's BUSY); 25006 is a read-only transaction (a standby),
# 55P03 a lock not available in time.
_PG_FAULT_CLASSES = frozenset({"08", "40", "53", "57", "58", "XX"})
_PG_FAULT_STATES = frozenset({"25006", "55P03"})


def is_fault(exc: BaseException) -> bool:
    """A database failure the bot cannot fix by itself (as opposed to a bug or a broken constraint)."""
    if isinstance(exc, sqlite3.Error):
        return _code(exc) in _FAULT_CODES
    return _pg_fault(exc)


def is_connection_lost(exc: BaseException) -> bool:
    """The PostgreSQL connection is gone (server restarted, network cut, no answer within the
    command timeout): reconnect, then retry. Asked only of a PostgreSQL store's errors."""
    asyncpg = sys.modules.get("asyncpg")  # loaded only when a PostgreSQL store was opened
    if asyncpg is None:
        return False
    gone = (asyncpg.ConnectionDoesNotExistError, asyncpg.InterfaceError, asyncpg.InternalClientError)
    if isinstance(exc, (*gone, ConnectionError)):
        return True
    return isinstance(exc, OSError | TimeoutError) or str(getattr(exc, "sqlstate", "")).startswith("08")


def _pg_fault(exc: BaseException) -> bool:
    state = str(getattr(exc, "sqlstate", "") or "")
    if sys.modules.get("asyncpg") is None:
        return False
    return state[:2] in _PG_FAULT_CLASSES or state in _PG_FAULT_STATES


def is_damaged(exc: BaseException) -> bool:
    """The file is not a database, or its pages are damaged."""
    return isinstance(exc, sqlite3.Error) and _code(exc) in _DAMAGED_CODES


def reason(exc: BaseException) -> str:
    """The error's one-line reason, e.g. `disk I/O error (SQLITE_IOERR_WRITE)`."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    name = getattr(exc, "sqlite_errorname", None)
    return f"{text} ({name})" if name else text


class StoreHealth:
    """Logs the database's changes of state: failing (with the reason), then working again.

    A failed write is only over once a write succeeds: in a read-only or full database reads keep
    working, and they must not announce a recovery that the next write takes back.
    """

    def __init__(self, path: str, clock: Callable[[], float] = time.monotonic) -> None:
        self._path = path
        self._clock = clock
        self._since: float | None = None
        self._write_failed = False
        self._failures = 0

    @property
    def failing(self) -> bool:
        return self._since is not None

    def failed(self, exc: BaseException, *, write: bool) -> None:
        self._failures += 1
        self._write_failed = self._write_failed or write
        if self._since is None:
            self._since = self._clock()
            log.error("database %s is failing: %s; retrying with back-off", self._path, reason(exc))

    def succeeded(self, *, write: bool) -> None:
        if self._since is None or (self._write_failed and not write):
            return
        log.warning(
            "database %s works again after %.0f s (%d failed operations)",
            self._path,
            self._clock() - self._since,
            self._failures,
        )
        self._since, self._write_failed, self._failures = None, False, 0
