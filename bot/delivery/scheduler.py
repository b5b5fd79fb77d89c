"""Durable `at HH:MM` delivery: next due instants live in the subscriptions table.

One loop sleeps until the earliest due instant (or until woken because a subscription changed).
For each due subscription, a single transaction reads the digests published since its last post
(a cursor on digests.seq), merges them, selects and renders, writes the ledger rows, and advances
both the cursor and the next due instant. A crash before the commit leaves everything as it was
(the post happens after restart); after the commit the rows exist exactly once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from bot.core.model import Digest, Vocabulary
from bot.delivery.merge import merge_digests
from bot.delivery.planner import Composer, Lru, deliveries_for, platform_renderers
from bot.delivery.ratelimit import Clock, SystemClock
from bot.delivery.schedule import next_due, parse_schedule, parse_timezone
from bot.render import Renderer
from bot.store.db import Store, StoreUnavailable, Transaction
from bot.store.retry import Backoff
from bot.store.subscriptions import Recipient, Subscription, encode_filter
from bot.store.times import to_db

log = logging.getLogger(__name__)

MAX_DIGESTS_PER_POST = 20
DUE_BATCH = 100
MAX_SLEEP = 60.0
FAILED_RETRY = timedelta(minutes=10)


class Scheduler:
    """Fires due scheduled subscriptions; `on_enqueued` (e.g. engine.wake) hears about new rows."""

    def __init__(
        self,
        store: Store,
        vocabulary: Vocabulary,
        *,
        renderers: Mapping[str, Renderer] | None = None,
        clock: Clock | None = None,
        on_enqueued: Callable[[], None] | None = None,
        max_digests: int = MAX_DIGESTS_PER_POST,
    ) -> None:
        if max_digests < 1:
            raise ValueError(f"max_digests must be >= 1, got {max_digests}")
        self._store = store
        self._clock = clock or SystemClock()
        self._composer = Composer(vocabulary, platform_renderers() if renderers is None else renderers)
        self._on_enqueued = on_enqueued
        self._max_digests = max_digests
        self._digests = Lru(4 * max_digests)
        self._merges = Lru(16)
        self._wake = asyncio.Event()
        self._stopping = False
        self._store_backoff = Backoff(1.0, MAX_SLEEP)

    def wake(self) -> None:
        """A schedule changed: recompute the earliest due instant now rather than after a sleep."""
        self._wake.set()

    def stop(self) -> None:
        """`run()` returns at its next wake-up (immediately if it is sleeping)."""
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        """Until `stop()`: fire what is due, then sleep until the next due instant (at most a minute,
        so a changed wall clock is noticed). While the database fails, retry with back-off (the store
        logs the failure once; one traceback per attempt would only repeat it)."""
        while not self._stopping:
            self._wake.clear()
            delay = MAX_SLEEP
            try:
                await self.run_due()
                async with self._store.transaction(write=False) as tx:
                    earliest = await tx.subscriptions.earliest_due()
                if earliest is not None:
                    delay = min(MAX_SLEEP, max(0.0, (earliest - self._clock.now()).total_seconds()))
                self._store_backoff.reset()
            except StoreUnavailable:
                delay = self._store_backoff.delay()
            except Exception:
                log.exception("scheduled delivery failed; trying again in %.0f s", MAX_SLEEP)
            await self._sleep(delay)

    async def _sleep(self, seconds: float) -> None:
        """Sleep on the clock, but wake up early when `wake()` or `stop()` is called."""
        if self._wake.is_set():
            return
        sleeper = asyncio.ensure_future(self._clock.sleep(seconds))
        waker = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sleeper, waker):
                task.cancel()

    async def run_due(self) -> int:
        """Fire every subscription due now; returns the number of ledger rows created."""
        total = 0
        fired = 0
        try:
            while not self._stopping:  # on shutdown the rest stay due and fire after the restart
                now = self._clock.now()
                async with self._store.transaction(write=False) as tx:
                    due = await tx.subscriptions.due(now, DUE_BATCH)
                if not due:
                    break
                for sub in due:
                    if self._stopping:
                        break
                    try:
                        total += await self._fire(sub, now)
                    except StoreUnavailable:
                        raise  # not this subscription's fault: every other one would fail the same way
                    except Exception:
                        log.exception("scheduled post for subscription %d failed; trying again later", sub.id)
                        await self._postpone(sub, now)
                    fired += 1
        finally:  # posts committed before a database failure still go out now
            if fired:
                log.info("scheduled posts: %d subscriptions due, %d messages queued", fired, total)
                if total and self._on_enqueued is not None:
                    self._on_enqueued()
        return total

    async def _postpone(self, sub: Subscription, now: datetime) -> None:
        """Retry a post that could not be built a little later, keeping its cursor, so one bad
        subscription neither blocks the others nor is retried in a tight loop."""
        async with self._store.transaction() as tx:
            current = await tx.subscriptions.get_by_id(sub.id)
            if current is None or current.next_due_at != sub.next_due_at:
                return  # changed meanwhile: its new due time stands
            covered = await tx.subscriptions.schedule_seq(sub.id)
            await tx.subscriptions.advance_schedule(sub.id, now + FAILED_RETRY, covered, now)

    async def _merged(self, tx: Transaction, seqs: tuple[int, ...]) -> Digest:
        """The merge of `seqs`, decoded and merged once for all the chats due with the same digests."""
        merged = self._merges.find(seqs)
        if merged is None:
            missing = [seq for seq in seqs if self._digests.find(seq) is None]
            for seq, digest in (await tx.digests.load(missing)).items():
                self._digests.put(seq, digest)
            merged = self._merges.put(seqs, merge_digests([self._digests.find(seq) for seq in seqs]))
        return merged

    async def _fire(self, sub: Subscription, now: datetime) -> int:
        """One scheduled post. A subscription that was switched to instant gets one last catch-up
        post here, limited to digests whose fan-out will not reach it (see SubscriptionRepo._reschedule)."""
        async with self._store.transaction() as tx:
            current = await tx.subscriptions.get_by_id(sub.id)
            if current is None or current.next_due_at != sub.next_due_at or current.status != "active":
                return 0
            covered = await tx.subscriptions.schedule_seq(sub.id)
            if current.schedule == "instant":
                upto = await tx.subscriptions.fanout_floor(sub.id, covered)
            else:
                upto = await tx.digests.max_seq()
            found = await tx.digests.scheduled_after(sub.id, covered, upto, self._max_digests)
            added = 0
            if found:
                versions = tuple(version for _, version in found)  # cache keys: immutable rows
                merged = await self._merged(tx, versions)
                recipient = _recipient(current)
                payloads = await asyncio.to_thread(
                    self._composer.compose,
                    versions,
                    merged,
                    current.platform,
                    recipient.filter,
                    current.timezone,
                    current.language,
                )
                unit = f"s{to_db(sub.next_due_at or now)}"
                rows = deliveries_for(recipient, payloads, unit=unit, digest_seq=found[-1][0], due_at=now)
                added = await tx.deliveries.add(rows, now)
            upcoming = next_due(parse_schedule(current.schedule), now, parse_timezone(current.timezone))
            await tx.subscriptions.advance_schedule(sub.id, upcoming, max(covered, upto), now)
        return added


def _recipient(sub: Subscription) -> Recipient:
    return Recipient(
        sub.id,
        sub.platform,
        sub.chat_id,
        sub.thread_id or "",
        sub.kind,
        encode_filter(sub.filter),
        sub.timezone,
        sub.language,
        sub.quiet,
    )
