"""Leases between processes sharing one PostgreSQL database: session-level advisory locks.

A lease is `pg_try_advisory_lock(key)` held on a dedicated connection (never the store's, whose
connections come and go): PostgreSQL releases it when that connection ends, so a process killed
with -9 gives its leases up as soon as the server sees its socket close, and another process takes
them on its next try. One `LockSession` holds all of a process's leases on one connection; a cheap
`SELECT 1` every `heartbeat` seconds notices a lost connection, after which every lease is reported
lost (the server released them, or will once its TCP keepalives, set short here, give up on us).

Keys are stable 64-bit hashes of names such as "digestbot:poll:<platform>", the same in every process
and every Python version (no `hash()`, which is salted per process).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 2.0
CONNECT_TIMEOUT = 5.0
COMMAND_TIMEOUT = 5.0  # a lock query or heartbeat the server does not answer: the session is lost
APPLICATION_NAME = "digestbot-coordination"
# A client whose host vanished (its socket never closed) is given up by the server after about
# idle + interval * count = 6 seconds, releasing its locks: with the 3-second election retry, a
# takeover within 10 s. PostgreSQL's defaults follow the OS (often two hours).
KEEPALIVES = {"tcp_keepalives_idle": "3", "tcp_keepalives_interval": "1", "tcp_keepalives_count": "3"}
# InternalClientError: asyncpg caught mid-operation by a connection the server closed.
DATABASE_ERRORS = (
    OSError,
    TimeoutError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
)

Connect = Callable[[], Awaitable[Any]]


def lock_key(name: str) -> int:
    """The advisory-lock key of `name`: the first 8 bytes of its SHA-256, as a signed bigint."""
    return int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "big", signed=True)


class AdvisoryLease:
    """One named lock of a `LockSession`: `try_acquire()`, `held`, `release()`, `wait_lost()`."""

    def __init__(self, session: LockSession, name: str) -> None:
        self.session = session
        self.name = name
        self.key = lock_key(name)
        self.held = False
        self._lost = asyncio.Event()

    async def try_acquire(self) -> bool:
        """Take the lock if no other session holds it; True when this process holds it now."""
        if not self.held and await self.session.try_lock(self.key):
            self.held = True
            self._lost.clear()
        return self.held

    async def release(self) -> None:
        """Give the lock up (a no-op when not held); another process may take it at once."""
        if self.held:
            self.held = False
            await self.session.unlock(self.key)

    async def wait_lost(self) -> None:
        """Return once the lease was lost with its connection (not after a `release()`)."""
        await self._lost.wait()

    def lost(self) -> None:
        """The connection holding the lock is gone: the lock is (or will be) released by the server."""
        if self.held:
            self.held = False
            self._lost.set()


class LockSession:
    """The dedicated connection holding a process's leases, watched by a heartbeat.

    It connects lazily (first `try_lock`) and again after a loss, so a database that is down only
    makes `try_acquire()` answer False until it is back.
    """

    def __init__(self, connect: Connect, *, heartbeat: float = HEARTBEAT_SECONDS) -> None:
        self._connect = connect
        self._heartbeat_seconds = heartbeat
        self._conn: Any = None
        self._lock = asyncio.Lock()  # one query at a time on the connection
        self._leases: dict[str, AdvisoryLease] = {}
        self._heartbeat: asyncio.Task[None] | None = None
        self._down = False  # the last connection attempt failed (logged once per state change)

    @classmethod
    def for_url(cls, url: str, *, heartbeat: float = HEARTBEAT_SECONDS) -> LockSession:
        return cls(connector(url), heartbeat=heartbeat)

    def lease(self, name: str) -> AdvisoryLease:
        """The lease named `name` (the same object for the same name)."""
        lease = self._leases.get(name)
        if lease is None:
            lease = self._leases[name] = AdvisoryLease(self, name)
        return lease

    async def try_lock(self, key: int) -> bool:
        async with self._lock:
            try:
                conn = await self._connected()
                return bool(await conn.fetchval("SELECT pg_try_advisory_lock($1)", key))
            except DATABASE_ERRORS as exc:
                await self._drop(exc)
                return False

    async def unlock(self, key: int) -> None:
        async with self._lock:
            if self._conn is None:
                return
            try:
                await self._conn.fetchval("SELECT pg_advisory_unlock($1)", key)
            except DATABASE_ERRORS as exc:
                await self._drop(exc)

    async def _connected(self) -> Any:
        if self._conn is None or self._conn.is_closed():
            self._conn = await self._connect()
            if self._down:
                log.info("coordination: database connection for leases restored")
                self._down = False
            if self._heartbeat is None or self._heartbeat.done():
                self._heartbeat = asyncio.create_task(self._beat(), name="lease-heartbeat")
        return self._conn

    async def _beat(self) -> None:
        """`SELECT 1` every heartbeat; a failure or a reply later than one heartbeat is a loss."""
        while True:
            await asyncio.sleep(self._heartbeat_seconds)
            async with self._lock:
                if self._conn is None:
                    return
                try:
                    await self._conn.fetchval("SELECT 1", timeout=self._heartbeat_seconds)
                except DATABASE_ERRORS as exc:
                    await self._drop(exc)
                    return

    async def _drop(self, exc: BaseException) -> None:
        """Forget the connection and report every held lease lost; the next try connects again."""
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.terminate()
        held = [lease.name for lease in self._leases.values() if lease.held]
        for lease in self._leases.values():
            lease.lost()
        if held:
            log.warning(
                "coordination: lost the database connection (%s); leases lost: %s", why(exc), ", ".join(held)
            )
        elif not self._down:
            log.warning("coordination: cannot reach the database for leases (%s)", why(exc))
        self._down = True

    async def close(self) -> None:
        """Close the connection (releasing every lock) and stop the heartbeat; idempotent."""
        await stop_task(self._heartbeat)
        self._heartbeat = None
        async with self._lock:
            conn, self._conn = self._conn, None
            for lease in self._leases.values():
                lease.held = False
            await close_connection(conn)


def connector(url: str, name: str = APPLICATION_NAME) -> Connect:
    """How every coordination connection (locks, wake-ups, rate buckets) is opened: short
    timeouts and server-side keepalives, so a vanished host is noticed in seconds; `name` tells
    them apart in pg_stat_activity."""

    async def connect() -> Any:
        return await asyncpg.connect(
            url,
            timeout=CONNECT_TIMEOUT,
            command_timeout=COMMAND_TIMEOUT,
            server_settings={"application_name": name, **KEEPALIVES},
        )

    return connect


async def stop_task(task: asyncio.Task[None] | None) -> None:
    """Cancel a background loop and wait until it has ended."""
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def close_connection(conn: Any) -> None:
    """Say goodbye to the server, briefly; a server that does not answer is not waited for."""
    if conn is None:
        return
    try:
        await asyncio.wait_for(conn.close(), CONNECT_TIMEOUT)
    except DATABASE_ERRORS:
        conn.terminate()


def why(exc: BaseException) -> str:
    """A one-line reason without the URL (asyncpg's messages never carry the password)."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
