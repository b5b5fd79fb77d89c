"""Group commit of the engine's hot ledger writes: marking rows `sending` and recording them `sent`.

One commit per state change would cost two database round trips per message; at 1,000 messages/s
that is most of the bot's CPU. Instead each send queues its write here and waits for it: the queue
is written (one statement for its marks, one for its sent records) once it holds `max_rows` writes
or its oldest write is `max_delay` seconds old, whichever comes first.

Exactly-once is unchanged, since every sender still waits for its own write: a row is committed
`sending` before its platform call, and a worker takes its next row only once the outcome of the
last one is committed. So after a kill -9 the rows left `sending` (which become `interrupted`, never
resent) are at most one per worker: `delivery.concurrency` rows, the in-flight window.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from bot.core.clock import Clock
from bot.store.db import Store

MAX_DELAY = 0.008  # seconds a write may wait for others to share its commit


@dataclass(slots=True)
class _Batch:
    """The writes of one commit and the futures of the sends waiting on them."""

    marks: dict[int, asyncio.Future[bool]] = field(default_factory=dict)
    sent: list[tuple[int, str, datetime]] = field(default_factory=list)
    sent_waiting: list[asyncio.Future[bool]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.marks) + len(self.sent)


class GroupCommit:
    """Queues `mark_sending` / `sent` writes and commits them together; `close()` writes what is left."""

    def __init__(self, store: Store, clock: Clock, *, max_rows: int, max_delay: float = MAX_DELAY) -> None:
        if max_rows < 1 or max_delay < 0:
            raise ValueError(
                f"group commit needs max_rows >= 1 and max_delay >= 0, got {max_rows}, {max_delay}"
            )
        self._store = store
        self._clock = clock
        self._max_rows = max_rows
        self._max_delay = max_delay
        self._batch = _Batch()
        self._full = asyncio.Event()
        self._queued = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    async def close(self) -> None:
        """Commit what is queued and stop the committing task; a commit is never cut in half."""
        self._closing = True
        self._queued.set()
        self._full.set()
        task, self._task = self._task, None
        if task is not None:
            await task
        await self._commit()
        self._closing = False

    async def mark_sending(self, delivery_id: int) -> bool:
        """Committed `sending` before the platform call; False when the row is no longer pending
        (its subscription was paused meanwhile). Raises StoreUnavailable when the commit failed."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._batch.marks[delivery_id] = future
        self._queue()
        return await future

    async def sent(self, delivery_id: int, message_id: str, at: datetime) -> None:
        """Record a sent row; returns once committed (StoreUnavailable: not stored, try again)."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._batch.sent.append((delivery_id, message_id, at))
        self._batch.sent_waiting.append(future)
        self._queue()
        await future

    def _queue(self) -> None:
        self._queued.set()
        if len(self._batch) >= self._max_rows:
            self._full.set()
        if self._task is None:  # started by the first write, so it runs in the engine's loop
            self._task = asyncio.create_task(self._run(), name="ledger-group-commit")

    async def _run(self) -> None:
        while not self._closing:
            await self._queued.wait()
            if len(self._batch) < self._max_rows:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._max_delay):
                        await self._full.wait()
            await self._commit()

    async def _commit(self) -> None:
        """Write the queued batch and wake its senders with the result. Marks and sent records are
        two statements, each committed (or failed) on its own, and each tells only its own senders."""
        batch, self._batch = self._batch, _Batch()
        self._queued.clear()
        self._full.clear()
        if batch.marks:
            try:
                marked = await self._store.mark_sending_many(list(batch.marks), self._clock.now())
            except Exception as exc:
                _fail(batch.marks.values(), exc)
            else:
                for delivery_id, future in batch.marks.items():
                    if not future.done():
                        future.set_result(delivery_id in marked)
        if batch.sent:
            try:
                await self._store.mark_sent_many(batch.sent)
            except Exception as exc:
                _fail(batch.sent_waiting, exc)
            else:
                for future in batch.sent_waiting:
                    if not future.done():
                        future.set_result(True)


def _fail(futures: Iterable[asyncio.Future[bool]], exc: Exception) -> None:
    for future in futures:
        if not future.done():
            future.set_exception(exc)
