"""The connection and its transactions: opening the file, one operation at a time, failure health.

One connection serves the whole process; an asyncio lock makes each operation its own transaction,
so the planner, scheduler, engine and command handlers never see (or commit) each other's half-done
work. WAL lets other processes (e.g. `digestbot stats`) read while the bot writes.
synchronous=NORMAL keeps every commit safe from a process crash (the case the ledger's
exactly-once promise is about) without an fsync per commit; an OS crash may lose the last commits.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Self

import aiosqlite

from bot.core.clock import Clock, SystemClock
from bot.store.connection import Connection, Dialect, SqliteConnection
from bot.store.deliveries import DeliveryRepo
from bot.store.digests import DigestRepo
from bot.store.errors import StoreError, StoreUnavailable
from bot.store.fanout import FanOutRepo
from bot.store.health import StoreHealth, is_connection_lost, is_damaged, is_fault, reason
from bot.store.retention import RetentionRepo
from bot.store.schema import migrate
from bot.store.subscriptions import SubscriptionRepo

BUSY_TIMEOUT_MS = 10_000
# Page cache of the connection (negative: KiB). SQLite's default 2 MB is smaller than the index pages
# one fan-out batch dirties, so it spilled them to the WAL mid-transaction and read them back; 16 MB
# holds a batch. It is a cap, filled only as pages are used: a small store stays small.
CACHE_KIB = -16_384
QUICK_CHECK_PROBLEMS = 3  # enough to say what is wrong without printing a damaged file's every page
DAMAGED_HINT = "restore it from a backup, or move it away to start with an empty database"
CHECKPOINT_WAIT_MS = 200
SYSTEM_CLOCK = SystemClock()
CONNECT_TIMEOUT_S = 30.0
REVIVE_TIMEOUT_S = 2.0  # reconnecting mid-run holds the store's lock: fail fast, callers back off


class Transaction:
    """The repositories bound to the connection inside one open transaction (and the connection
    itself, for the operations whose one statement is written where it is used)."""

    __slots__ = ("conn", "deliveries", "digests", "fanout", "retention", "subscriptions")

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.digests = DigestRepo(conn)
        self.subscriptions = SubscriptionRepo(conn)
        self.deliveries = DeliveryRepo(conn)
        self.fanout = FanOutRepo(conn)
        self.retention = RetentionRepo(conn)


class Database:
    """The open connection, its lock and health; the store's operations are defined on top of it."""

    def __init__(
        self,
        conn: Connection,
        path: str,
        clock: Clock,
        reconnect: Callable[[], Awaitable[Connection]] | None = None,
    ) -> None:
        self._conn = conn
        self._lock = asyncio.Lock()
        self.path = path  # the file, or the server's URL without its password
        self.clock = clock
        self.health = StoreHealth(path, clock.monotonic)
        self._reconnect = reconnect
        self._lost = False

    @property
    def dialect(self) -> Dialect:
        return self._conn.dialect

    @classmethod
    async def open(
        cls, path: str | Path, *, clock: Clock = SYSTEM_CLOCK, connect_timeout: float = CONNECT_TIMEOUT_S
    ) -> Self:
        """Open a SQLite file, or a PostgreSQL server for a `postgresql://` URL (waiting up to
        `connect_timeout` seconds for it to come up); either way pending migrations are applied."""
        from bot.net.pg_url import is_postgres_url

        if isinstance(path, str) and is_postgres_url(path):
            return await cls._open_postgres(path, clock, connect_timeout)
        return await cls._open_sqlite(path, clock)

    @classmethod
    async def _open_postgres(cls, url: str, clock: Clock, timeout: float) -> Self:
        """asyncpg is imported here, only by a bot whose database is PostgreSQL."""
        from bot.net.pg_url import redact_url
        from bot.store.pg_connect import connect
        from bot.store.pg_schema import migrate_postgres

        shown = redact_url(url)
        conn = await connect(url, timeout=timeout)
        try:
            await migrate_postgres(conn, shown)
        except BaseException:
            await conn.close()
            raise
        return cls(conn, shown, clock, reconnect=lambda: connect(url, timeout=REVIVE_TIMEOUT_S))

    @classmethod
    async def _open_sqlite(cls, path: str | Path, clock: Clock) -> Self:
        """Connect, set the pragmas, check the file (PRAGMA quick_check, O(size) once) and apply
        pending migrations in one transaction; a damaged file is refused instead of run half-broken."""
        try:
            raw = await aiosqlite.connect(str(path), isolation_level=None)
        except sqlite3.Error as exc:
            raise StoreError(f"{path}: cannot open the database: {exc}") from exc
        conn = SqliteConnection(raw)
        try:
            raw.row_factory = sqlite3.Row
            await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            await _use_wal(conn)
            await conn.execute("PRAGMA synchronous = NORMAL")
            await conn.execute("PRAGMA foreign_keys = ON")
            await conn.execute(f"PRAGMA cache_size = {CACHE_KIB}")
            await _quick_check(conn, str(path))
            await migrate(conn, str(path))
        except sqlite3.DatabaseError as exc:
            await conn.close()
            if is_damaged(exc):
                raise StoreError(f"{path}: the database is damaged ({exc}); {DAMAGED_HINT}") from exc
            raise StoreError(f"{path}: cannot use the database: {exc}") from exc
        except BaseException:
            await conn.close()
            raise
        return cls(conn, str(path), clock)

    async def close(self) -> None:
        async with self._lock:
            await self._conn.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    @asynccontextmanager
    async def transaction(self, *, write: bool = True) -> AsyncIterator[Transaction]:
        """One transaction at a time; rolled back on any exception, including cancellation.

        BEGIN is inside the try and the rollback is unconditional (a no-op without a transaction):
        a task cancelled while its BEGIN is still queued on the database thread must not leave the
        shared connection inside a transaction that every later statement would silently join.
        """
        async with self._lock, self._guard(write=write):
            await self._revive()
            try:
                await self._conn.begin(write=write)
                yield Transaction(self._conn)
                await self._conn.commit()
            except BaseException:
                with contextlib.suppress(sqlite3.Error):  # a failing disk may refuse this too
                    await self._conn.rollback()
                raise

    @asynccontextmanager
    async def statement(self, *, write: bool = True) -> AsyncIterator[Transaction]:
        """For exactly one SQL statement: autocommit makes it atomic by itself, in one round trip
        to the database thread instead of three (BEGIN, statement, COMMIT). The hot path of the
        engine (claim, mark sending, record outcome) runs through here."""
        async with self._lock, self._guard(write=write):
            await self._revive()
            yield Transaction(self._conn)

    async def _revive(self) -> None:
        """A PostgreSQL connection lost in an earlier operation is opened again before the next one
        (its transaction was rolled back by the server: nothing half-written stays)."""
        if not self._lost or self._reconnect is None:
            return
        fresh = await self._reconnect()
        with contextlib.suppress(Exception):
            await self._conn.close()
        self._conn, self._lost = fresh, False

    @asynccontextmanager
    async def _guard(self, *, write: bool) -> AsyncIterator[None]:
        """Turns a failure of the file, the server or the system into StoreUnavailable and tells
        `health`; a lost PostgreSQL connection is reopened by the next operation."""
        try:
            yield
        except Exception as exc:
            unreachable = isinstance(exc, StoreError) and self._lost  # reconnecting failed
            lost = self._reconnect is not None and is_connection_lost(exc)
            if not (unreachable or lost or is_fault(exc)):
                raise
            self._lost = self._lost or lost
            self.health.failed(exc, write=write)
            raise StoreUnavailable(f"database {self.path} is unavailable: {reason(exc)}") from exc
        self.health.succeeded(write=write)

    async def checkpoint(self) -> bool:
        """Copy the WAL into the database file and truncate it, so pruned space is reused rather
        than the WAL growing; True when done. Readers in other processes are waited for only
        briefly (the store stays locked meanwhile): a busy checkpoint is simply retried next time.
        PostgreSQL reuses freed space itself (autovacuum): nothing to do there."""
        if self._conn.dialect != "sqlite":
            return True
        async with self._lock, self._guard(write=True):
            await self._conn.execute(f"PRAGMA busy_timeout = {CHECKPOINT_WAIT_MS}")
            try:
                rows = await self._conn.fetchall("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                await self._conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        return not next(iter(rows))[0]

    def file_size(self) -> int:
        """Bytes on disk: the database file plus its WAL (0 for an in-memory database, and for a
        PostgreSQL server, whose files are not the bot's to measure)."""
        if self._conn.dialect != "sqlite":
            return 0
        total = 0
        for name in (self.path, f"{self.path}-wal"):
            with contextlib.suppress(OSError):
                total += os.stat(name).st_size
        return total


async def _use_wal(conn: Connection) -> None:
    """Switch to WAL, retrying "database is locked" for up to the busy timeout: switching the
    journal mode needs an exclusive lock and SQLite does not call the busy handler for it, so two
    programs opening one brand-new file at once would otherwise fail at random."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            await conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.01)


async def _quick_check(conn: Connection, path: str) -> None:
    """Refuse a damaged file at start-up rather than fail on its broken pages while running."""
    rows = await conn.fetchall(f"PRAGMA quick_check({QUICK_CHECK_PROBLEMS})")
    problems = [" ".join(str(row[0]).split()) for row in rows]
    if problems != ["ok"]:
        raise StoreError(f"{path}: the database is damaged ({'; '.join(problems)}); {DAMAGED_HINT}")
