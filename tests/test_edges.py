"""Exactly once at the edges (issue 14): unknown outcomes, expiry of stale rows, the retry-after ceiling.

The real engine and a real SQLite ledger, with the scripted sender of test_engine on a hand-moved
clock; /stats through the real command service.
"""

from __future__ import annotations

import logging
import random
import sqlite3
from contextlib import closing
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from clocks import ManualClock
from db_reads import select
from ledger_helpers import CONFIG, FakeSender, engine_for, ledger, part_of, plan, subscribe
from sample_digests import VOCABULARY, incoming, make_digest

from bot.commands.model import Caller, ChatRef, Command
from bot.commands.service import CommandService
from bot.core.clock import SystemClock
from bot.delivery import expiry
from bot.delivery.engine import DeliveryEngine
from bot.delivery.outcome import RetryAfter, Uncertain
from bot.delivery.ratelimit import RateLimiter
from bot.platforms.registry import default_renderers
from bot.store.db import Store
from bot.store.deliveries import NewDelivery, StoredPayload
from bot.store.schema import load_migrations
from bot.store.subscriptions import Subscription

pytestmark = pytest.mark.both_backends

HOUR = 3600.0


async def queue(store: Store, sub: Subscription, unit: str, due_at: datetime, *, seq: int = 1) -> None:
    """One ledger row as the planner (instant) or the scheduler (a post due later) writes it."""
    row = NewDelivery(
        sub.id,
        unit,
        1,
        1,
        seq,
        sub.platform,
        sub.chat_id,
        sub.thread_id,
        sub.kind,
        StoredPayload.of({"text": f"{unit} part 1"}),
        due_at,
    )
    async with store.transaction() as tx:
        await tx.deliveries.add([row], store.clock.now())


# -- unknown outcomes ------------------------------------------------------------------------------


async def test_an_uncertain_send_is_final_and_never_resent(store: Store, clock: ManualClock) -> None:
    await plan(store, ["1", "2"])
    sender = FakeSender(script={"1": [Uncertain("httpx.ReadTimeout after the request left")]})
    engine = engine_for(store, sender, clock)
    await engine.drain(horizon=0)
    row = ledger(store)["1", 1]
    assert row["state"] == "uncertain" and row["attempts"] == 1
    assert row["last_error"] == "outcome unknown, not resent: httpx.ReadTimeout after the request left"
    assert ledger(store)["1", 2]["state"] == "sent"  # the chat's next part goes on
    await clock.advance(10 * HOUR)
    await engine.drain(horizon=0)
    assert [part_of(t) for t in sender.sent_to("1")] == [1, 2]
    assert {ledger(store)["2", part]["state"] for part in (1, 2)} == {"sent"}


# -- expiry ----------------------------------------------------------------------------------------


async def test_rows_of_a_platform_that_is_not_running_expire_with_one_line_per_digest(
    store: Store, clock: ManualClock, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(expiry, "EXPIRE_BATCH", 3)  # several batches per sweep
    await store.record_incoming(incoming(make_digest("a"), key="a", content_hash="a"))
    await store.record_incoming(incoming(make_digest("b"), key="b", content_hash="b"))
    subs = [await subscribe(store, str(chat)) for chat in range(4)]
    for sub in subs:
        await queue(store, sub, "d1", clock.now(), seq=1)
        await queue(store, sub, "d2", clock.now(), seq=2)
    discord = FakeSender(platform="discord")  # Telegram's token was removed: only Discord runs
    engine = engine_for(store, discord, clock, config={"max_age": 2 * HOUR})
    await engine.drain(horizon=0)
    assert {row["state"] for row in ledger_rows(store)} == {"pending"}  # not stale yet
    await clock.advance(2 * HOUR + 1)
    with caplog.at_level(logging.WARNING, logger="bot.delivery.engine"):
        await engine.drain(horizon=0)
    rows = ledger_rows(store)
    assert {row["state"] for row in rows} == {"expired"}
    assert {row["last_error"] for row in rows} == {"expired: not sent within 2 h of its due time"}
    assert [r.getMessage() for r in caplog.records] == [
        f"digest #{seq}: 4 queued deliveries expired, not sent within 2 h of their due time (telegram 4)"
        for seq in (1, 2)
    ]
    telegram = FakeSender()  # Telegram is back: nothing stale goes out
    await engine_for(store, telegram, clock, config={"max_age": 2 * HOUR}).drain(horizon=0)
    assert telegram.calls == []


async def test_a_platform_that_comes_back_sends_only_what_is_fresh(store: Store, clock: ManualClock) -> None:
    await store.record_incoming(incoming(make_digest()))
    sub = await subscribe(store, "1")
    await queue(store, sub, "stale", clock.now())
    await clock.advance(3 * HOUR)
    await queue(store, sub, "fresh", clock.now())
    sender = FakeSender()
    await engine_for(store, sender, clock, config={"max_age": 2 * HOUR}).drain(horizon=0)
    assert sender.sent_to("1") == ["fresh part 1"]
    assert [row["state"] for row in ledger_rows(store)] == ["expired", "sent"]


async def test_a_stale_row_is_never_claimed_even_before_the_sweep(store: Store, clock: ManualClock) -> None:
    await store.record_incoming(incoming(make_digest()))
    sub = await subscribe(store, "1")
    await queue(store, sub, "old", clock.now())
    await clock.advance(HOUR)
    now = clock.now()
    assert await store.claim_due(now, 10, ["telegram"], fresh_since=now - timedelta(seconds=HOUR - 1)) == []
    assert await store.next_attempt_at(["telegram"], fresh_since=now - timedelta(seconds=HOUR - 1)) is None
    [row] = await store.claim_due(now, 10, ["telegram"], fresh_since=now - timedelta(seconds=HOUR))
    assert row.unit == "old"
    assert [r["state"] for r in ledger_rows(store)] == ["pending"]  # the sweep's job, not the claim's


async def test_age_counts_from_the_due_time_so_a_scheduled_post_is_fresh_when_due(
    store: Store, clock: ManualClock
) -> None:
    await store.record_incoming(incoming(make_digest()))
    sub = await subscribe(store, "1")
    await queue(store, sub, "s20:00", clock.now() + timedelta(hours=10))  # planned 10 h ahead
    sender = FakeSender()
    engine = engine_for(store, sender, clock, config={"max_age": HOUR})
    await clock.advance(10 * HOUR + 60)
    await engine.drain(horizon=0)
    assert sender.sent_to("1") == ["s20:00 part 1"]


async def test_a_row_retried_past_max_age_expires_instead_of_going_out_late(
    store: Store, clock: ManualClock
) -> None:
    await plan(store, ["1"], parts=1)
    sender = FakeSender(script={"1": [RetryAfter(600)]})
    engine = engine_for(store, sender, clock, config={"max_age": 300.0})
    await engine.drain(horizon=0)
    await clock.advance(600)
    await engine.drain(horizon=0)
    assert len(sender.calls) == 1
    assert ledger(store)["1", 1]["state"] == "expired"


# -- the retry-after ceiling -----------------------------------------------------------------------


async def test_retry_after_stops_at_the_ceiling_across_a_restart_without_slowing_others(
    store: Store, clock: ManualClock
) -> None:
    await plan(store, ["1", "2"], parts=1)
    sender = FakeSender(script={"1": [RetryAfter(40)] * 5})
    config = {"max_retry_wait": 100.0}
    await engine_for(store, sender, clock, config=config).drain(horizon=0)
    assert ledger(store)["2", 1]["state"] == "sent"  # the other chat is not held up
    await clock.advance(40)
    await engine_for(store, sender, clock, config=config).drain(horizon=0)
    row = ledger(store)["1", 1]
    assert (row["state"], row["retry_wait"]) == ("pending", 80.0)  # stored: a restart keeps it
    await clock.advance(40)
    await engine_for(store, sender, clock, config=config).drain(horizon=0)  # a new engine, as after a restart
    row = ledger(store)["1", 1]
    assert row["state"] == "failed" and row["last_error"] == "rate limited for over 100 s"
    await clock.advance(HOUR)
    await engine_for(store, sender, clock, config=config).drain(horizon=0)
    assert len(sender.sent_to("1")) == 3


async def test_the_default_ceiling_is_an_hour(store: Store, clock: ManualClock) -> None:
    await plan(store, ["1"], parts=1)
    sender = FakeSender(script={"1": [RetryAfter(1800), RetryAfter(1800), RetryAfter(1)]})
    engine = engine_for(store, sender, clock)
    for _ in range(2):
        await engine.drain(horizon=0)
        await clock.advance(1800)
    await engine.drain(horizon=0)
    row = ledger(store)["1", 1]
    assert row["state"] == "failed" and row["last_error"] == "rate limited for over 1 h"


# -- /stats and the schema -------------------------------------------------------------------------


async def test_stats_count_uncertain_and_expired_deliveries(tmp_path: Path) -> None:
    async with await Store.open(tmp_path / "bot.db") as store:
        await store.record_incoming(incoming(make_digest()))
        subs = [await subscribe(store, str(chat)) for chat in range(4)]
        long_ago = store.clock.now() - timedelta(days=2)
        for sub in subs[:3]:
            await queue(store, sub, "old", long_ago)
        await queue(store, subs[3], "new", store.clock.now())
        sender = FakeSender(script={"3": [Uncertain("read timeout")]})
        engine = DeliveryEngine(
            store, {"telegram": sender}, RateLimiter({}, SystemClock()), CONFIG, rng=random.Random(1)
        )
        await engine.drain(horizon=0)
        service = CommandService(store, VOCABULARY, renderers=default_renderers())
        owner = Caller("1", language="en", is_owner=True)
        reply = await service.handle(
            Command("stats", (), ChatRef("telegram", "1", None, kind="private"), owner)
        )
    deliveries = next(line for line in reply.text.splitlines() if line.startswith("Deliveries in 24 h"))
    assert deliveries == "Deliveries in 24 h: 3 expired, 1 uncertain (may have arrived)"


async def test_a_database_from_before_issue_14_keeps_its_rows_and_takes_the_new_states(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.db"
    async with await Store.open(path) as store:
        await plan(store, ["1"], parts=1)
    with closing(sqlite3.connect(path)) as raw:  # back to the schema before 004, with its row
        before = raw.execute("SELECT next_attempt_at FROM deliveries").fetchone()[0]
        raw.executescript(
            "CREATE TABLE old AS SELECT id, subscription_id, unit, part, parts, digest_seq, platform,"
            " chat_id, thread_id, kind, payload_id, plain, state, attempts, next_attempt_at, message_id,"
            " last_error, created_at, updated_at, sent_at FROM deliveries;"
            " DROP TABLE deliveries; DROP TABLE announcements;"
            f" {_initial_deliveries_table()}"
            " INSERT INTO deliveries SELECT * FROM old; DROP TABLE old;"
            # and without what 006 added beside the table (its triggers went with the table)
            " DROP TABLE delivery_counts; DROP TABLE sent_per_hour; DROP INDEX subscriptions_paused;"
            # and without 014's reading ids (its triggers name 008's columns)
            " DROP TRIGGER subscriptions_reading_insert; DROP TRIGGER subscriptions_reading_update;"
            " DROP INDEX subscriptions_reading; ALTER TABLE subscriptions DROP COLUMN reading_id;"
            " DROP TABLE readings;"
            # and without 008's reader options
            " ALTER TABLE subscriptions DROP COLUMN format; ALTER TABLE subscriptions DROP COLUMN previews;"
            " ALTER TABLE subscriptions DROP COLUMN silent; ALTER TABLE subscriptions DROP COLUMN pin;"
            " ALTER TABLE subscriptions DROP COLUMN pinned_message_id;"
            # and the fan-out's variant table (007)
            " DROP TABLE fanout_variants;"
            # and without 010's search index (the triggers on search_items go with it)
            " DROP TRIGGER search_digest_insert; DROP TRIGGER search_digest_delete;"
            " DROP TRIGGER search_digest_rescope; DROP VIEW search_source; DROP TABLE search_fts;"
            " DROP TABLE search_items; DROP TABLE search_queries;"
            # and without 015's payload stamp
            " ALTER TABLE payloads DROP COLUMN used_at;"
            " PRAGMA user_version = 3;"
        )
    async with await Store.open(path) as store:
        [row] = await store.claim_due(store.clock.now() + timedelta(days=1), 10, ["telegram"])
        assert row.retry_wait == 0.0
        assert await store.mark_sending(row.id, store.clock.now())
        await store.mark_uncertain(row.id, "read timeout", store.clock.now())
    with closing(sqlite3.connect(path)) as raw:
        assert raw.execute("SELECT state, due_at FROM deliveries").fetchall() == [("uncertain", before)]
        # 006 counted the old row, and its triggers followed it from pending to uncertain
        assert raw.execute("SELECT state, count FROM delivery_counts").fetchall() == [("uncertain", 1)]
        assert raw.execute("PRAGMA user_version").fetchone()[0] == load_migrations()[-1].version
        with pytest.raises(sqlite3.IntegrityError):
            raw.execute("UPDATE deliveries SET state = 'lost'")


def _initial_deliveries_table() -> str:
    """The deliveries table exactly as 001_initial.sql creates it (statement and indexes)."""
    sql = load_migrations()[0].sql
    start = sql.index("CREATE TABLE deliveries")
    return sql[start : sql.index("CREATE INDEX deliveries_due")]


def ledger_rows(store: Store) -> list[dict[str, Any]]:
    return select(store, "SELECT * FROM deliveries ORDER BY id")
