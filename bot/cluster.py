"""What a `run` process needs to share one PostgreSQL database with other processes of the bot.

Built by the composition root only when the database is PostgreSQL (SQLite is one process, which
needs none of it): leases (one polling process per platform, one poller per source), wake-ups
across processes (LISTEN/NOTIFY) and the platforms' global rate limits held bot-wide.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping

from bot.core.clock import Clock
from bot.core.lease import Lease
from bot.delivery.ratelimit import RatePolicy, SharedGate, global_shape
from bot.sources.base import Source
from bot.sources.leased import LeasedSource, source_lease_name
from bot.store.coordination import LockSession, connector
from bot.store.notify import WakeBus
from bot.store.rate_buckets import SharedBucket, SharedTokens


class Cluster:
    """One process's links to the others: a lease connection, a wake-up connection, rate buckets."""

    def __init__(self, url: str, clock: Clock) -> None:
        self._url = url
        self._clock = clock
        self.locks = LockSession.for_url(url)
        self._limits: list[SharedTokens] = []
        self._wakes: WakeBus | None = None

    def lease(self, name: str) -> Lease:
        return self.locks.lease(name)

    def shared_limits(self, policies: Mapping[str, RatePolicy]) -> dict[str, SharedGate]:
        """One bot-wide bucket per paced platform, shaped as the in-process global bucket."""
        gates: dict[str, SharedGate] = {}
        for platform, policy in policies.items():
            rate, capacity = global_shape(policy.limits.global_per_second)
            bucket = SharedBucket(connector(self._url), platform, "global", rate=rate, capacity=capacity)
            tokens = SharedTokens(bucket, self._clock)
            self._limits.append(tokens)
            gates[platform] = tokens
        return gates

    def leased(self, source: Source) -> Source:
        """`source` polled here only while this process holds its lease."""
        return LeasedSource(source, self.lease(source_lease_name(source.name)), self._clock)

    def listen(self, callbacks: Mapping[str, Callable[[], None]]) -> None:
        """Call `callbacks[topic]` when another process publishes `topic` (bot.store.notify)."""
        self._wakes = WakeBus.for_url(self._url, callbacks)
        self._wakes.start()

    def publish(self, topic: str) -> None:
        """Tell the other processes `topic` changed (after the change is committed)."""
        if self._wakes is not None:
            self._wakes.publish(topic)

    async def close(self) -> None:
        """Close every connection; the leases go with theirs, so other processes take over at once."""
        closing = [tokens.close() for tokens in self._limits]
        if self._wakes is not None:
            closing.append(self._wakes.close())
        closing.append(self.locks.close())
        await asyncio.gather(*closing, return_exceptions=True)
