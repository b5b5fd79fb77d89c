"""Reading (and, for set-ups, changing) a store's committed rows through a connection of their own,
on SQLite or PostgreSQL alike: what another process would see, not what the store's connection has.

The `store` fixture remembers where each store it opens lives (a PostgreSQL store only knows its
URL without the password); a store a test opens itself on a file path needs no remembering.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Coroutine, Sequence
from contextlib import closing
from typing import Any
from weakref import WeakKeyDictionary

import asyncpg

from bot.store.db import Store
from bot.store.pg_url import is_postgres_url
from bot.store.postgres import numbered

TARGETS: WeakKeyDictionary[Store, str] = WeakKeyDictionary()


def remember(store: Store, target: str) -> None:
    TARGETS[store] = target


def select(store: Store, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
    """The rows of one query (`?` placeholders), as dicts by column name."""
    target = TARGETS.get(store, store.path)
    if is_postgres_url(target):
        return [dict(row) for row in _run(_fetch(target, sql, params))]
    with closing(sqlite3.connect(target)) as raw:
        raw.row_factory = sqlite3.Row
        return [dict(row) for row in raw.execute(sql, params).fetchall()]


def values(store: Store, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """The rows of one query as tuples."""
    return [tuple(row.values()) for row in select(store, sql, params)]


def change(store: Store, sql: str, params: Sequence[Any] = ()) -> None:
    """Run one statement and commit it."""
    target = TARGETS.get(store, store.path)
    if is_postgres_url(target):
        _run(_fetch(target, sql, params))
        return
    with closing(sqlite3.connect(target)) as raw, raw:
        raw.execute(sql, params)


def _run(coro: Coroutine[Any, Any, list[asyncpg.Record]]) -> list[asyncpg.Record]:
    """pg_cluster's runner, imported when first needed: conftest imports this module before pytest
    loads pg_cluster as a plugin (whose asserts it rewrites)."""
    from pg_cluster import run_async

    return run_async(coro)


async def _fetch(url: str, sql: str, params: Sequence[Any]) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(url)
    try:
        return list(await conn.fetch(numbered(sql), *params))
    finally:
        await conn.close()
