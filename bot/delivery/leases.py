"""The outbox leases of several processes on one PostgreSQL database (see store/ledger.py).

A process keeps the rows it claimed by renewing their lease every third of its length; a process
that stops renewing (killed -9, frozen, cut off) loses them when the lease runs out: its unstarted
rows are simply claimable again, and its `sending` rows become `interrupted` here, in whichever
process sweeps first (exactly once: the sweep only changes rows still `sending`). SQLite has one
process, which recovers its rows at start-up only: nothing to do here.
"""

from __future__ import annotations

import logging
from collections.abc import Collection

from bot.core.clock import Clock
from bot.store.db import Store

log = logging.getLogger("bot.delivery.engine")  # the engine's lines keep the one logger name

RENEWALS_PER_LEASE = 3  # two renewals may fail before another process takes over


class LeaseKeeper:
    """`maybe_renew(held)` on every claim round; it renews and sweeps a few times per lease length."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock
        self._next = 0.0  # monotonic: when leases are next renewed

    @property
    def active(self) -> bool:
        return self._store.dialect == "postgres"

    def wait(self) -> float:
        """Seconds until the next renewal is due (how long the engine may sleep while idle)."""
        return max(0.0, self._next - self._clock.monotonic()) if self.active else float("inf")

    async def maybe_renew(self, held: Collection[int]) -> None:
        """Renew this process's leases on `held` (claimed or sending rows), then interrupt the
        `sending` rows of processes whose leases ran out; the next round is scheduled first, so a
        failing store is not hammered."""
        if not self.active or self._clock.monotonic() < self._next:
            return
        self._next = self._clock.monotonic() + self._store.lease.total_seconds() / RENEWALS_PER_LEASE
        await self._store.renew_leases(held, self._clock.now())
        count = await self._store.recover_interrupted()
        if count:
            log.warning("%d deliveries were in flight in a process that stopped; not resending them", count)

    async def release(self) -> None:
        """At shutdown: claimed rows this process never started are free for the others at once."""
        if self.active:
            await self._store.release_leases()
