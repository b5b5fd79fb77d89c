"""Races and failure modes between fan-out, the scheduler and the engine: nothing lost, nothing twice.

Schedules switching while a digest is being fanned out, edited digests in scheduled posts, senders
that hang or break after the ledger said `sending`, platform answers that make no sense, a cancelled
transaction, and the query plans of the hot statements.
"""

from __future__ import annotations

import asyncio
import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from clocks import ManualClock
from ledger_helpers import (
    CONFIG,
    FakeSender,
    SpyRenderer,
    engine_for,
    expand_one_batch_then_crash,
    ledger,
    plan,
    subscribe,
)
from sample_digests import VOCABULARY, incoming, make_digest
from waiting import wait_for

from bot.core.clock import SystemClock
from bot.core.model import Filter
from bot.delivery.engine import DeliveryEngine
from bot.delivery.expander import fan_out
from bot.delivery.outcome import Migrated, RetryAfter, Transient
from bot.delivery.planner import Planner
from bot.delivery.ratelimit import RateLimiter
from bot.delivery.scheduler import FAILED_RETRY, Scheduler
from bot.store.broadcasts import BroadcastRow
from bot.store.db import Store

START = datetime(2025, 6, 1, 6, 0, tzinfo=UTC)  # two hours before the 08:00 UTC slot used below


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


async def _sub(store: Store, chat: str, schedule: str | None = None, language: str = "en") -> int:
    settings = {} if schedule is None else {"schedule": schedule}
    return (await subscribe(store, chat, language=language, **settings)).id


async def _record(store: Store, digest_id: str, *, extra: str = "") -> int:
    result = await store.record_incoming(
        incoming(make_digest(digest_id, extra=extra), key=digest_id, content_hash=digest_id + extra)
    )
    assert result.seq is not None
    return result.seq


async def _fan_out(store: Store, clock: ManualClock) -> int:
    """Plan the pending digests and write all their rows, as the app's planner and expander do."""
    return await fan_out(store, VOCABULARY, renderers={"telegram": SpyRenderer(1)}, clock=clock)


def _scheduler(store: Store, clock: ManualClock, spy: SpyRenderer | None = None) -> Scheduler:
    return Scheduler(store, VOCABULARY, renderers={"telegram": spy or SpyRenderer(1)}, clock=clock)


def _texts(store: Store, subscription_id: int) -> list[str]:
    """What the subscription gets, in ledger order: one payload text per row (SpyRenderer names the
    digest, or the merge `first..last`, and its item numbers)."""
    with closing(sqlite3.connect(store.path)) as raw:
        rows = raw.execute(
            "SELECT p.body FROM deliveries d JOIN payloads p ON p.id = d.payload_id"
            " WHERE d.subscription_id = ? ORDER BY d.id",
            (subscription_id,),
        ).fetchall()
    return [row[0].split('"text":"')[1].split(" [")[0] for row in rows]


# --- schedule switches ----------------------------------------------------------------------------


async def test_switching_from_at_to_instant_sends_the_backlog_once_then_fans_out(
    store: Store, clock: ManualClock
) -> None:
    sub = await _sub(store, "1", "at 08:00")
    scheduler = _scheduler(store, clock)
    await _record(store, "d1")
    await _fan_out(store, clock)  # an `at` chat: nothing planned for it
    switched = await store.update_subscription(sub, schedule="instant")
    assert switched.next_due_at == clock.now()  # a catch-up post is due at once
    moved = await store.update_subscription(sub, timezone="Asia/Shanghai")
    assert moved.next_due_at == clock.now()  # and stays due when only the time zone changes
    await _record(store, "d2")
    await _fan_out(store, clock)  # already instant: d2 comes by fan-out
    await _record(store, "d3")  # not fanned out yet when the catch-up fires
    await scheduler.run_due()
    await _fan_out(store, clock)
    assert _texts(store, sub) == ["d2", "d1", "d3"]
    again = await store.get_subscription_by_id(sub)
    assert again is not None and again.next_due_at is None
    await clock.advance(86_400)
    assert await scheduler.run_due() == 0


async def test_switching_to_instant_and_back_before_the_catch_up_keeps_the_backlog(
    store: Store, clock: ManualClock
) -> None:
    sub = await _sub(store, "1", "at 08:00")
    await _record(store, "d1")
    await _fan_out(store, clock)
    await store.update_subscription(sub, schedule="instant")
    await _record(store, "d2")
    await _fan_out(store, clock)  # instant for a moment: d2 comes by fan-out
    await store.update_subscription(sub, schedule="at 08:00")  # the catch-up never fired
    await clock.advance(2 * 3600)
    await _scheduler(store, clock).run_due()
    assert _texts(store, sub) == ["d2", "d1"]


async def test_switching_to_instant_without_a_backlog_schedules_nothing(store: Store) -> None:
    sub = await _sub(store, "1", "at 08:00")
    switched = await store.update_subscription(sub, schedule="instant")
    assert switched.next_due_at is None


async def test_switching_to_at_during_a_fan_out_moves_the_digest_into_the_first_post(
    store: Store, clock: ManualClock
) -> None:
    first, second = await _sub(store, "1"), await _sub(store, "2", language="zh")
    seq = await _record(store, "d1")
    renderers = {"telegram": SpyRenderer(1)}
    assert await Planner(store, VOCABULARY, renderers=renderers, clock=clock).plan_digest(seq) == 2
    await expand_one_batch_then_crash(store, renderers)  # the first subscription's rows are written
    await store.update_subscription(second, schedule="at 08:00")  # not reached by the fan-out yet
    await store.update_subscription(first, schedule="at 08:00")  # already planned for it
    await _fan_out(store, clock)
    await clock.advance(2 * 3600)
    await _scheduler(store, clock).run_due()
    assert _texts(store, first) == ["d1"]
    assert _texts(store, second) == ["d1"]


async def test_a_post_carrying_a_digest_still_in_fan_out_is_not_repeated_after_a_switch_to_instant(
    store: Store, clock: ManualClock
) -> None:
    sub = await _sub(store, "1", "at 08:00")
    await _record(store, "d1")  # stored, its fan-out not run yet
    await clock.advance(2 * 3600)
    await _scheduler(store, clock).run_due()
    await store.update_subscription(sub, schedule="instant")
    await _fan_out(store, clock)
    assert _texts(store, sub) == ["d1"]


async def test_a_subscription_created_during_a_fan_out_still_gets_that_digest(
    store: Store, clock: ManualClock
) -> None:
    await _record(store, "d1")
    sub = await _sub(store, "1")
    await _fan_out(store, clock)
    assert _texts(store, sub) == ["d1"]


def _broadcast(schedule: str) -> BroadcastRow:
    """The config's broadcast to private chat 42, as config loading hands it to the store."""
    return BroadcastRow("telegram", "42", None, "private", Filter(), schedule, "UTC", "zh")


async def test_a_config_broadcast_switched_to_at_does_not_repeat_what_it_got_instantly(
    store: Store, clock: ManualClock
) -> None:
    [sub] = await store.sync_broadcasts([_broadcast("instant")])
    await _record(store, "d1")
    await _fan_out(store, clock)
    await store.sync_broadcasts([_broadcast("at 08:00")])
    await _record(store, "d2")
    await _fan_out(store, clock)
    await clock.advance(2 * 3600)
    await _scheduler(store, clock).run_due()
    assert _texts(store, sub.id) == ["d1", "d2"]


async def test_a_broadcast_removed_from_the_config_drops_its_unsent_messages(
    store: Store, clock: ManualClock
) -> None:
    await store.sync_broadcasts([_broadcast("instant")])
    await _record(store, "d1")
    await _fan_out(store, clock)  # queued, then the bot restarts with a new config
    await store.sync_broadcasts([])
    [row] = ledger(store).values()
    assert row["state"] == "skipped" and row["last_error"] == "unsubscribed: removed from config"
    assert await store.claim_due(clock.now() + timedelta(days=1), 10, ["telegram"]) == []


async def test_a_scheduled_post_carries_the_latest_version_of_an_edited_digest(
    store: Store, clock: ManualClock
) -> None:
    sub = await _sub(store, "1", "at 08:00")
    await _record(store, "d1")
    await _record(store, "d1", extra="（更正）")  # changed before the post: recorded, not fanned out
    spy = SpyRenderer(1)
    await clock.advance(2 * 3600)
    await _scheduler(store, clock, spy).run_due()
    assert _texts(store, sub) == ["d1"]
    [(digest, _)] = spy.calls
    assert digest == make_digest("d1", extra="（更正）")


async def test_one_subscription_whose_post_cannot_be_built_does_not_hold_up_the_others(
    store: Store, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    broken, fine = await _sub(store, "1", "at 08:00"), await _sub(store, "2", "at 08:00")
    await _record(store, "d1")
    with closing(sqlite3.connect(store.path)) as raw, raw:
        raw.execute("UPDATE subscriptions SET timezone = 'Mars/Olympus_Mons' WHERE id = ?", (broken,))
    await clock.advance(2 * 3600)
    assert await _scheduler(store, clock).run_due() == 1
    assert _texts(store, fine) == ["d1"] and _texts(store, broken) == []
    assert "subscription 1 failed" in caplog.text
    postponed = await store.get_subscription_by_id(broken)
    assert postponed is not None and postponed.next_due_at == clock.now() + FAILED_RETRY


async def test_scheduler_stops_between_subscriptions_and_leaves_the_rest_due(
    store: Store, clock: ManualClock
) -> None:
    subs = [await _sub(store, str(n), "at 08:00") for n in range(3)]
    await _record(store, "d1")
    await clock.advance(2 * 3600)
    scheduler = _scheduler(store, clock)
    scheduler.stop()
    assert await scheduler.run_due() == 0
    for sub in subs:
        still = await store.get_subscription_by_id(sub)
        assert still is not None and still.next_due_at == clock.now()


# --- the engine ---------------------------------------------------------------------------------


async def test_a_row_retried_after_its_chat_unsubscribed_mid_send_is_skipped(
    store: Store, clock: ManualClock
) -> None:
    ids = await plan(store, ["1"], parts=1)
    sender = FakeSender(script={"1": [Transient("timed out")]})
    sender.gate["1"] = gate = asyncio.Event()
    running = asyncio.create_task(engine_for(store, sender, clock).drain(horizon=0))
    await wait_for(lambda: bool(sender.calls), 5, "the first send")
    await store.unsubscribe(ids["1"])
    gate.set()
    await running
    assert ledger(store)["1", 1]["state"] == "skipped"


async def test_a_hung_sender_is_abandoned_as_interrupted_and_the_next_part_goes(
    store: Store, clock: ManualClock
) -> None:
    await plan(store, ["1"], parts=2)

    class HangsOnce(FakeSender):
        async def send(self, target: Any, payload: Any) -> Any:
            if not self.calls:
                self.calls.append((target, payload))
                await asyncio.Event().wait()
            return await super().send(target, payload)

    sender = HangsOnce()
    engine = DeliveryEngine(
        store, {"telegram": sender}, RateLimiter({}, clock), CONFIG, clock=clock, send_timeout=0.05
    )
    await engine.drain(horizon=0)
    rows = ledger(store)
    assert rows["1", 1]["state"] == "interrupted" and rows["1", 2]["state"] == "sent"
    assert len(sender.calls) == 2


async def test_send_timeout_must_be_positive(store: Store) -> None:
    with pytest.raises(ValueError, match="send_timeout"):
        DeliveryEngine(store, {}, RateLimiter({}, SystemClock()), CONFIG, send_timeout=0)


async def test_a_failure_after_marking_sending_does_not_block_the_chat(
    store: Store, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    await plan(store, ["1"], parts=2)
    real = store.mark_sent_many
    failures = [sqlite3.OperationalError("disk I/O error")]

    async def flaky(sent: Any) -> None:
        if failures:  # the commit that records the first send
            raise failures.pop()
        await real(sent)

    store.mark_sent_many = flaky  # type: ignore[method-assign]
    sender = FakeSender()
    await engine_for(store, sender, clock).drain(horizon=0)
    rows = ledger(store)
    assert rows["1", 1]["state"] == "interrupted"  # it may have arrived: never resent
    assert rows["1", 2]["state"] == "sent" and len(sender.calls) == 2
    assert "failed unexpectedly" in caplog.text


@pytest.mark.parametrize("asked", [0.0, -5.0, float("nan")])
async def test_retry_after_below_a_second_waits_a_second(
    store: Store, clock: ManualClock, asked: float
) -> None:
    await plan(store, ["1"], parts=1)
    sender = FakeSender(script={"1": [RetryAfter(asked)]})
    await engine_for(store, sender, clock).drain(horizon=0)
    row = ledger(store)["1", 1]
    assert row["state"] == "pending" and row["attempts"] == 0
    assert datetime.fromisoformat(row["next_attempt_at"]) == clock.now() + timedelta(seconds=1)


async def test_migrated_to_the_same_chat_fails_the_row_and_keeps_the_subscription(
    store: Store, clock: ManualClock
) -> None:
    ids = await plan(store, ["-1"], parts=1, kind="group")
    sender = FakeSender(script={"-1": [Migrated("-1", "supergroup")]})
    await engine_for(store, sender, clock).drain(horizon=0)
    assert ledger(store)["-1", 1]["state"] == "failed"
    sub = await store.get_subscription_by_id(ids["-1"])
    assert sub is not None and sub.status == "active" and sub.chat_id == "-1"


# --- the store ----------------------------------------------------------------------------------


async def test_a_transaction_cancelled_during_begin_leaves_the_connection_clean(store: Store) -> None:
    task = asyncio.create_task(store.record_incoming(incoming(make_digest("lost"), key="lost")))
    await asyncio.sleep(0)  # the task now waits for its BEGIN on the database thread
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    kept = await store.record_incoming(incoming(make_digest("kept"), key="kept", content_hash="k"))
    assert kept.status == "new"
    with closing(sqlite3.connect(store.path)) as raw:  # committed, not stuck in an open transaction
        assert raw.execute("SELECT digest_id FROM digests").fetchall() == [("kept",)]


async def test_hot_statements_are_index_driven(store: Store, clock: ManualClock) -> None:
    """Every statement of fan-out, scheduling and claiming is checked with EXPLAIN QUERY PLAN: none
    may scan a whole table (they run once per batch or per send, over tables that grow forever)."""
    statements: list[str] = []
    for n in range(3):
        await _sub(store, str(n), "at 08:00" if n else None)
    await _record(store, "d1")
    await store._conn.raw.set_trace_callback(statements.append)
    await _fan_out(store, clock)
    await clock.advance(2 * 3600)
    await _scheduler(store, clock).run_due()
    await store.claim_due(clock.now(), 10, ["telegram"])
    await store.next_attempt_at(["telegram"])
    await store._conn.raw.set_trace_callback(None)
    queries = [s for s in statements if s.lstrip().upper().startswith(("SELECT", "UPDATE"))]
    assert len(queries) > 10
    with closing(sqlite3.connect(store.path)) as raw:
        for query in queries:
            for *_, detail in raw.execute("EXPLAIN QUERY PLAN " + query):
                words = detail.split()
                # `r` is the readings table: one row per combination of settings ever used, a table
                # that grows with neither subscribers nor digests, read once per planned digest.
                full_scan = words[0] == "SCAN" and "USING" not in words and words[1] not in ("json_each", "r")
                assert not full_scan, f"{detail!r} in {query}"
