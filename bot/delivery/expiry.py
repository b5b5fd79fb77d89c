"""The expiry sweep: queued rows first due more than `max_age` ago become `expired`.

Rows never wait forever. Claims already skip stale rows; this sweep records them as expired (at
start, then at most every EXPIRE_EVERY seconds), for every platform (also those not running), in
short batches so the database lock is held only briefly, with one log line per digest.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from bot.core.clock import Clock
from bot.store.db import Store

log = logging.getLogger("bot.delivery.engine")  # the engine's lines keep the one logger name

EXPIRE_EVERY = 60.0  # seconds between expiry sweeps; claims skip stale rows in between anyway
EXPIRE_BATCH = 500  # rows per expiry statement: the database lock is held only briefly


def duration(seconds: float) -> str:
    """A configured span as people say it: 24 h, 90 min, 45 s."""
    for unit, size in (("h", 3600), ("min", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g} {unit}"
    return f"{seconds:g} s"


class ExpirySweep:
    """`maybe_sweep()` on every claim round; it sweeps when the last sweep is EXPIRE_EVERY old."""

    def __init__(self, store: Store, max_age: float, clock: Clock) -> None:
        self._store = store
        self._max_age = max_age
        self._clock = clock
        self._next = 0.0  # monotonic: when stale rows are next expired

    async def maybe_sweep(self) -> None:
        """Sweep if one is due; the next one is scheduled first, so a failing store is not hammered."""
        if self._clock.monotonic() < self._next:
            return
        self._next = self._clock.monotonic() + EXPIRE_EVERY
        await self.sweep()

    async def sweep(self) -> None:
        """Expire stale rows a batch per statement; one log line per digest says how many, per platform."""
        now = self._clock.now()
        reason = f"expired: not sent within {duration(self._max_age)} of its due time"
        counts: dict[int | None, dict[str, int]] = {}  # digest seq (None: announcements) -> platform
        while True:
            batch = await self._store.expire_stale(
                now - timedelta(seconds=self._max_age), reason, now, EXPIRE_BATCH
            )
            for (seq, platform), count in batch.counts.items():
                per_platform = counts.setdefault(seq, {})
                per_platform[platform] = per_platform.get(platform, 0) + count
            if not batch.full:
                break
        for seq, per_platform in sorted(counts.items(), key=lambda item: (item[0] is None, item[0] or 0)):
            log.warning(
                "%s: %d queued deliveries expired, not sent within %s of their due time (%s)",
                f"digest #{seq}" if seq is not None else "announcements",
                sum(per_platform.values()),
                duration(self._max_age),
                ", ".join(f"{platform} {count}" for platform, count in sorted(per_platform.items())),
            )
