"""The dashboard's aggregates: trigger-kept counts always equal counting the rows themselves.

A broadcast is planned and sent by the real engine (one chat blocks the bot, one fails for a while),
then rows are deleted as retention would; after each step `delivery_counts` must match a GROUP BY
over `deliveries`, `sent_per_hour` the sends (which pruning does not undo), and the store's figures
both.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from clocks import ManualClock
from ledger_helpers import FakeSender, engine_for, plan

import bot
from bot.delivery.outcome import ChatGone, Transient
from bot.store.db import Store
from bot.store.deliveries import NewDelivery, StoredPayload
from bot.store.times import to_db

pytestmark = pytest.mark.both_backends

CHATS = ["1", "2", "3", "4", "5", "6"]


Counts = dict[tuple[int, str], int]


async def recount(target: str) -> tuple[Counts, Counts, dict[str, int], dict[str, int]]:
    """(kept counts, counted rows, kept sends per hour, counted sends per hour), read through a
    separate connection."""
    async with await Store.open(target) as other, other.transaction(write=False) as tx:
        read = tx.conn.fetchall
        kept = {(s, st): n for s, st, n in await read("SELECT digest_seq, state, count FROM delivery_counts")}
        counted = {
            (s, st): n
            for s, st, n in await read(
                "SELECT coalesce(digest_seq, 0), state, count(*) FROM deliveries GROUP BY 1, 2"
            )
        }
        hours = {h: n for h, n in await read("SELECT hour, count FROM sent_per_hour")}
        sent = {
            h: n
            for h, n in await read(
                "SELECT substr(sent_at, 1, 13), count(*) FROM deliveries WHERE state = 'sent' GROUP BY 1"
            )
        }
    return kept, counted, hours, sent


async def test_counts_follow_inserts_outcomes_and_deletes(
    store: Store, store_target: str, clock: ManualClock
) -> None:
    await plan(store, CHATS, parts=2)
    kept, counted, hours, sent_hours = await recount(store_target)
    assert kept == counted and sum(counted.values()) == 12 and hours == sent_hours == {}
    progress = await store.broadcast_progress(clock.now())
    assert progress is not None and (progress.total, progress.open, progress.done) == (12, 12, 0)

    sender = FakeSender(
        script={"2": [ChatGone("Forbidden: bot was blocked by the user")], "3": [Transient("x")]}
    )
    await engine_for(store, sender, clock).drain()
    kept, counted, hours, sent_hours = await recount(store_target)
    assert kept == counted and hours == sent_hours
    sent = sum(n for (_, state), n in counted.items() if state == "sent")
    assert sent == 8 and sum(hours.values()) == 8

    now = clock.now()
    progress = await store.broadcast_progress(now)
    assert progress is not None
    assert progress.states == {state: n for (_, state), n in counted.items()}
    assert progress.recent_sent == 8  # all within the rate window on the hand-moved clock
    gauges = await store.gauges()
    assert gauges.queue == {"pending": progress.states.get("pending", 0), "sending": 0}
    assert gauges.paused == 1
    overview = await store.overview(now)
    assert len(overview.hours) == 48 and sum(n for _, n in overview.hours) == 8
    assert [(p.chat_id, p.reason) for p in overview.paused] == [
        ("2", "Forbidden: bot was blocked by the user")
    ]
    assert overview.paused_total == 1
    assert [d.total for d in overview.digests] == [progress.total]

    async with await Store.open(store_target) as other, other.transaction() as tx:
        await tx.conn.execute("DELETE FROM deliveries WHERE chat_id IN ('1', '4')")  # as retention deletes
    kept, counted, hours_after, _ = await recount(store_target)
    assert kept == counted and sum(counted.values()) == progress.total - 4
    assert hours_after == hours  # the chart is a history of sends: pruning rows does not undo them


async def test_an_empty_database_has_no_broadcast(store: Store, clock: ManualClock) -> None:
    assert await store.broadcast_progress(clock.now()) is None
    overview = await store.overview(clock.now())
    assert overview.digests == [] and overview.paused == [] and overview.paused_total == 0
    assert [n for _, n in overview.hours] == [0] * 48


async def assert_counted(target: str) -> dict[str, int]:
    """The kept counts match the rows, and the sends per hour the sent rows (none pruned yet)."""
    kept, counted, hours, sent_hours = await recount(target)
    assert kept == counted
    assert hours == sent_hours
    return hours


async def test_every_kind_of_insert_update_and_delete_keeps_the_counts(
    store: Store, store_target: str, clock: ManualClock
) -> None:
    ids = await plan(store, CHATS, parts=2)  # the fan-out's INSERT ... SELECT
    await assert_counted(store_target)

    now = clock.now()
    again = [
        NewDelivery(
            ids["1"], unit, 1, 1, 1, "telegram", "1", None, "private", StoredPayload.of({"t": unit}), now
        )
        for unit in ("s1", "s2")
    ]
    async with store.transaction() as tx:  # rows one by one (scheduled posts); a repeat adds nothing
        assert await tx.deliveries.add(again, now) == 2
        assert await tx.deliveries.add(again, now) == 0
    await assert_counted(store_target)

    draft = await store.draft_announcement("telegram", "hello", "u")
    done = await store.confirm_announcement(draft, "telegram", StoredPayload.of({"text": "hello"}))
    assert done.recipients == len(CHATS)  # one INSERT ... SELECT of no digest
    await store.enqueue_report("telegram", "ops", "private", StoredPayload.of({"text": "report"}))
    await assert_counted(store_target)

    sender = FakeSender(script={"2": [ChatGone("Forbidden: bot was blocked by the user")]})
    await engine_for(store, sender, clock).drain()  # sending, sent, failed, skipped
    await assert_counted(store_target)
    async with store.transaction() as tx:
        await tx.deliveries.add(
            [replace(again[0], unit="s3"), replace(again[0], subscription_id=ids["3"])], now
        )
    await store.pause(ids["3"], "paused by a test")  # pending -> skipped
    expired = await store.expire_stale(now + timedelta(seconds=1), "too old", now, 100)
    assert expired.counts == {(1, "telegram"): 1}  # pending -> expired
    hours = await assert_counted(store_target)
    assert sum(hours.values()) == 18  # 21 rows, less the blocked chat's 2 parts and announcement

    gone = await store.forget(ids["4"])  # deletes a chat's rows
    assert gone.deliveries == 3
    kept, counted, hours_after, _ = await recount(store_target)
    assert kept == counted and hours_after == hours


async def test_an_insert_stamps_when_its_payloads_were_last_queued(
    store: Store, store_target: str, clock: ManualClock
) -> None:
    await plan(store, CHATS[:2], parts=1)
    planned = await used_at(store_target)
    assert planned and set(planned.values()) == {to_db(clock.now())}

    await clock.advance(60)
    await store.enqueue_report("telegram", "ops", "private", StoredPayload.of({"text": "report"}))
    stamped = await used_at(store_target)
    assert {
        k: v for k, v in stamped.items() if k in planned
    } == planned  # payloads not used again keep theirs
    [(_, new)] = [(k, v) for k, v in stamped.items() if k not in planned]
    assert new == to_db(clock.now())


async def used_at(target: str) -> dict[int, str]:
    async with await Store.open(target) as other, other.transaction(write=False) as tx:
        rows = await tx.conn.fetchall("SELECT id, used_at FROM payloads WHERE used_at IS NOT NULL")
    return {row[0]: row[1] for row in rows}


@pytest.mark.parametrize("backend", ["sqlite"])  # reads the source, one run is enough
def test_every_insert_into_the_ledger_goes_through_the_counting_helper(backend: str) -> None:
    """SQLite counts inserted rows only in store/ledger_insert.py: an INSERT INTO deliveries
    anywhere else would leave delivery_counts behind (the tests above catch only the paths they run)."""
    package = Path(bot.__file__).parent
    for path in package.rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        inserts = len(re.findall(r"INSERT\s+INTO\s+deliveries\b", source, re.IGNORECASE))
        helped = len(re.findall(r"\binsert_deliveries(?:_many)?\(", source))
        if path.name != "ledger_insert.py":
            assert inserts <= helped, (
                f"{path.relative_to(package)}: INSERT INTO deliveries not through the helper"
            )
