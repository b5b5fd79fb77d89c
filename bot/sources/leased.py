"""A source polled by one process at a time when several share a PostgreSQL database.

Each process wraps each of its sources in a `LeasedSource`; before a poll it tries the source's
lease (an advisory lock named after the source, bot.store.coordination). The process holding it
polls; the others skip the round and try again on the next one. The holder keeps the lease while
it lives, so one process keeps the source's memory (a folder's seen files, a feed's ETag); when it
dies or stops, another takes the source over at its next round. What the new poller reports again
is de-duplicated by the store (source, key, content hash), as after a restart.
"""

from __future__ import annotations

import asyncio
import logging

from bot.core.clock import Clock
from bot.core.lease import Lease
from bot.sources.base import Incoming, Source, poll_forever

log = logging.getLogger(__name__)


def source_lease_name(source: str) -> str:
    """The lease of the source named `source` (the same in every process of the bot)."""
    return f"digestbot:source:{source}"


class LeasedSource:
    """`source`, polled only in rounds where this process holds its lease."""

    def __init__(self, source: Source, lease: Lease, clock: Clock) -> None:
        self.name = source.name
        self._source = source
        self._lease = lease
        self._clock = clock
        self._polling = False  # whether this process polled the last round (logged on change)

    async def poll(self) -> list[Incoming]:
        """The source's news when this process holds its lease; nothing when another does."""
        mine = await self._lease.try_acquire()
        if mine != self._polling:
            self._polling = mine
            log.info("source %s: %s", self.name, "polled here" if mine else "polled by another process")
        return await self._source.poll() if mine else []

    @property
    def next_delay(self) -> float:
        return self._source.next_delay

    async def run(self, queue: asyncio.Queue[Incoming]) -> None:
        """Poll until cancelled, `next_delay` apart; an unexpected error is logged, the next round goes on."""
        try:
            await poll_forever(self, queue, self._clock.sleep, "with its lease")
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        """Close the source and hand its lease over (the next round elsewhere takes it)."""
        await self._source.aclose()
        await self._lease.release()
