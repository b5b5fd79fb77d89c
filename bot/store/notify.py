"""Wake-ups across processes: LISTEN/NOTIFY on one channel, the payload naming what changed.

A process that wrote work for others (queued deliveries, a changed schedule, a stored digest) calls
`publish(topic)` after its commit; every other process hears it and calls the same wake callback it
calls for its own writes (engine.wake, scheduler.wake), so no process polls the database to notice
work. Its own notifications are ignored (it woke itself already). Notifications are hints, not a
queue: one lost while a connection was down is covered by calling every callback once after the
reconnect, and by the engine's own idle re-check.

One dedicated connection both listens and publishes, used by one task only (asyncpg runs one
query at a time per connection): `publish` only notes the topic, and the task sends it, coalescing
repeats, between heartbeats (`SELECT 1`) that notice a dead connection and reconnect with back-off.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from typing import Any

from bot.store.coordination import (
    DATABASE_ERRORS,
    HEARTBEAT_SECONDS,
    Connect,
    close_connection,
    connector,
    stop_task,
    why,
)

log = logging.getLogger(__name__)

CHANNEL = "digestbot_wake"
TOPICS = frozenset({"deliveries", "digests", "schedule"})
APPLICATION_NAME = "digestbot-wake"
MAX_BACKOFF = 10.0


class WakeBus:
    """Publishes topics and calls `callbacks[topic]` when another process publishes one."""

    def __init__(
        self,
        connect: Connect,
        callbacks: Mapping[str, Callable[[], None]],
        *,
        heartbeat: float = HEARTBEAT_SECONDS,
    ) -> None:
        unknown = set(callbacks) - TOPICS
        if unknown:
            raise ValueError(f"unknown wake-up topics: {', '.join(sorted(unknown))}")
        self._connect = connect
        self._callbacks = dict(callbacks)
        self._heartbeat = heartbeat
        self._pending: set[str] = set()
        self._flush = asyncio.Event()
        self._conn: Any = None
        self._pid: int | None = None
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()  # set while listening (tests and health checks wait on it)

    @classmethod
    def for_url(
        cls, url: str, callbacks: Mapping[str, Callable[[], None]], *, heartbeat: float = HEARTBEAT_SECONDS
    ) -> WakeBus:
        return cls(connector(url, APPLICATION_NAME), callbacks, heartbeat=heartbeat)

    def start(self) -> None:
        """Begin listening in the background (connecting with back-off while the database is down)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="wake-bus")

    def publish(self, topic: str) -> None:
        """Tell the other processes `topic` changed; call after the change is committed."""
        if topic not in TOPICS:
            raise ValueError(f"unknown wake-up topic {topic!r}")
        self._pending.add(topic)
        self._flush.set()

    async def _run(self) -> None:
        backoff, reconnecting = 0.5, False
        while True:
            try:
                await self._listen()
            except DATABASE_ERRORS as exc:
                self._forget()
                if backoff == 0.5:  # the first failed attempt of this outage: said once
                    log.warning("wake-ups: cannot reach the database (%s); retrying", why(exc))
                await asyncio.sleep(backoff)
                backoff = min(MAX_BACKOFF, backoff * 2)
                continue
            backoff = 0.5
            if reconnecting:
                log.info("wake-ups: listening again")
                self._wake_all()  # whatever was published while we were away
            reconnecting = True
            try:
                await self._serve()
            except DATABASE_ERRORS as exc:
                log.warning("wake-ups: lost the database connection (%s); reconnecting", why(exc))
                self._forget()

    async def _listen(self) -> None:
        self._conn = await self._connect()
        self._pid = self._conn.get_server_pid()
        await self._conn.add_listener(CHANNEL, self._heard)
        self.connected.set()

    async def _serve(self) -> None:
        """Send pending topics as they come; between them, check the connection every heartbeat."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._flush.wait(), self._heartbeat)
            self._flush.clear()
            topics, self._pending = self._pending, set()
            try:
                for topic in sorted(topics):
                    await self._conn.execute(
                        "SELECT pg_notify($1, $2)", CHANNEL, topic, timeout=self._heartbeat
                    )
                await self._conn.fetchval("SELECT 1", timeout=self._heartbeat)
            except BaseException:
                self._pending |= topics  # sent again on the next connection
                raise

    def _heard(self, _conn: Any, pid: int, _channel: str, payload: str) -> None:
        if pid == self._pid:
            return
        callback = self._callbacks.get(payload)
        if callback is not None:
            callback()

    def _wake_all(self) -> None:
        for callback in self._callbacks.values():
            callback()

    def _forget(self) -> None:
        self.connected.clear()
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.terminate()

    async def close(self) -> None:
        """Stop listening and close the connection; idempotent."""
        await stop_task(self._task)
        self._task = None
        conn, self._conn = self._conn, None
        self.connected.clear()
        await close_connection(conn)
