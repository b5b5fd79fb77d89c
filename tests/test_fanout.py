"""Set-based fan-out: the variant table and index-served queries (reading ids: test_readings.py)."""

from __future__ import annotations

import re
import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from typing import Any

import pytest
from clocks import AutoClock
from db_reads import change, values
from ledger_helpers import SpyRenderer, expand_one_batch_then_crash
from sample_digests import VOCABULARY, incoming, make_digest

from bot.delivery.expander import Expander, fan_out
from bot.delivery.planner import Planner
from bot.store.db import Store
from bot.store.deliveries import StoredPayload

NOW = datetime(2025, 6, 1, 0, 30, tzinfo=UTC)  # 08:30 in Shanghai, 02:30 in Berlin


@pytest.fixture
def clock() -> AutoClock:
    return AutoClock(NOW)


async def _sub(store: Store, chat: str, timezone: str = "UTC", **settings: Any) -> int:
    sub, _ = await store.subscribe(
        "telegram", chat, None, kind="private", title=chat, created_by="u", language="zh", timezone=timezone
    )
    if settings:
        await store.update_subscription(sub.id, **settings)
    return sub.id


def _query(store: Store, sql: str) -> list[tuple[Any, ...]]:
    return values(store, sql)


@pytest.mark.both_backends
async def test_quiet_hours_in_several_zones_of_one_batch_each_get_their_end(store: Store) -> None:
    await store.record_incoming(incoming(make_digest()))
    loud = await _sub(store, "1", "Asia/Shanghai")
    shanghai = await _sub(store, "2", "Asia/Shanghai", quiet="22:00-09:00")  # 08:30 there: quiet
    berlin = await _sub(store, "3", "Europe/Berlin", quiet="22:00-09:00")  # 02:30 there: quiet
    awake = await _sub(store, "4", "Europe/Berlin", quiet="04:00-05:00")  # not quiet now
    assert await fan_out(store, VOCABULARY, renderers={"telegram": SpyRenderer(1)}, clock=AutoClock(NOW)) == 4
    due = dict(_query(store, "SELECT subscription_id, due_at FROM deliveries"))
    assert due == {
        loud: NOW.isoformat(timespec="microseconds"),
        shanghai: "2025-06-01T01:00:00.000000+00:00",
        berlin: "2025-06-01T07:00:00.000000+00:00",
        awake: NOW.isoformat(timespec="microseconds"),
    }
    assert _query(store, "SELECT count(*) FROM fanout_variants") == [(0,)]  # forgotten once done


@pytest.mark.both_backends
async def test_a_resumed_fan_out_reuses_saved_variants_and_renders_emptied_ones_again(store: Store) -> None:
    await store.record_incoming(incoming(make_digest()))
    subs = [await _sub(store, str(chat), ["UTC", "Asia/Tokyo", "UTC"][chat]) for chat in range(3)]
    planned = SpyRenderer(1)
    await Planner(store, VOCABULARY, renderers={"telegram": planned}).plan_pending()
    assert len(planned.calls) == 2
    await expand_one_batch_then_crash(store)
    assert _query(store, "SELECT count(*) FROM fanout_variants") == [(2,)]
    resumed = SpyRenderer(1)
    assert await Expander(store, VOCABULARY, renderers={"telegram": resumed}).expand_all() == 2
    assert resumed.calls == []  # both readings were saved when the digest was planned

    # Retention may empty a body while a fan-out is in progress: its reading is rendered again.
    await store.record_incoming(incoming(make_digest(digest_id="2025.06.01.12"), key="/d/b.md"))
    await Planner(store, VOCABULARY, renderers={"telegram": SpyRenderer(1)}).plan_pending()
    await expand_one_batch_then_crash(store)
    change(store, "UPDATE payloads SET body = ''")
    again = SpyRenderer(1)
    assert await Expander(store, VOCABULARY, renderers={"telegram": again}).expand_all() == 2
    assert sorted(options.timezone.key for _, options in again.calls) == ["Asia/Tokyo", "UTC"]
    bodies = _query(
        store,
        "SELECT d.subscription_id, p.body FROM deliveries d JOIN payloads p ON p.id = d.payload_id"
        " WHERE d.unit = 'd2' ORDER BY d.subscription_id",
    )
    assert [sub for sub, _ in bodies] == subs and all(body for sub, body in bodies if sub != subs[0])


async def test_the_fan_out_and_the_queries_on_finished_rows_are_index_served(store: Store) -> None:
    """The fan-out reads subscriptions by the partial index on instant ones, the variants by their
    key, the readings in use by one probe each of the partial index on reading ids; retention and
    /stats find finished rows through the partial index that replaced the full one on updated_at
    (pending rows no longer pay for it)."""
    await store.record_incoming(incoming(make_digest()))
    await _sub(store, "1")
    await fan_out(store, VOCABULARY, renderers={"telegram": SpyRenderer(1)})
    plans = {
        "batch": "SELECT id FROM subscriptions WHERE status = 'active' AND schedule = 'instant' AND id > 0"
        " ORDER BY id LIMIT 1 OFFSET 9",
        "rows": "SELECT s.id FROM subscriptions s CROSS JOIN fanout_variants v ON v.digest_seq = 1"
        " AND v.reading_id = s.reading_id AND v.part > 0 WHERE s.id > 0 AND s.id <= 10"
        " AND s.status = 'active' AND s.schedule = 'instant'",
        "in use": "SELECT r.id, r.key FROM readings r WHERE EXISTS (SELECT 1 FROM subscriptions s"
        " WHERE s.reading_id = r.id AND s.status = 'active' AND s.schedule = 'instant')",
        "retention": "SELECT updated_at, id FROM deliveries WHERE updated_at < 'z'"
        " AND (updated_at, id) > ('', 0) AND state NOT IN ('pending', 'sending')"
        " ORDER BY updated_at, id LIMIT 10",
        "stats": "SELECT state, count(*) FROM deliveries WHERE updated_at >= ''"
        " AND state NOT IN ('pending', 'sending') GROUP BY state",
    }
    with closing(sqlite3.connect(store.path)) as raw:
        found = {
            name: " / ".join(row[3] for row in raw.execute(f"EXPLAIN QUERY PLAN {sql}"))
            for name, sql in plans.items()
        }
    assert "INDEX subscriptions_instant" in found["batch"] and "INDEX subscriptions_instant" in found["rows"]
    assert "SEARCH v USING PRIMARY KEY" in found["rows"]
    assert "SEARCH s USING INDEX subscriptions_reading (reading_id=?)" in found["in use"]  # one per reading
    assert "COVERING INDEX deliveries_finished" in found["retention"]
    assert "COVERING INDEX deliveries_finished" in found["stats"]
    assert not any(re.search(r"SCAN (deliveries|subscriptions|s|v)\b", plan) for plan in found.values()), (
        found
    )


@pytest.mark.both_backends
async def test_rows_whose_quiet_end_is_not_given_are_due_now_never_dropped(store: Store) -> None:
    """The engine checks quiet hours again as it claims a row: sending later is safe, losing is not."""
    result = await store.record_incoming(incoming(make_digest()))
    assert result.seq is not None
    sub = await _sub(store, "1", "Asia/Shanghai", quiet="22:00-09:00")
    body = StoredPayload.of({"text": "hello"})
    async with store.transaction() as tx:
        [reading_id] = await tx.fanout.missing_readings(result.seq, 0, sub)
        ids = await tx.deliveries.payload_ids({body.hash: body.body}, NOW)
        await tx.fanout.save_variants(result.seq, {reading_id: [ids[body.hash]]})
        assert await tx.fanout.insert(result.seq, 0, sub, quiet_due={}, now=NOW) == 1
    assert _query(store, "SELECT subscription_id, due_at FROM deliveries") == [
        (sub, NOW.isoformat(timespec="microseconds"))
    ]
