"""Set-based fan-out: the variant table, the one list of reading columns, index-served queries."""

from __future__ import annotations

import re
import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from typing import Any

import pytest
from clocks import AutoClock
from db_reads import change, values
from ledger_helpers import Crash, SpyRenderer
from sample_digests import VOCABULARY, incoming, make_digest

from bot.delivery.planner import READING_COLUMNS, Planner, Reading
from bot.store.db import Store
from bot.store.deliveries import StoredPayload
from bot.store.fanout import reading_key

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


def test_the_reading_is_built_from_one_list_of_columns() -> None:
    """A new reading column is one line of READING_COLUMNS (and the Reading field it fills)."""
    assert tuple(READING_COLUMNS) == Reading._fields
    assert reading_key("sqlite", list(READING_COLUMNS.values())) == (
        "json_array(s.platform, s.filter, s.timezone, s.language, s.format, s.previews, s.silent)"
    )


@pytest.mark.parametrize("columns", [[], ["platform", "filter); DROP TABLE deliveries; --"]])
def test_a_reading_column_must_be_a_plain_name(columns: list[str]) -> None:
    with pytest.raises(ValueError, match="reading columns must be plain column names"):
        reading_key("sqlite", columns)


@pytest.mark.both_backends
async def test_quiet_hours_in_several_zones_of_one_batch_each_get_their_end(store: Store) -> None:
    await store.record_incoming(incoming(make_digest()))
    loud = await _sub(store, "1", "Asia/Shanghai")
    shanghai = await _sub(store, "2", "Asia/Shanghai", quiet="22:00-09:00")  # 08:30 there: quiet
    berlin = await _sub(store, "3", "Europe/Berlin", quiet="22:00-09:00")  # 02:30 there: quiet
    awake = await _sub(store, "4", "Europe/Berlin", quiet="04:00-05:00")  # not quiet now
    planner = Planner(store, VOCABULARY, renderers={"telegram": SpyRenderer(1)}, clock=AutoClock(NOW))
    assert await planner.plan_pending() == 4
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
    with pytest.raises(Crash):  # the first batch is written, the second one's render dies
        await Planner(
            store, VOCABULARY, renderers={"telegram": SpyRenderer(1, crash_after=1)}, batch_size=1
        ).plan_pending()
    assert _query(store, "SELECT count(*) FROM fanout_variants") == [(1,)]
    resumed = SpyRenderer(1)
    assert await Planner(store, VOCABULARY, renderers={"telegram": resumed}).plan_pending() == 2
    assert [options.timezone.key for _, options in resumed.calls] == ["Asia/Tokyo"]  # UTC was saved

    # Retention may empty a body while a fan-out is in progress: its reading is rendered again.
    await store.record_incoming(incoming(make_digest(digest_id="2025.06.01.12"), key="/d/b.md"))
    with pytest.raises(Crash):
        await Planner(
            store, VOCABULARY, renderers={"telegram": SpyRenderer(1, crash_after=1)}, batch_size=1
        ).plan_pending()
    change(store, "UPDATE payloads SET body = ''")
    again = SpyRenderer(1)
    assert await Planner(store, VOCABULARY, renderers={"telegram": again}).plan_pending() == 2
    assert sorted(options.timezone.key for _, options in again.calls) == ["Asia/Tokyo", "UTC"]
    bodies = _query(
        store,
        "SELECT d.subscription_id, p.body FROM deliveries d JOIN payloads p ON p.id = d.payload_id"
        " WHERE d.unit = 'd2' ORDER BY d.subscription_id",
    )
    assert [sub for sub, _ in bodies] == subs and all(body for sub, body in bodies if sub != subs[0])


async def test_the_fan_out_and_the_queries_on_finished_rows_are_index_served(store: Store) -> None:
    """The fan-out reads subscriptions by the partial index on instant ones, the variants by their
    key; retention and /stats find finished rows through the partial index that replaced the full
    one on updated_at (pending rows no longer pay for it)."""
    await store.record_incoming(incoming(make_digest()))
    await _sub(store, "1")
    await Planner(store, VOCABULARY, renderers={"telegram": SpyRenderer(1)}).plan_pending()
    key = reading_key("sqlite", list(READING_COLUMNS.values()))
    plans = {
        "batch": "SELECT id FROM subscriptions WHERE status = 'active' AND schedule = 'instant' AND id > 0"
        " ORDER BY id LIMIT 1 OFFSET 9",
        "rows": f"SELECT s.id FROM subscriptions s CROSS JOIN fanout_variants v ON v.digest_seq = 1"
        f" AND v.reading = {key} AND v.part > 0 WHERE s.id > 0 AND s.id <= 10"
        " AND s.status = 'active' AND s.schedule = 'instant'",
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
    columns = list(READING_COLUMNS.values())
    body = StoredPayload.of({"text": "hello"})
    async with store.transaction() as tx:
        [key] = await tx.fanout.missing_readings(result.seq, 0, sub, columns)
        ids = await tx.deliveries.payload_ids({body.hash: body.body}, NOW)
        await tx.fanout.save_variants(result.seq, {key: [ids[body.hash]]})
        assert await tx.fanout.insert(result.seq, 0, sub, columns, quiet_due={}, now=NOW) == 1
    assert _query(store, "SELECT subscription_id, due_at FROM deliveries") == [
        (sub, NOW.isoformat(timespec="microseconds"))
    ]
