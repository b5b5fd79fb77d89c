"""Scheduled posts with several processes on one PostgreSQL database: each due post is written once.

Each `Store` is one process; their schedulers wake at the same due instant and race for the same
subscriptions (READ COMMITTED: without a row lock both would read the same cursor and both write).
The two render a post in a different number of parts (two versions during a rolling upgrade), so a
second write would show as extra parts beside the first post's.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from datetime import UTC, datetime

import pytest
from clocks import ManualClock
from db_reads import select
from ledger_helpers import SpyRenderer, publish, scheduled
from pg_cluster import Opener
from sample_digests import VOCABULARY

from bot.delivery.planner import Payloads
from bot.delivery.scheduler import Post, Scheduler
from bot.store.db import Transaction
from bot.store.subscriptions import Subscription

CHATS = [str(chat) for chat in range(4)]
PARTS = (2, 3)  # each process's renderer
MEET_WAIT = 0.3  # seconds a scheduler about to write waits for the other one to get there too


class Rendezvous:
    """Holds each scheduler about to write a post until the other one is about to write the same
    post too (or MEET_WAIT passed: it is waiting for the first one's lock), so both read it first."""

    def __init__(self) -> None:
        self._arrived: Counter[int] = Counter()
        self._met: dict[int, asyncio.Event] = {}

    async def meet(self, key: int) -> None:
        self._arrived[key] += 1
        met = self._met.setdefault(key, asyncio.Event())
        if self._arrived[key] == 2:
            met.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(met.wait(), MEET_WAIT)


class RacingScheduler(Scheduler):
    """The real scheduler, with its writes held at the rendezvous (the worst interleaving)."""

    def __init__(self, *args: object, rendezvous: Rendezvous, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._rendezvous = rendezvous

    async def _write(
        self, tx: Transaction, sub: Subscription, post: Post, payloads: Payloads, now: datetime
    ) -> int:
        await self._rendezvous.meet(sub.id)
        return await super()._write(tx, sub, post, payloads, now)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2025, 3, 8, 12, 0, tzinfo=UTC))  # 07:00 in New York


async def test_two_processes_post_each_due_subscription_once(processes: Opener, clock: ManualClock) -> None:
    first, second = await processes(), await processes()
    subs = [await scheduled(first, chat) for chat in CHATS]
    for digest in ("d1", "d2", "d3"):
        await publish(first, digest)
    await clock.advance(3600)  # 08:00: every subscription is due, in both processes
    rendezvous = Rendezvous()
    schedulers = [
        RacingScheduler(
            store, VOCABULARY, renderers={"telegram": SpyRenderer(parts)}, clock=clock, rendezvous=rendezvous
        )
        for store, parts in zip((first, second), PARTS, strict=True)
    ]
    for _ in range(2):  # the same slot again: nothing more
        await asyncio.gather(*(scheduler.run_due() for scheduler in schedulers))
    rows = select(first, "SELECT subscription_id, unit, part, parts, digest_seq FROM deliveries")
    newest = select(first, "SELECT max(seq) AS seq FROM digests")[0]["seq"]
    for sub in subs:
        mine = [row for row in rows if row["subscription_id"] == sub]
        [parts] = {row["parts"] for row in mine}  # one process's post, no orphan part of the other's
        assert sorted(row["part"] for row in mine) == list(range(1, parts + 1))
        assert {(row["unit"], row["digest_seq"]) for row in mine} == {("s>0", newest)}
    cursors = select(first, "SELECT schedule_seq, next_due_at FROM subscriptions")
    assert {row["schedule_seq"] for row in cursors} == {newest}
    assert len({row["next_due_at"] for row in cursors}) == 1
