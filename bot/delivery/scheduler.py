"""Durable `at HH:MM` and `weekly DAY HH:MM` delivery: next due instants live in the subscriptions table.

One loop sleeps until the earliest due instant (or until woken because a subscription changed).
For each due subscription, a single transaction reads the digests published since its last post
(a cursor on digests.seq), writes the ledger rows, and advances both the cursor and the next due
instant. Merging, selecting and rendering happen before it, outside any transaction; the writing
transaction reads the post again and only uses a rendering made for exactly what it finds. A crash
before the commit leaves everything as it was (the post happens after restart); after the commit
the rows exist exactly once. A weekly subscription's post is a roundup (bot.delivery.roundup) of the
digests of at most the last 7 days, keyed like the others by the cursor it starts from (``w>N``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.core.clock import Clock, SystemClock, sleep_or_wake
from bot.core.model import Digest, Vocabulary
from bot.core.schedule import after_quiet, next_due, parse_schedule, parse_timezone
from bot.delivery.config import DEFAULT_TOP
from bot.delivery.merge import merge_digests
from bot.delivery.planner import Composer, Lru, Payloads, Reading, deliveries_for
from bot.delivery.roundup import WEEK_DIGESTS, RoundupComposer, prepare_week
from bot.render import Renderer
from bot.store.db import Store, StoreUnavailable, Transaction
from bot.store.retry import Backoff
from bot.store.subscriptions import Recipient, Subscription, encode_filter

log = logging.getLogger(__name__)

MAX_DIGESTS_PER_POST = 20
DUE_BATCH = 100
MAX_SLEEP = 60.0
FAILED_RETRY = timedelta(minutes=10)
WEEK = timedelta(days=7)


class Scheduler:
    """Fires due scheduled subscriptions; `on_enqueued` (e.g. engine.wake) hears about new rows."""

    def __init__(
        self,
        store: Store,
        vocabulary: Vocabulary,
        *,
        renderers: Mapping[str, Renderer],
        clock: Clock | None = None,
        on_enqueued: Callable[[], None] | None = None,
        max_digests: int = MAX_DIGESTS_PER_POST,
        top_per_category: int = DEFAULT_TOP,
    ) -> None:
        if max_digests < 1:
            raise ValueError(f"max_digests must be >= 1, got {max_digests}")
        self._store = store
        self._clock = clock or SystemClock()
        self._composer = Composer(vocabulary, renderers)
        self._roundups = RoundupComposer(vocabulary, renderers, top_per_category)
        self._weeks = Lru(2)  # the pooled weeks of the roundups being composed, by their versions
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
        if not self._wake.is_set():
            await sleep_or_wake(self._clock, seconds, self._wake)

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
            current = await tx.subscriptions.get_for_schedule(sub.id)
            if current is None or current.next_due_at != sub.next_due_at:
                return  # changed meanwhile: its new due time stands
            covered = await tx.subscriptions.schedule_seq(sub.id)
            await tx.subscriptions.advance_schedule(sub.id, now + FAILED_RETRY, covered, now)

    async def _read_post(self, tx: Transaction, sub: Subscription, now: datetime) -> Post | None:
        """What `sub` should post now, or None when it changed since it was found due (on PostgreSQL
        the row stays locked until `tx` ends: another process posting it meanwhile is waited for, and
        then seen to have moved its due instant)."""
        current = await tx.subscriptions.get_for_schedule(sub.id)
        if current is None or current.next_due_at != sub.next_due_at or current.status != "active":
            return None
        covered = await tx.subscriptions.schedule_seq(sub.id)
        if current.schedule == "instant":
            upto = await tx.subscriptions.fanout_floor(sub.id, covered)
        else:
            upto = await tx.digests.max_seq()
        if parse_schedule(current.schedule).is_weekly:
            found = await tx.digests.scheduled_after(sub.id, covered, upto, WEEK_DIGESTS, since=now - WEEK)
            return Post(current, covered, upto, tuple(found), weekly=True)
        found = await tx.digests.scheduled_after(sub.id, covered, upto, self._max_digests)
        return Post(current, covered, upto, tuple(found))

    async def _compose(self, post: Post) -> Payloads:
        """The post's payloads: digests loaded, merged and rendered with no transaction open."""
        versions = post.versions
        if post.weekly:
            return await self._compose_roundup(versions, post.reading)
        missing = [seq for seq in versions if self._digests.find(seq) is None]
        if missing:
            for seq, digest in (await self._store.load_digests(missing)).items():
                self._digests.put(seq, digest)
        digests = [self._digests.find(seq) for seq in versions]
        reading = post.reading
        # Merging and rendering are CPU work: a worker thread keeps the loop alive.
        return await asyncio.to_thread(self._merge_and_compose, versions, digests, reading)

    async def _compose_roundup(self, versions: tuple[int, ...], reading: Reading) -> Payloads:
        """A roundup reads up to a week of digests: loaded and pooled once for every chat due with the
        same week (only the pool, the week's distinct items, stays cached)."""
        cached = self._roundups.cached(versions, *reading)
        if cached is not None:
            return cached
        week = self._weeks.find(versions)
        if week is None:
            loaded = await self._store.load_digests(list(versions))
            digests = [loaded[seq] for seq in versions if seq in loaded]
            week = await asyncio.to_thread(prepare_week, digests)
            if week is None:  # retention dropped the week's digests meanwhile: nothing to sum up
                return ()
            self._weeks.put(versions, week)
        return await asyncio.to_thread(self._roundups.compose, versions, week, *reading)

    def _merge_and_compose(
        self, versions: tuple[int, ...], digests: list[Digest], reading: Reading
    ) -> Payloads:
        """Merged once for all the chats due with the same digests (versions are immutable rows)."""
        merged = self._merges.find(versions) or self._merges.put(versions, merge_digests(digests))
        return self._composer.compose(versions, merged, *reading)

    async def _fire(self, sub: Subscription, now: datetime) -> int:
        """One scheduled post. A subscription that was switched to instant gets one last catch-up
        post here, limited to digests whose fan-out will not reach it (see SubscriptionRepo.reschedule).

        The post is rendered first; the writing transaction reads it again and renders afresh (with
        the lock released) when the digests or the subscription's settings changed meanwhile.
        """
        rendered: dict[tuple[tuple[int, ...], Reading], Payloads] = {}
        while True:
            async with self._store.transaction() as tx:
                post = await self._read_post(tx, sub, now)
                if post is None:
                    return 0
                key = (post.versions, post.reading)
                if not post.found or key in rendered:
                    return await self._write(tx, sub, post, rendered.get(key, ()), now)
            rendered[key] = await self._compose(post)

    async def _write(
        self, tx: Transaction, sub: Subscription, post: Post, payloads: Payloads, now: datetime
    ) -> int:
        """The post's rows and the advanced cursor and due instant, in the caller's transaction.

        The rows' key is the digest cursor the post starts from, not a time: every post with rows
        moves the cursor past its digests and the cursor never goes back, whereas due instants are
        set from the wall clock and repeat when it steps back. The rows wait for quiet hours to end.
        """
        added = 0
        current = post.current
        if payloads:
            due = after_quiet(current.quiet, current.timezone, now)
            unit, newest = f"{'w' if post.weekly else 's'}>{post.covered}", post.found[-1][0]
            rows = deliveries_for(_recipient(current), payloads, unit=unit, digest_seq=newest, due_at=due)
            added = await tx.deliveries.add(rows, now)
        upcoming = next_due(parse_schedule(current.schedule), now, parse_timezone(current.timezone))
        await tx.subscriptions.advance_schedule(sub.id, upcoming, max(post.covered, post.upto), now)
        return added


@dataclass(frozen=True, slots=True)
class Post:
    """One scheduled post as read from the database: the subscription, its cursor, what it covers."""

    current: Subscription
    covered: int
    upto: int
    found: tuple[tuple[int, int], ...]
    weekly: bool = False

    @property
    def versions(self) -> tuple[int, ...]:
        """The newest version of each covered digest: cache keys, since stored rows never change."""
        return tuple(version for _, version in self.found)

    @property
    def reading(self) -> Reading:
        return Reading.of(_recipient(self.current))


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
        sub.format,
        None if sub.previews is None else int(sub.previews),
        int(sub.silent),
    )
