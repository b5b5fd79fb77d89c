"""The retention task: prunes finished history shortly after start and then hourly.

Without it the database only grows: a feed entry that changes every poll stores a new version each
time, and every delivery keeps its row and rendered body forever. Each rule runs in batches of a few
hundred rows, one short transaction each with the event loop free in between, so sends and commands
never wait long for the database; what may be pruned is decided in bot/store/retention.py. Freed
pages are reused by SQLite for new rows (the file keeps its size but stops growing); the WAL is
checkpointed and truncated after each pass so it does not keep the pruned pages' copies.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, fields
from datetime import timedelta
from typing import TypeVar

from bot.core.clock import Clock, sleep_or_wake
from bot.delivery.config import RetentionConfig
from bot.store.db import Store, StoreUnavailable, Transaction
from bot.store.retention import Batch

log = logging.getLogger(__name__)

FIRST_PASS_AFTER = 60.0
EVERY = 3600.0
ROWS_PER_BATCH = 500
DIGESTS_PER_BATCH = 10  # a changed digest's stored model can be a megabyte: fewer per transaction
C = TypeVar("C")


@dataclass(frozen=True, slots=True)
class PruneReport:
    """Rows removed by one pass, per rule."""

    revisions: int = 0
    errors: int = 0
    deliveries: int = 0
    payloads: int = 0
    bodies: int = 0

    @property
    def total(self) -> int:
        return sum(getattr(self, f.name) for f in fields(self))


class Pruner:
    """`prune()` runs one pass; `run()` runs passes until `stop()`.

    `clock` decides what is old and paces the passes: the store's clock, which dated the rows, so
    it is passed explicitly rather than defaulted to the system clock.
    """

    def __init__(
        self,
        store: Store,
        settings: RetentionConfig,
        *,
        clock: Clock,
        first_pass_after: float = FIRST_PASS_AFTER,
        every: float = EVERY,
    ) -> None:
        self._store = store
        self._settings = settings
        self._clock = clock
        self._first = first_pass_after
        self._every = every
        self._stop = asyncio.Event()

    def stop(self) -> None:
        """`run()` returns after the batch in progress (immediately while it waits)."""
        self._stop.set()

    async def run(self) -> None:
        delay = self._first
        while not await self._stopped_within(delay):
            try:
                await self.prune()
            except StoreUnavailable:
                pass  # the store has said so once (StoreHealth); the next pass tries again
            except Exception:
                log.exception("pruning old history failed; trying again in %.0f s", self._every)
            delay = self._every

    async def _stopped_within(self, seconds: float) -> bool:
        await sleep_or_wake(self._clock, seconds, self._stop)
        return self._stop.is_set()

    async def prune(self) -> PruneReport:
        """One pass over every rule, then a WAL checkpoint; logs what it removed."""
        started = self._clock.monotonic()
        now = self._clock.now()
        keep = self._settings.digest_versions
        deliveries_before = now - timedelta(days=self._settings.deliveries_days)
        bodies_before = now - timedelta(days=self._settings.payloads_days)
        report = PruneReport(
            revisions=await self._drain(
                lambda tx, after: tx.retention.prune_revisions(keep, after, DIGESTS_PER_BATCH), 0
            ),
            errors=await self._drain(
                lambda tx, after: tx.retention.prune_errors(keep, after, ROWS_PER_BATCH), 0
            ),
            deliveries=await self._drain(
                lambda tx, after: tx.retention.prune_deliveries(deliveries_before, after, ROWS_PER_BATCH),
                ("", 0),
            ),
            payloads=await self._drain(
                lambda tx, after: tx.retention.prune_orphan_payloads(after, ROWS_PER_BATCH), 0
            ),
            bodies=await self._drain(
                lambda tx, after: tx.retention.drop_payload_bodies(bodies_before, after, ROWS_PER_BATCH), 0
            ),
        )
        checkpointed = await self._store.checkpoint()
        if report.total or not checkpointed:
            log.info(
                "pruned %d old digest versions, %d broken versions, %d deliveries, %d payloads and"
                " %d payload bodies in %.2f s%s",
                report.revisions,
                report.errors,
                report.deliveries,
                report.payloads,
                report.bodies,
                self._clock.monotonic() - started,
                "" if checkpointed else "; the WAL is in use by a reader, checkpoint retried next time",
            )
        return report

    async def _drain(self, step: Callable[[Transaction, C], Awaitable[Batch[C]]], start: C) -> int:
        """Run `step` batch after batch, one transaction each, until it reports the end (or stop).

        The store's lock is fair: whoever queued for it during a batch goes before the next one."""
        total, after = 0, start
        while not self._stop.is_set():
            async with self._store.transaction() as tx:
                batch = await step(tx, after)
            total += batch.pruned
            if batch.after is None:
                break
            after = batch.after
        return total
