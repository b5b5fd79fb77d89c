"""Expansion: a planned digest's ledger rows, written batch by batch as the engine drains them.

The planner has rendered every reading and recorded the digest's fan-out instant; what is left is
one row per (instant subscription, message part). A 1,000/s send rate needs 1,000 rows a second,
not a million up front, so `Expander.run` (a task beside the engine) writes the next batch only
while fewer than `stock` pending rows are due: a bounded count on deliveries_due, asked again when
the engine has claimed enough rows to go below it (`claimed`), or every RECHECK seconds (on
PostgreSQL other processes claim too). Rows waiting for a retry or for quiet hours are due later
and never hold the expansion back. Digests are expanded oldest first.

Each batch is an id range of the active instant subscriptions past the digest's cursor, written by
one INSERT ... SELECT joining them to the variants (bot/store/fanout.py) in a short transaction
that also moves the cursor; every row is due, and created, at the fan-out instant, so order, expiry
and quiet hours are as if it had been written then. A subscription that switched to a reading not
rendered yet is rendered first (with no transaction open); one added meanwhile is past the cursor
and gets the digest, one unsubscribed meanwhile does not. A crash resumes from the cursor with the
saved variants. On PostgreSQL the batch transaction locks the digest row, so two processes'
expanders write its batches one after the other; a row written twice is impossible anyway (the
ledger's unique (subscription, unit, part) key and ON CONFLICT DO NOTHING).
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import timedelta

from bot.core.clock import Clock, SystemClock, sleep_or_wake
from bot.core.model import Digest, Vocabulary
from bot.core.schedule import after_quiet
from bot.delivery.planner import Composer, Planner, render_readings, save_rendered
from bot.render import Renderer
from bot.store.db import Store, StoreUnavailable
from bot.store.retry import Backoff

log = logging.getLogger(__name__)

# Subscriptions per expansion transaction. Each commit writes every index leaf page the batch
# touched (one per payload in deliveries_by_payload, whatever the batch size), so larger batches
# write far fewer pages per row: 10,000 wrote 1M subscriptions' rows in 16 s instead of 26 s at
# 2,000, while one batch still holds the store only ~0.1-0.2 s (a command waits at most that long).
BATCH_SIZE = 10_000
STOCK_SECONDS = 60.0  # the due rows kept ahead of the engine: this long at the global send rate
RECHECK = 2.0  # seconds between two looks at the stock when no claim of ours says it went down
IDLE = 10.0  # seconds between two looks for planned digests (the planner wakes us at once)
NEVER = sys.maxsize  # claims that wake the expander when it has nothing to expand: none


def stock_for(send_rate: float | None, batch_size: int = BATCH_SIZE) -> int:
    """The bound on due rows: STOCK_SECONDS of sends at `send_rate` (messages per second, None when
    unpaced), and never under two batches, so the engine never runs dry between two batches."""
    return max(2 * batch_size, int(STOCK_SECONDS * (send_rate or 0)))


@dataclass(slots=True)
class _Expansion:
    """One digest being expanded by this process: its model, renders, and what was written."""

    digest: Digest
    composer: Composer
    started: float
    added: int = 0
    subscriptions: int = 0


@dataclass(slots=True)
class _Stock:
    """Claims since the due rows were last counted, and how many may bring them under the bound
    (NEVER while there is nothing to expand, or the store fails: claims then wake nobody)."""

    claimed: int = 0
    needed: int = 0


class Expander:
    """Writes planned digests' rows: `run()` beside the engine, or `expand_all()` at once."""

    def __init__(
        self,
        store: Store,
        vocabulary: Vocabulary,
        *,
        renderers: Mapping[str, Renderer],
        clock: Clock | None = None,
        batch_size: int = BATCH_SIZE,
        stock: int | None = None,
        platforms: Collection[str] | None = None,
        max_age: float | None = None,
        on_enqueued: Callable[[], None] | None = None,
    ) -> None:
        """`stock`: due rows kept ahead of the engine (default `stock_for(None, batch_size)`), of
        `platforms` (those this process sends; None: all) and first due less than `max_age` seconds
        ago (older ones are the expiry sweep's; None: all). `on_enqueued` (e.g. engine.wake) runs
        after each committed batch that added rows."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self._store = store
        self._vocabulary = vocabulary
        self._renderers = renderers
        self._clock = clock or SystemClock()
        self._batch = batch_size
        self._bound = stock if stock is not None else stock_for(None, batch_size)
        if self._bound < 1:
            raise ValueError(f"stock must be >= 1, got {self._bound}")
        self._platforms = None if platforms is None else list(platforms)
        self._max_age = None if max_age is None else timedelta(seconds=max_age)
        self._on_enqueued = on_enqueued
        self._expansions: dict[int, _Expansion] = {}
        self._stock = _Stock()
        self._wake = asyncio.Event()
        self._stopping = False

    def wake(self) -> None:
        """A digest was planned: look at it now."""
        self._wake.set()

    def claimed(self, rows: int) -> None:
        """The engine claimed `rows` rows; once enough to bring the stock under the bound, count it."""
        self._stock.claimed += rows
        if self._stock.claimed >= self._stock.needed:
            self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def expand_all(self) -> int:
        """Write every planned digest's remaining rows now, unthrottled (tests, CLI and benches;
        not the app's run loop); returns the rows added."""
        added = 0
        while (seq := await self._oldest()) is not None:
            while (batch := await self._write_batch(seq)) is not None:
                added += batch
        return added

    async def run(self) -> None:
        """Expand until `stop()`, keeping fewer than `stock` due rows ahead of the engine; a failing
        database, or a digest that cannot be expanded, is retried after a back-off pause."""
        backoff = Backoff()
        while not self._stopping:
            self._wake.clear()
            try:
                pause = await self._step()
                backoff.reset()
            except StoreUnavailable:
                self._stock = _Stock(needed=NEVER)
                pause = backoff.delay()
            except Exception:
                log.exception("expanding a digest failed; trying again")
                self._stock = _Stock(needed=NEVER)
                pause = backoff.delay()
            if pause:
                await sleep_or_wake(self._clock, pause, self._wake)

    async def _step(self) -> float:
        """One batch if the engine needs rows; else how long to wait (a wake-up cuts it short)."""
        seq = await self._oldest()
        if seq is None:
            self._stock = _Stock(needed=NEVER)  # the planner's wake-up, or the timer
            return IDLE
        now = self._clock.now()
        fresh = None if self._max_age is None else now - self._max_age
        due = await self._store.due_stock(now, self._bound, self._platforms, fresh_since=fresh)
        if due >= self._bound:
            self._stock = _Stock(needed=due - self._bound + 1)
            return RECHECK
        await self._write_batch(seq)
        return 0.0

    async def _oldest(self) -> int | None:
        async with self._store.transaction(write=False) as tx:
            pending = await tx.digests.to_expand()
        return pending[0] if pending else None

    async def _write_batch(self, seq: int) -> int | None:
        """The digest's next batch; returns the rows added, None once its fan-out is done.

        The transaction finds the batch (the next `batch_size` active instant subscriptions) and,
        when every reading in it has its variant, writes its rows with one statement. Readings
        without one (a subscription switched to it since planning) are rendered in a worker thread
        with no transaction open and saved, then the batch is read again."""
        expansion = self._expansions.get(seq) or await self._begin(seq)
        while True:
            async with self._store.transaction() as tx:
                found = await tx.digests.expansion(seq)
                if found is None:
                    self._expansions.pop(seq, None)
                    return None
                cursor, instant = found
                count, last = await tx.fanout.batch_end(cursor, self._batch)
                missing = await tx.fanout.missing_readings(seq, cursor, last)
                if not missing:
                    quiet = await tx.fanout.quiet_pairs(seq, cursor, last)
                    due = {key: after_quiet(hours, zone, instant) for key, (hours, zone) in quiet.items()}
                    added = await tx.fanout.insert(seq, cursor, last, quiet_due=due, now=instant)
                    done = count < self._batch
                    await tx.digests.advance_plan(seq, last, done=done, now=self._clock.now())
                    if done:
                        await tx.fanout.forget(seq)
                    break
            rendered = await render_readings(self._store, expansion.composer, seq, expansion.digest, missing)
            async with self._store.transaction() as tx:
                await save_rendered(tx, seq, rendered, self._clock.now())
        expansion.added += added
        expansion.subscriptions += count
        if added and self._on_enqueued is not None:
            self._on_enqueued()
        if done:
            self._finished(seq)
        return added

    async def _begin(self, seq: int) -> _Expansion:
        digest = (await self._store.load_digests([seq]))[seq]
        expansion = _Expansion(digest, Composer(self._vocabulary, self._renderers), self._clock.monotonic())
        self._expansions[seq] = expansion
        return expansion

    def _finished(self, seq: int) -> None:
        expansion = self._expansions.pop(seq)
        log.info(
            "expanded digest %s (%s): %d messages for %d subscriptions, written over %.2f s",
            expansion.digest.id,
            expansion.digest.source,
            expansion.added,
            expansion.subscriptions,
            self._clock.monotonic() - expansion.started,
        )


async def fan_out(
    store: Store,
    vocabulary: Vocabulary,
    *,
    renderers: Mapping[str, Renderer],
    clock: Clock | None = None,
    batch_size: int = BATCH_SIZE,
) -> int:
    """Plan every pending digest and write all its rows now; returns the rows added. The one-shot
    path (tests, CLI, benches), where nothing sends meanwhile: the app plans, then expands as its
    engine drains."""
    await Planner(store, vocabulary, renderers=renderers, clock=clock).plan_pending()
    expander = Expander(store, vocabulary, renderers=renderers, clock=clock, batch_size=batch_size)
    return await expander.expand_all()
