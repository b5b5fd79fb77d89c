"""Planning renders and returns; the expander writes the rows as the engine drains them (issue 11)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import pytest
from clocks import ManualClock
from db_reads import values
from ledger_helpers import CONFIG, FakeSender, SpyRenderer, expand_one_batch_then_crash
from sample_digests import VOCABULARY, incoming, make_digest
from waiting import wait_for

from bot.core.model import Filter
from bot.delivery.engine import DeliveryEngine
from bot.delivery.expander import Expander, fan_out, stock_for
from bot.delivery.planner import Planner
from bot.delivery.ratelimit import RateLimiter
from bot.store.db import Store

pytestmark = pytest.mark.both_backends


async def _sub(store: Store, chat: str, **settings: Any) -> int:
    sub, _ = await store.subscribe(
        "telegram", chat, None, kind="private", title=chat, created_by="u", language="zh", timezone="UTC"
    )
    if settings:
        await store.update_subscription(sub.id, **settings)
    return sub.id


def _rows(store: Store) -> list[tuple[Any, ...]]:
    """(subscription, part, state, due_at, created_at) of every committed row, in ledger order."""
    return values(
        store, "SELECT subscription_id, part, state, due_at, created_at FROM deliveries ORDER BY id"
    )


@asynccontextmanager
async def _running(expander: Expander) -> AsyncIterator[None]:
    task = asyncio.create_task(expander.run())
    try:
        yield
    finally:
        expander.stop()
        await asyncio.wait_for(task, 5)


async def test_planning_renders_each_reading_once_and_returns_before_any_row_exists(
    store: Store, clock: ManualClock
) -> None:
    await store.record_incoming(incoming(make_digest()))
    for chat in range(12):
        await _sub(
            store, str(chat), language=["zh", "en", "zh"][chat % 3], timezone=["UTC", "Asia/Tokyo"][chat % 2]
        )
    await _sub(store, "at", schedule="at 08:00")  # the scheduler's: not a reading of the fan-out
    spy = SpyRenderer(parts=2)
    assert await Planner(store, VOCABULARY, renderers={"telegram": spy}, clock=clock).plan_pending() == 1
    assert len(spy.calls) == 4  # (zh, en) x (UTC, Tokyo)
    assert _rows(store) == []
    assert values(store, "SELECT count(DISTINCT reading_id) FROM fanout_variants") == [(4,)]
    assert values(store, "SELECT plan_state, plan_cursor FROM digests") == [("pending", 0)]
    assert await Planner(store, VOCABULARY, renderers={"telegram": spy}).plan_pending() == 0  # planned once

    await clock.advance(90)  # rows are due, and created, at the fan-out instant, not when written
    assert await Expander(store, VOCABULARY, renderers={"telegram": spy}, clock=clock).expand_all() == 24
    assert len(spy.calls) == 4
    planned_at = values(store, "SELECT planned_at FROM digests")[0][0]
    assert {(due, created) for *_, due, created in _rows(store)} == {(planned_at, planned_at)}
    assert values(store, "SELECT plan_state FROM digests") == [("done",)]


async def test_changes_between_two_batches_are_what_the_later_rows_follow(store: Store) -> None:
    """A filter changed mid-expansion gets its new reading; a subscription added meanwhile gets the
    digest, one unsubscribed meanwhile does not; a crash between batches duplicates nothing."""
    await store.record_incoming(incoming(make_digest(items=4)))  # item 2 is the policy one
    first = await _sub(store, "1")
    changed = await _sub(store, "2", filter=Filter(categories=frozenset({"tech"})))
    leaving = await _sub(store, "3")
    renderers = {"telegram": SpyRenderer(parts=1)}
    await Planner(store, VOCABULARY, renderers=renderers).plan_pending()
    await expand_one_batch_then_crash(store, renderers)
    assert [row[0] for row in _rows(store)] == [first]
    await store.update_subscription(changed, filter=Filter(categories=frozenset({"policy"})))
    await store.unsubscribe(leaving)
    added = await _sub(store, "4")
    again = SpyRenderer(parts=1)
    assert await Expander(store, VOCABULARY, renderers={"telegram": again}).expand_all() == 2
    assert len(again.calls) == 1  # only the new reading
    texts = dict(
        values(
            store,
            "SELECT d.subscription_id, p.body FROM deliveries d JOIN payloads p ON p.id = d.payload_id",
        )
    )
    assert sorted(row[0] for row in _rows(store)) == [first, changed, added]  # one row each
    assert set(texts) == {first, changed, added}
    assert "[2] part 1" in texts[changed]
    assert await fan_out(store, VOCABULARY, renderers=renderers) == 0


async def test_expansion_stops_at_the_bound_and_resumes_as_the_engine_claims(
    store: Store, clock: ManualClock
) -> None:
    subs = [await _sub(store, str(chat)) for chat in range(10)]
    await store.record_incoming(incoming(make_digest()))
    renderers = {"telegram": SpyRenderer(parts=1)}
    await Planner(store, VOCABULARY, renderers=renderers, clock=clock).plan_pending()
    sender = FakeSender()
    # The app's wiring: the engine's claims wake the expander, its batches wake the engine.
    engine = DeliveryEngine(
        store,
        {"telegram": sender},
        RateLimiter({}, clock),
        CONFIG,
        clock=clock,
        on_claimed=lambda rows: expander.claimed(rows),
    )
    expander = Expander(
        store, VOCABULARY, renderers=renderers, clock=clock, batch_size=2, stock=3, on_enqueued=engine.wake
    )
    async with _running(expander):
        await wait_for(lambda: len(_rows(store)) == 4, 5, "two batches")
        await asyncio.sleep(0.2)
        assert len(_rows(store)) == 4  # 4 due rows >= 3: no third batch (the timer never fires here)

        # Rows in retry back-off are not due now: they never hold the expansion back.
        for row in await store.claim_due(clock.now(), 2, ["telegram"]):
            assert await store.mark_sending(row.id, clock.now())
            await store.retry_delivery(row.id, clock.now() + timedelta(hours=1), "flood", clock.now())
        expander.claimed(2)
        await wait_for(lambda: len(_rows(store)) == 6, 5, "a third batch after two claims")
        assert len(_rows(store)) == 6

        engine_task = asyncio.create_task(engine.run())
        try:
            await wait_for(lambda: len(sender.calls) == 8, 10, "every subscription not in back-off")
        finally:
            await engine.stop(1)
            await engine_task
    assert sorted(row[0] for row in _rows(store)) == subs
    assert values(store, "SELECT plan_state FROM digests") == [("done",)]


async def test_two_expanders_on_one_database_write_each_row_once(store: Store, store_target: str) -> None:
    await store.record_incoming(incoming(make_digest()))
    subs = [await _sub(store, str(chat), language=["zh", "en"][chat % 2]) for chat in range(25)]
    renderers = {"telegram": SpyRenderer(parts=2)}
    async with await Store.open(store_target) as other:
        planned = await asyncio.gather(
            Planner(store, VOCABULARY, renderers=renderers).plan_digest(1),
            Planner(other, VOCABULARY, renderers=renderers).plan_digest(1),
        )
        assert sorted(planned, key=str) == [2, None]
        added = await asyncio.gather(
            Expander(store, VOCABULARY, renderers=renderers, batch_size=3).expand_all(),
            Expander(other, VOCABULARY, renderers=renderers, batch_size=3).expand_all(),
        )
    assert sum(added) == 50
    assert sorted((row[0], row[1]) for row in _rows(store)) == sorted((s, p) for s in subs for p in (1, 2))


async def test_progress_counts_the_subscriptions_not_expanded_yet(store: Store, clock: ManualClock) -> None:
    await store.record_incoming(incoming(make_digest()))
    for chat in range(5):
        await _sub(store, str(chat))
    renderers = {"telegram": SpyRenderer(parts=1)}
    await Planner(store, VOCABULARY, renderers=renderers, clock=clock).plan_pending()
    assert await store.fanout_progress(1) == (5, 0, 5)
    await expand_one_batch_then_crash(store, renderers)
    assert await store.fanout_progress(1) == (5, 0, 5)  # one row, four chats still to come
    stats = await store.stats(clock.now())
    assert stats["last_digest"]["deliveries"] == {"pending": 1, "unexpanded": 4}
    assert stats["last_digest"]["fanout_seconds"] is None
    progress = await store.broadcast_progress(clock.now())
    assert progress is not None and (progress.unexpanded, progress.total, progress.open) == (4, 5, 5)

    [row] = await store.claim_due(clock.now(), 10, ["telegram"])
    assert await store.mark_sending(row.id, clock.now())
    await store.mark_sent(row.id, "m1", clock.now())
    assert await store.fanout_progress(1) == (5, 1, 4)
    assert (await store.stats(clock.now()))["last_digest"]["fanout_seconds"] is None  # not over yet
    await Expander(store, VOCABULARY, renderers=renderers).expand_all()
    assert await store.fanout_progress(1) == (5, 1, 4)
    assert "unexpanded" not in (await store.stats(clock.now()))["last_digest"]["deliveries"]


def test_the_stock_is_a_minute_of_sends_and_never_under_two_batches() -> None:
    assert stock_for(None, 10_000) == 20_000
    assert stock_for(30.0, 10_000) == 20_000
    assert stock_for(1_000.0, 10_000) == 60_000


async def test_retention_keeps_the_variants_of_a_digest_being_expanded(
    store: Store, clock: ManualClock
) -> None:
    await store.record_incoming(incoming(make_digest()))
    await _sub(store, "1")
    spy = SpyRenderer(parts=2)
    await Planner(store, VOCABULARY, renderers={"telegram": spy}, clock=clock).plan_pending()
    async with store.transaction() as tx:
        assert (await tx.retention.drop_payload_bodies(clock.now() + timedelta(days=9), 0, 100)).pruned == 0
        assert (await tx.retention.prune_orphan_payloads(0, 100)).pruned == 0
    assert await Expander(store, VOCABULARY, renderers={"telegram": spy}).expand_all() == 2
    assert len(spy.calls) == 1  # nothing had to be rendered again


async def test_the_cursor_never_moves_back(store: Store, clock: ManualClock) -> None:
    """A slower writer committing an older batch's cursor cannot undo a faster one's progress."""
    await store.record_incoming(incoming(make_digest()))
    async with store.transaction() as tx:
        await tx.digests.advance_plan(1, 5, done=False, now=clock.now())
        await tx.digests.advance_plan(1, 3, done=False, now=clock.now())
    assert values(store, "SELECT plan_cursor FROM digests WHERE seq = 1") == [(5,)]


async def test_digests_are_expanded_oldest_first(store: Store) -> None:
    await store.record_incoming(incoming(make_digest()))
    for chat in range(3):
        await _sub(store, str(chat))
    renderers = {"telegram": SpyRenderer(parts=1)}
    await Planner(store, VOCABULARY, renderers=renderers).plan_pending()
    await expand_one_batch_then_crash(store, renderers)
    await store.record_incoming(incoming(make_digest(digest_id="2025.06.01.12"), key="/d/b.md"))
    assert await fan_out(store, VOCABULARY, renderers=renderers) == 5
    units = [unit for (unit,) in values(store, "SELECT unit FROM deliveries ORDER BY id")]
    assert units == ["d1"] * 3 + ["d2"] * 3
