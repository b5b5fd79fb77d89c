"""Weekly roundups through the scheduler on a real database file: once a week, once across restarts."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from clocks import ManualClock
from ledger_helpers import Crash, SpyRenderer, publish, subscribe
from sample_digests import VOCABULARY

from bot.core.model import Filter
from bot.delivery.scheduler import Scheduler
from bot.platforms.registry import default_renderers
from bot.store.db import Store

# Monday 2026-03-23, 08:00 in Berlin (CET, UTC+1); Berlin moves to CEST on Sunday 2026-03-29.
MONDAY_8 = datetime(2026, 3, 23, 7, 0, tzinfo=UTC)
HOUR = 3600.0


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(MONDAY_8)


async def weekly(store: Store, chat: str = "1", **settings: Any) -> int:
    """A Telegram chat with a weekly roundup on Mondays at 09:00 Berlin time."""
    sub = await subscribe(store, chat, **settings)
    await store.update_subscription(sub.id, schedule="weekly Mon 09:00", timezone="Europe/Berlin")
    return sub.id


def rows(path: Path) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(path)) as raw:
        return raw.execute("SELECT subscription_id, unit, part, parts, digest_seq FROM deliveries").fetchall()


async def next_due(store: Store, subscription_id: int) -> datetime | None:
    sub = await store.get_subscription_by_id(subscription_id)
    assert sub is not None
    return sub.next_due_at


def spy_scheduler(store: Store, clock: ManualClock, spy: SpyRenderer, **options: Any) -> Scheduler:
    return Scheduler(store, VOCABULARY, renderers={"telegram": spy}, clock=clock, **options)


async def test_one_roundup_a_week_at_nine_local_across_the_spring_change(
    store: Store, clock: ManualClock
) -> None:
    sub = await weekly(store)
    assert await next_due(store, sub) == datetime(2026, 3, 23, 8, 0, tzinfo=UTC)  # 09:00 CET
    await publish(store, "d1")
    await publish(store, "d2")
    spy = SpyRenderer(parts=1)
    scheduler = spy_scheduler(store, clock, spy)
    assert await scheduler.run_due() == 0
    await clock.advance(HOUR)
    # make_digest's items are tech, policy, jobs: one section each, one part each
    assert await scheduler.run_due() == 3
    assert [(s.id, [i.title for i in s.items]) for s, _ in spy.calls] == [
        ("d1..d2#tech", ["第1条：测试新闻 "] * 2),
        ("d1..d2#policy", ["第2条：测试新闻 "] * 2),
        ("d1..d2#jobs", ["第3条：测试新闻 "] * 2),
    ]
    assert {options.selected for _, options in spy.calls} == {
        frozenset({"tech"}),
        frozenset({"policy"}),
        frozenset({"jobs"}),
    }
    # keyed by the cursor the roundup starts from (0: nothing before the subscription), 3 parts
    assert rows(store.path) == [(sub, "w>0", part, 3, 2) for part in (1, 2, 3)]
    assert await scheduler.run_due() == 0  # the same week never fires twice
    assert await next_due(store, sub) == datetime(2026, 3, 30, 7, 0, tzinfo=UTC)  # 09:00 CEST
    await clock.advance(7 * 24 * HOUR)  # Monday 30th, 08:00 UTC: 10:00 CEST, due since 07:00 UTC
    assert await scheduler.run_due() == 0  # nothing new this week: nothing sent
    assert await next_due(store, sub) == datetime(2026, 4, 6, 7, 0, tzinfo=UTC)
    assert len(rows(store.path)) == 3


async def test_a_crash_before_the_commit_and_a_restart_fire_the_roundup_exactly_once(
    tmp_path: Path, store: Store, clock: ManualClock
) -> None:
    sub = await weekly(store)
    await publish(store, "d1")
    await clock.advance(HOUR)
    with pytest.raises(Crash):
        await spy_scheduler(store, clock, SpyRenderer(1, crash_after=0)).run_due()
    assert rows(store.path) == []
    await store.close()  # the process died; a new one opens the same file
    async with await Store.open(store.path, clock=clock) as reopened:
        await clock.advance(600)
        scheduler = Scheduler(reopened, VOCABULARY, renderers=default_renderers(), clock=clock)
        assert await scheduler.run_due() == 3
    async with await Store.open(store.path, clock=clock) as again:  # and another restart
        assert await Scheduler(again, VOCABULARY, renderers=default_renderers(), clock=clock).run_due() == 0
        assert await next_due(again, sub) == datetime(2026, 3, 30, 7, 0, tzinfo=UTC)
    assert [row[1] for row in rows(store.path)] == ["w>0"] * 3


async def test_only_the_last_seven_days_are_rounded_up_after_an_outage(
    store: Store, clock: ManualClock
) -> None:
    sub = await weekly(store)
    await publish(store, "old")
    await clock.advance(8 * 24 * HOUR)  # the bot was down over its Monday: "old" is 8 days old now
    await publish(store, "new")
    spy = SpyRenderer(parts=1)
    assert await spy_scheduler(store, clock, spy).run_due() == 3
    assert {s.id.split("#")[0] for s, _ in spy.calls} == {"new"}
    assert await next_due(store, sub) == datetime(2026, 4, 6, 7, 0, tzinfo=UTC)  # the future, once
    await clock.advance(7 * 24 * HOUR)
    assert await spy_scheduler(store, clock, spy).run_due() == 0  # "old" is behind the cursor for good


async def test_top_per_category_and_the_chats_filter_shape_the_roundup(
    store: Store, clock: ManualClock
) -> None:
    sub = await weekly(store)
    await store.update_subscription(sub, filter=Filter(categories=frozenset({"tech", "jobs"})))
    for digest_id in ("d1", "d2", "d3"):
        await publish(store, digest_id)
    await clock.advance(HOUR)
    spy = SpyRenderer(parts=1)
    assert await spy_scheduler(store, clock, spy, top_per_category=2).run_due() == 2
    assert [(s.id.split("#")[1], len(s.items)) for s, _ in spy.calls] == [("tech", 2), ("jobs", 2)]
    # the newest digest's items rank first among stories seen once
    assert spy.calls[0][0].items[0].url == "https://news.example/d3/1"


async def test_switching_between_daily_and_weekly_keeps_the_cursor(store: Store, clock: ManualClock) -> None:
    sub = await weekly(store)
    await publish(store, "d1")
    await store.update_subscription(sub, schedule="at 08:30", timezone="Europe/Berlin")
    assert await next_due(store, sub) == datetime(2026, 3, 23, 7, 30, tzinfo=UTC)
    await store.update_subscription(sub, schedule="weekly Mon 10:00")
    assert await next_due(store, sub) == datetime(2026, 3, 23, 9, 0, tzinfo=UTC)
    await clock.advance(2 * HOUR + 1)
    assert await spy_scheduler(store, clock, SpyRenderer(1)).run_due() == 3  # d1 was not lost
    assert {row[1] for row in rows(store.path)} == {"w>0"}
    assert await next_due(store, sub) == datetime(2026, 3, 30, 8, 0, tzinfo=UTC)  # 10:00 CEST
