"""Reading ids (migration 014): the database numbers each distinct reading and keeps every
subscription's `reading_id` right by itself, on both backends, whatever statement writes the row."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from db_reads import change, remember, select, values

from bot.delivery.planner import READING_COLUMNS, Reading
from bot.store.db import Store
from bot.store.pg_schema import VERSION_TABLE, load_postgres_migrations
from bot.store.schema import load_migrations

# A value different from the default for each reading column: a column added to READING_COLUMNS
# needs one here, and then the update test fails until the triggers know the column too.
CHANGED: dict[str, Any] = {
    "platform": "discord",
    "filter": '{"categories":["tech"],"keywords":["引号 \\" here"]}',
    "timezone": "Asia/Tokyo",
    "language": "en",
    "format": "compact",
    "previews": 1,
    "silent": 1,
}
SUBSCRIPTION = (
    "INSERT INTO subscriptions (platform, chat_id, kind, filter, status, origin, created_at, updated_at)"
    " VALUES ('telegram', ?, 'private', '{}', 'active', 'user', 't', 't')"
)


def _reading(store: Store, subscription_id: int) -> tuple[int, list[Any], list[Any]]:
    """(reading id, the values its key holds, the subscription's own reading columns)."""
    columns = ", ".join(f"s.{column}" for column in READING_COLUMNS.values())
    [row] = select(
        store,
        f"SELECT s.reading_id, r.key, {columns} FROM subscriptions s JOIN readings r ON r.id = s.reading_id"
        " WHERE s.id = ?",
        (subscription_id,),
    )
    key = row.pop("key")
    reading_id = row.pop("reading_id")
    assert key == json.dumps(json.loads(key), ensure_ascii=False, separators=(",", ":"))  # one spelling
    return reading_id, json.loads(key), list(row.values())


def _insert(store: Store, chat: str) -> int:
    change(store, SUBSCRIPTION, (chat,))
    [(subscription_id,)] = values(store, "SELECT id FROM subscriptions WHERE chat_id = ?", (chat,))
    return int(subscription_id)


def test_every_reading_column_has_a_changed_value() -> None:
    assert set(CHANGED) == set(READING_COLUMNS.values())
    assert tuple(READING_COLUMNS) == Reading._fields


@pytest.mark.both_backends
async def test_an_insert_gets_the_reading_of_its_columns_shared_with_its_twins(store: Store) -> None:
    first, twin, other = _insert(store, "1"), _insert(store, "2"), _insert(store, "3")
    change(store, "UPDATE subscriptions SET language = 'en' WHERE id = ?", (other,))
    reading_id, key, columns = _reading(store, first)
    assert key == columns == ["telegram", "{}", "UTC", "zh", "full", None, 0]
    assert _reading(store, twin)[0] == reading_id != _reading(store, other)[0]


@pytest.mark.both_backends
@pytest.mark.parametrize("column", list(READING_COLUMNS.values()))
async def test_updating_a_reading_column_moves_the_subscription_to_its_reading(
    store: Store, column: str
) -> None:
    sub = _insert(store, "1")
    before, _, _ = _reading(store, sub)
    change(store, f"UPDATE subscriptions SET {column} = ? WHERE id = ?", (CHANGED[column], sub))
    after, key, columns = _reading(store, sub)
    assert after != before and key == columns and CHANGED[column] in key
    twin = _insert(store, "2")  # a new subscription with the same settings finds that reading
    change(store, f"UPDATE subscriptions SET {column} = ? WHERE id = ?", (CHANGED[column], twin))
    assert _reading(store, twin)[0] == after


@pytest.mark.both_backends
@pytest.mark.parametrize(
    ("column", "value"),
    [("title", "renamed"), ("status", "paused"), ("schedule", "at 08:00"), ("quiet", "22:00-07:00")],
)
async def test_updating_another_column_leaves_the_reading_alone(
    store: Store, column: str, value: str
) -> None:
    sub = _insert(store, "1")
    before = _reading(store, sub)
    change(store, f"UPDATE subscriptions SET {column} = ? WHERE id = ?", (value, sub))
    assert _reading(store, sub) == before
    assert values(store, "SELECT count(*) FROM readings") == [(1,)]


@pytest.mark.both_backends
async def test_readings_in_use_are_those_of_active_instant_subscriptions(store: Store) -> None:
    instant, paused, scheduled = _insert(store, "1"), _insert(store, "2"), _insert(store, "3")
    _insert(store, "4")  # the same reading as `instant`
    change(store, "UPDATE subscriptions SET language = 'en', status = 'paused' WHERE id = ?", [paused])
    change(store, "UPDATE subscriptions SET silent = 1, schedule = 'at 08:00' WHERE id = ?", [scheduled])
    reading_id, key, _ = _reading(store, instant)
    async with store.transaction(write=False) as tx:
        assert await tx.fanout.readings_in_use() == {reading_id: tuple(key)}
    assert values(store, "SELECT count(*) FROM readings") == [(3,)]  # unused ones are kept


def _before_014(chats: range) -> list[str]:
    """Subscriptions written before migration 014: two readings among them."""
    rows = [SUBSCRIPTION.replace("?", f"'{chat}'") for chat in chats]
    return [*rows, f"UPDATE subscriptions SET language = 'en' WHERE chat_id = '{chats[0]}'"]


def _the_backfill_matches_the_triggers(store: Store) -> None:
    chats = dict(values(store, "SELECT chat_id, id FROM subscriptions"))
    numbered = {chat: _reading(store, sub) for chat, sub in chats.items()}
    assert all(key == columns for _, key, columns in numbered.values())
    assert numbered["0"][0] != numbered["1"][0] == numbered["2"][0]
    change(store, "DELETE FROM subscriptions WHERE chat_id = '2'")
    again = _insert(store, "2")  # the trigger spells the key as the backfill did
    assert _reading(store, again)[0] == numbered["1"][0]


async def test_sqlite_migration_numbers_the_existing_subscriptions(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    with closing(sqlite3.connect(path)) as raw:
        for migration in load_migrations()[:13]:
            raw.executescript(migration.sql)
        for statement in _before_014(range(3)):
            raw.execute(statement)
        raw.execute("PRAGMA user_version = 13")
        raw.commit()
    async with await Store.open(path) as store:
        _the_backfill_matches_the_triggers(store)


async def test_postgres_migration_numbers_the_existing_subscriptions(postgres_url: str) -> None:
    conn = await asyncpg.connect(postgres_url)
    try:
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
        before = load_postgres_migrations()[:4]
        assert before[-1].name.startswith("013_")
        for migration in before:
            await conn.execute(migration.sql)
        for statement in _before_014(range(3)):
            await conn.execute(statement)
        await conn.execute(f"{VERSION_TABLE}; INSERT INTO schema_version VALUES (13)")
    finally:
        await conn.close()
    async with await Store.open(postgres_url) as store:
        remember(store, postgres_url)
        _the_backfill_matches_the_triggers(store)
