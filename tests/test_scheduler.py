"""`at HH:MM` delivery: durable next-due times, merged posts, DST, and crash safety."""

from __future__ import annotations

import asyncio
import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from clocks import ManualClock
from ledger_helpers import Crash, SpyRenderer, publish, scheduled
from sample_digests import VOCABULARY, incoming, make_digest

from bot.core.errors import DigestError
from bot.core.model import Filter
from bot.delivery.scheduler import Scheduler
from bot.platforms.registry import default_renderers
from bot.store.db import Store

# 2025-03-08 07:00 in New York (EST, UTC-5); DST starts there on 2025-03-09 at 02:00.
BEFORE_DST = datetime(2025, 3, 8, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(BEFORE_DST)


def _rows(store: Store) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(store.path)) as raw:
        return raw.execute(
            "SELECT subscription_id, unit, part, digest_seq, payload_id FROM deliveries"
        ).fetchall()


def _payloads(store: Store) -> list[str]:
    with closing(sqlite3.connect(store.path)) as raw:
        query = "SELECT p.body FROM deliveries d JOIN payloads p ON p.id = d.payload_id ORDER BY d.id"
        return [row[0] for row in raw.execute(query)]


async def _next_due(store: Store, subscription_id: int) -> datetime | None:
    sub = await store.get_subscription_by_id(subscription_id)
    assert sub is not None
    return sub.next_due_at


async def test_a_due_subscription_gets_one_merged_post_of_everything_since_its_last(
    store: Store, clock: ManualClock
) -> None:
    await publish(store, "old")  # published before the subscription: not part of its first post
    sub = await scheduled(store)
    await publish(store, "d1")
    await publish(store, "d2")
    spy = SpyRenderer(parts=2)
    woken: list[bool] = []
    scheduler = Scheduler(
        store, VOCABULARY, renderers={"telegram": spy}, clock=clock, on_enqueued=lambda: woken.append(True)
    )
    assert await scheduler.run_due() == 0  # 07:00, not due yet
    await clock.advance(3600)
    assert await scheduler.run_due() == 2
    [(merged, options)] = spy.calls
    assert merged.id == "d1..d2" and str(options.timezone) == "America/New_York"
    # keyed by the cursor it starts from: the digests after "old" (seq 1)
    assert [(r[1], r[2], r[3]) for r in _rows(store)] == [("s>1", p, 3) for p in (1, 2)]
    assert woken == [True]
    assert await _next_due(store, sub) == datetime(2025, 3, 9, 12, 0, tzinfo=UTC)  # 08:00 EDT
    assert await scheduler.run_due() == 0  # the same slot never fires twice


async def test_next_due_crosses_dst_in_both_directions(store: Store, clock: ManualClock) -> None:
    sub = await scheduled(store)
    scheduler = Scheduler(store, VOCABULARY, renderers={"telegram": SpyRenderer(1)}, clock=clock)
    assert await _next_due(store, sub) == datetime(2025, 3, 8, 13, 0, tzinfo=UTC)  # 08:00 EST
    await clock.advance(3600)
    await scheduler.run_due()
    assert await _next_due(store, sub) == datetime(2025, 3, 9, 12, 0, tzinfo=UTC)  # 08:00 EDT, 23 h later
    await clock.advance(23 * 3600)
    await scheduler.run_due()
    assert await _next_due(store, sub) == datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
    clock.offset = (datetime(2025, 11, 1, 12, 0, tzinfo=UTC) - BEFORE_DST).total_seconds()  # 08:00 EDT
    await scheduler.run_due()
    assert await _next_due(store, sub) == datetime(2025, 11, 2, 13, 0, tzinfo=UTC)  # 08:00 EST, 25 h later


async def test_each_post_only_covers_new_digests(store: Store, clock: ManualClock) -> None:
    await scheduled(store)
    spy = SpyRenderer(parts=1)
    scheduler = Scheduler(store, VOCABULARY, renderers={"telegram": spy}, clock=clock)
    await publish(store, "d1")
    await clock.advance(3600)
    await scheduler.run_due()
    await clock.advance(23 * 3600)
    assert await scheduler.run_due() == 0  # nothing new: nothing sent, but the slot moves on
    await publish(store, "d2")
    await store.record_incoming(incoming(make_digest("d2", extra="（改）"), key="d2", content_hash="d2b"))
    await store.record_incoming(incoming(DigestError("bad.md", "no title"), key="bad.md", content_hash="x"))
    await clock.advance(24 * 3600)
    assert await scheduler.run_due() == 1
    assert [digest.id for digest, _ in spy.calls] == ["d1", "d2"]


async def test_filters_apply_to_the_merged_digest(store: Store, clock: ManualClock) -> None:
    sub = await scheduled(store)
    await store.update_subscription(sub, filter=Filter(frozenset({"policy"})))
    await publish(store, "d1")
    await clock.advance(3600)
    spy = SpyRenderer(parts=1)
    await Scheduler(store, VOCABULARY, renderers={"telegram": spy}, clock=clock).run_due()
    [(selected, _)] = spy.calls
    assert {item.categories for item in selected.items} == {("policy",)}


async def test_a_crash_before_commit_loses_nothing_and_a_restart_repeats_nothing(
    store: Store, clock: ManualClock
) -> None:
    sub = await scheduled(store)
    await publish(store, "d1")
    await clock.advance(3600)
    with pytest.raises(Crash):
        await Scheduler(
            store, VOCABULARY, renderers={"telegram": SpyRenderer(1, crash_after=0)}, clock=clock
        ).run_due()
    assert _rows(store) == []
    assert await _next_due(store, sub) == datetime(2025, 3, 8, 13, 0, tzinfo=UTC)
    await clock.advance(600)  # the restart comes a little late: the post still goes out, once
    assert (
        await Scheduler(store, VOCABULARY, renderers={"telegram": SpyRenderer(1)}, clock=clock).run_due() == 1
    )
    assert (
        await Scheduler(store, VOCABULARY, renderers={"telegram": SpyRenderer(1)}, clock=clock).run_due() == 0
    )
    assert len(_rows(store)) == 1


async def test_a_long_outage_fires_once_and_catches_up_to_the_future(
    store: Store, clock: ManualClock
) -> None:
    sub = await scheduled(store, schedule="at 08:00,20:00")
    await publish(store, "d1")
    await clock.advance(5 * 24 * 3600)
    assert (
        await Scheduler(store, VOCABULARY, renderers={"telegram": SpyRenderer(1)}, clock=clock).run_due() == 1
    )
    due = await _next_due(store, sub)
    assert due is not None and clock.now() < due <= clock.now() + timedelta(hours=12)


async def test_paused_subscriptions_do_not_fire_and_resume_without_a_backlog(
    store: Store, clock: ManualClock
) -> None:
    sub = await scheduled(store)
    await store.pause(sub, "by owner")
    await publish(store, "d1")
    await clock.advance(3600)
    scheduler = Scheduler(store, VOCABULARY, renderers={"telegram": SpyRenderer(1)}, clock=clock)
    assert await scheduler.run_due() == 0
    await store.resume(sub)
    await clock.advance(24 * 3600)
    assert await scheduler.run_due() == 0


async def test_run_loop_sleeps_until_due_and_wakes_on_change(store: Store, clock: ManualClock) -> None:
    sub = await scheduled(store, schedule="at 09:00")
    await publish(store, "d1")
    woken = asyncio.Event()
    scheduler = Scheduler(
        store, VOCABULARY, renderers={"telegram": SpyRenderer(1)}, clock=clock, on_enqueued=woken.set
    )
    loop = asyncio.create_task(scheduler.run())
    await asyncio.sleep(0.05)
    await store.update_subscription(sub, schedule="at 07:30")  # due in 30 minutes instead of 2 hours
    scheduler.wake()
    await asyncio.sleep(0.05)
    await clock.advance(1800)
    await asyncio.wait_for(woken.wait(), 2)
    assert len(_rows(store)) == 1
    scheduler.stop()
    await asyncio.wait_for(loop, 2)


def test_scheduler_rejects_a_useless_digest_limit(store: Store) -> None:
    with pytest.raises(ValueError, match="max_digests"):
        Scheduler(store, VOCABULARY, max_digests=0, renderers=default_renderers())


async def test_only_the_newest_digests_make_the_post_after_a_long_silence(
    store: Store, clock: ManualClock
) -> None:
    await scheduled(store)
    for n in range(5):
        await publish(store, f"d{n}")
    spy = SpyRenderer(parts=1)
    await clock.advance(3600)
    await Scheduler(store, VOCABULARY, renderers={"telegram": spy}, clock=clock, max_digests=2).run_due()
    [(merged, _)] = spy.calls
    assert merged.id == "d3..d4"


async def test_chats_due_together_share_one_merge_and_one_render(store: Store, clock: ManualClock) -> None:
    for chat in range(20):
        await scheduled(store, chat=str(chat))
    await publish(store, "d1")
    await publish(store, "d2")
    spy = SpyRenderer(parts=1)
    await clock.advance(3600)
    assert await Scheduler(store, VOCABULARY, renderers={"telegram": spy}, clock=clock).run_due() == 20
    assert len(spy.calls) == 1


async def test_equal_item_numbers_from_different_digests_are_not_confused(
    store: Store, clock: ManualClock
) -> None:
    first = await scheduled(store, chat="1", filter=Filter(frozenset({"tech"}), include=("甲",)))
    second = await scheduled(store, chat="2", filter=Filter(frozenset({"tech"}), include=("乙",)))
    for digest_id, mark in (("d1", "甲"), ("d2", "乙")):
        digest = make_digest(digest_id, extra=mark)
        await store.record_incoming(incoming(digest, key=digest_id, content_hash=digest_id))
    spy = SpyRenderer(parts=1)
    await clock.advance(3600)
    await Scheduler(store, VOCABULARY, renderers={"telegram": spy}, clock=clock).run_due()
    titles = sorted(item.title for selected, _ in spy.calls for item in selected.items)
    assert titles == ["第1条：测试新闻 乙", "第1条：测试新闻 甲"]
    assert {r[0] for r in _rows(store)} == {first, second}


async def test_a_clock_stepping_back_never_reuses_a_post_key(store: Store, clock: ManualClock) -> None:
    """After the 08:00 post the clock steps back an hour and the chat edits its schedule: 08:00 is
    due again. That second post carries new digests and must not be mistaken for the first."""
    sub = await scheduled(store)
    scheduler = Scheduler(store, VOCABULARY, renderers={"telegram": SpyRenderer(1)}, clock=clock)
    await publish(store, "d1")
    await clock.advance(3600)
    assert await scheduler.run_due() == 1
    clock.offset -= 3600  # 07:00 again
    await store.update_subscription(sub, schedule="at 08:00,12:00")
    assert await _next_due(store, sub) == datetime(2025, 3, 8, 13, 0, tzinfo=UTC)  # the same instant
    await publish(store, "d2")
    await clock.advance(3600)
    assert await scheduler.run_due() == 1
    rows = _rows(store)
    assert [r[3] for r in rows] == [1, 2] and len({r[1] for r in rows}) == 2


async def test_after_the_clock_steps_back_no_slot_fires_twice_or_is_skipped(
    store: Store, clock: ManualClock
) -> None:
    sub = await scheduled(store, schedule="at 08:00,08:30")
    scheduler = Scheduler(store, VOCABULARY, renderers={"telegram": SpyRenderer(1)}, clock=clock)
    await publish(store, "d1")
    await clock.advance(3600)  # 08:00
    assert await scheduler.run_due() == 1
    clock.offset -= 3600  # 07:00 again: 08:00 has fired and must not fire a second time
    await publish(store, "d2")
    await clock.advance(3599)
    assert await scheduler.run_due() == 0
    await clock.advance(1)  # 08:00 on the stepped-back clock
    assert await scheduler.run_due() == 0
    await clock.advance(30 * 60)  # 08:30 still fires, once
    assert await scheduler.run_due() == 1
    assert await scheduler.run_due() == 0
    assert await _next_due(store, sub) == datetime(2025, 3, 9, 12, 0, tzinfo=UTC)  # 08:00 EDT tomorrow
