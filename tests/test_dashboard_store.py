"""The dashboard's aggregates: trigger-kept counts always equal counting the rows themselves.

A broadcast is planned and sent by the real engine (one chat blocks the bot, one fails for a while),
then rows are deleted as retention would; after each step `delivery_counts` must match a GROUP BY
over `deliveries`, `sent_per_hour` the sends (which pruning does not undo), and the store's figures
both.
"""

from __future__ import annotations

import pytest
from clocks import ManualClock
from ledger_helpers import FakeSender, engine_for, plan

from bot.delivery.outcome import ChatGone, Transient
from bot.store.db import Store

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
            for s, st, n in await read("SELECT digest_seq, state, count(*) FROM deliveries GROUP BY 1, 2")
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
