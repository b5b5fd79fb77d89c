"""Moving an install from its SQLite file to PostgreSQL (`digestbot migrate-store`), ids and all.

Every table is copied with its keys as they are (a delivery still names its subscription, digest
and payload; a page button still names its query), in one read transaction on the file and one
write transaction on the server: the copy lands whole or not at all. The server's triggers are
switched off meanwhile, because the trigger-kept tables (dashboard counters, search items, reading
ids) are copied as the file has them (the chart's history of sends outlives pruned rows; search
items keep their ids; a fan-out's saved variants name readings by id). Rows are upserted by primary
key, so copying the same file again gives the same database; afterwards each identity sequence
continues after the largest id ever given out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.store.connection import Connection
from bot.store.errors import StoreError

BATCH = 1000
TRIGGERED = ("digests", "subscriptions", "deliveries")  # the tables whose triggers write other tables


@dataclass(frozen=True, slots=True)
class Table:
    """A table to copy: its primary key, and whether that key is an identity column to continue."""

    name: str
    key: tuple[str, ...]
    identity: bool = False


# In foreign-key order: a row's references are copied before it.
TABLES = (
    Table("digests", ("seq",), identity=True),
    Table("readings", ("id",), identity=True),
    Table("subscriptions", ("id",), identity=True),
    Table("subscription_settings", ("subscription_id", "key")),
    Table("payloads", ("id",), identity=True),
    Table("announcements", ("id",), identity=True),
    Table("deliveries", ("id",), identity=True),
    Table("fanout_variants", ("digest_seq", "reading_id", "part")),
    Table("delivery_counts", ("digest_seq", "state")),
    Table("sent_per_hour", ("hour",)),
    Table("search_items", ("id",), identity=True),
    Table("search_queries", ("id",), identity=True),
)


class TargetNotEmpty(StoreError):
    """The PostgreSQL database already holds data and the caller did not say to copy into it."""


async def copy_store(
    source: Connection, target: Connection, *, into_nonempty: bool = False
) -> dict[str, int]:
    """Copy every table of `source` (SQLite, in a read transaction) into `target` (PostgreSQL, in a
    write transaction); the rows copied per table. TargetNotEmpty unless `into_nonempty`."""
    if not into_nonempty and await _holds_rows(target):
        raise TargetNotEmpty("the target database is not empty")
    for name in TRIGGERED:
        await target.execute(f"ALTER TABLE {name} DISABLE TRIGGER USER")
    counts = {table.name: await _copy_table(source, target, table) for table in TABLES}
    for name in TRIGGERED:
        await target.execute(f"ALTER TABLE {name} ENABLE TRIGGER USER")
    given = await _ids_given(source)
    for table in TABLES:
        if table.identity:
            await _continue_identity(target, table, given.get(table.name, 0))
    return counts


async def _holds_rows(target: Connection) -> bool:
    probes = " OR ".join(f"EXISTS (SELECT 1 FROM {table.name})" for table in TABLES)
    row = await target.fetchone(f"SELECT {probes}")
    return bool(row and row[0])


async def _copy_table(source: Connection, target: Connection, table: Table) -> int:
    """Rows in key order, a batch at a time (keyset paging: each batch starts after the last key)."""
    columns = [row["name"] for row in await source.fetchall(f"PRAGMA table_info({table.name})")]
    if not columns:
        raise StoreError(f"the source database has no table {table.name}")
    upsert = _upsert(table, columns)
    keys = ", ".join(table.key)
    first = f"SELECT * FROM {table.name} ORDER BY {keys} LIMIT ?"
    marks = ", ".join("?" * len(table.key))
    after = f"SELECT * FROM {table.name} WHERE ({keys}) > ({marks}) ORDER BY {keys} LIMIT ?"
    copied = 0
    last: tuple[Any, ...] | None = None
    while True:
        params = (BATCH,) if last is None else (*last, BATCH)
        rows = await source.fetchall(first if last is None else after, params)
        if not rows:
            return copied
        records = [dict(zip(columns, row, strict=True)) for row in rows]
        await target.execute(upsert, (json.dumps(records, ensure_ascii=False),))
        copied += len(rows)
        last = tuple(records[-1][name] for name in table.key)


def _upsert(table: Table, columns: list[str]) -> str:
    """One INSERT of a batch given as a JSON array of objects, typed by the table's own row type;
    a row already there (same key) takes the copied values."""
    names = ", ".join(columns)
    changed = [name for name in columns if name not in table.key]
    action = (
        "DO UPDATE SET " + ", ".join(f"{name} = excluded.{name}" for name in changed)
        if changed
        else "DO NOTHING"
    )
    return (
        f"INSERT INTO {table.name} ({names}) SELECT {names}"
        f" FROM jsonb_populate_recordset(NULL::{table.name}, ?::jsonb)"
        f" ON CONFLICT ({', '.join(table.key)}) {action}"
    )


async def _ids_given(source: Connection) -> dict[str, int]:
    """SQLite's AUTOINCREMENT high-water marks: ids it gave out once, never to be reused."""
    rows = await source.fetchall("SELECT name, seq FROM sqlite_sequence")
    return {str(name): int(seq) for name, seq in rows}


async def _continue_identity(target: Connection, table: Table, given: int) -> None:
    """The table's next generated id: after both its largest row and the largest id ever given."""
    [key] = table.key
    await target.fetchall(
        f"SELECT setval(pg_get_serial_sequence('{table.name}', '{key}'),"
        f" greatest(coalesce(max({key}), 0), ?::bigint) + 1, false) FROM {table.name}",
        (given,),
    )


async def migrate_store(
    source: Path, url: str, *, into_nonempty: bool, connect_timeout: float
) -> dict[str, int]:
    """Copy the SQLite file `source` into the PostgreSQL database at `url` (its schema made first);
    a failure names the database by its redacted URL and leaves the target as it was."""
    import asyncpg

    from bot.net.pg_url import redact_url
    from bot.store.db import Store

    async with (
        await Store.open(source) as file,
        await Store.open(url, connect_timeout=connect_timeout) as server,
        file.transaction(write=False) as reading,
        server.transaction() as writing,
    ):
        try:
            return await copy_store(reading.conn, writing.conn, into_nonempty=into_nonempty)
        except asyncpg.PostgresError as exc:
            why = redact_url(" ".join(str(exc).split()))
            raise StoreError(f"database {redact_url(url)}: copy failed, nothing was written: {why}") from exc
