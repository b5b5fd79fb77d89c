"""The outbox leases of several processes on one PostgreSQL database (see store/ledger.py).

A process keeps the rows it claimed by renewing their lease every third of its length; a process
that stops renewing (killed -9, frozen, cut off) loses them when the lease runs out: its unstarted
rows are simply claimable again, and its `sending` rows become `interrupted` here, in whichever
process sweeps first (exactly once: the sweep only changes rows still `sending`). SQLite has one
process, which recovers its rows at start-up only: nothing to do here.

A mark `sending` that failed with the connection may still have committed on the server: such rows
are "in doubt" (kept out of this process's claims) until the database answers again, then put back
to pending (`settle`) instead of being left `sending` under a lease nobody renews, to be interrupted.
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
        self._doubts: set[int] = set()  # rows whose failed mark may have committed

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
        await self._store.renew_leases({*held, *self._doubts}, self._clock.now())
        count = await self._store.recover_interrupted()
        if count:
            log.warning("%d deliveries were in flight in a process that stopped; not resending them", count)

    @property
    def doubts(self) -> frozenset[int]:
        """Rows not to claim again until settled: a mark of theirs may have committed."""
        return frozenset(self._doubts)

    def doubt(self, delivery_id: int) -> None:
        """The row's mark failed: it may be `sending` under this process's lease all the same."""
        if self.active:
            self._doubts.add(delivery_id)

    async def settle(self) -> None:
        """Rows in doubt go back to pending (those the failed marks did commit); raises
        StoreUnavailable, keeping them in doubt, while the database still fails."""
        if not self._doubts:
            return
        doubts = set(self._doubts)
        count = await self._store.unmark_sending(doubts, self._clock.now())
        self._doubts -= doubts
        if count:
            log.info(
                "%d deliveries marked sending by a commit whose answer was lost are pending again", count
            )

    async def release(self) -> None:
        """At shutdown: claimed rows this process never started (rows in doubt too) are free for the
        others at once."""
        if self.active:
            await self.settle()
            await self._store.release_leases()
