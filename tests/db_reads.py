"""Reading (and, for set-ups, changing) a store's committed rows through a connection of their own,
on SQLite or PostgreSQL alike: what another process would see, not what the store's connection has.

A PostgreSQL store knows its URL only without the password, so the `store` fixture (and a test that
opens PostgreSQL stores itself) remembers the full URL here; any other store is a SQLite file.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import sqlite3
from collections.abc import Sequence
from contextlib import closing
from typing import Any
from weakref import WeakKeyDictionary

import asyncpg

from bot.store.db import Store
from bot.store.postgres import numbered

POSTGRES_URLS: WeakKeyDictionary[Store, str] = WeakKeyDictionary()


def remember(store: Store, url: str) -> None:
    """`store` is on the PostgreSQL database at `url`."""
    POSTGRES_URLS[store] = url


def select(store: Store, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
    """The rows of one query (`?` placeholders), as dicts by column name."""
    url = POSTGRES_URLS.get(store)
    if url is not None:
        return select_postgres(url, sql, params)
    with closing(sqlite3.connect(store.path)) as raw:
        raw.row_factory = sqlite3.Row
        return [dict(row) for row in raw.execute(sql, params).fetchall()]


def values(store: Store, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """The rows of one query as tuples."""
    return [tuple(row.values()) for row in select(store, sql, params)]


def change(store: Store, sql: str, params: Sequence[Any] = ()) -> None:
    """Run one statement and commit it."""
    url = POSTGRES_URLS.get(store)
    if url is not None:
        select_postgres(url, sql, params)
        return
    with closing(sqlite3.connect(store.path)) as raw, raw:
        raw.execute(sql, params)


def select_postgres(url: str, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
    """One statement on a PostgreSQL database, on an event loop of its own in a worker thread (so it
    works from a sync helper called inside a running test's loop)."""

    async def fetch() -> list[dict[str, Any]]:
        conn = await asyncpg.connect(url)
        try:
            return [dict(row) for row in await conn.fetch(numbered(sql), *params)]
        finally:
            await conn.close()

    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, fetch()).result()
