"""The one way rows enter the deliveries ledger, so the tallies kept beside it stay right.

Three things follow every insert: delivery_counts (rows per digest and state), sent_per_hour (rows
inserted as `sent`) and each payload's `used_at` (when a row using it was last queued; retention
keeps the body that long). PostgreSQL does them in its statement triggers (migrations/postgres).
SQLite's triggers run once per row (1.5 µs of a fan-out's 17 µs a row), so since migration 016 it
has none on INSERT: here, in the same transaction, three statements read back the rows the insert
added, which are those above the largest id before it (AUTOINCREMENT ids only grow, and the write
transaction is the file's only writer), and add them up per statement.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

from bot.store.connection import Connection

TALLY_SQLITE = (
    """INSERT INTO delivery_counts (digest_seq, state, count)
SELECT coalesce(digest_seq, 0), state, count(*) FROM deliveries WHERE id > ? GROUP BY 1, 2
ON CONFLICT (digest_seq, state) DO UPDATE SET count = count + excluded.count""",
    """INSERT INTO sent_per_hour (hour, count)
SELECT substr(sent_at, 1, 13), count(*) FROM deliveries
WHERE id > ? AND state = 'sent' AND sent_at IS NOT NULL GROUP BY 1
ON CONFLICT (hour) DO UPDATE SET count = count + excluded.count""",
    """UPDATE payloads SET used_at = n.at
FROM (SELECT payload_id, max(created_at) AS at FROM deliveries WHERE id > ? GROUP BY payload_id) AS n
WHERE payloads.id = n.payload_id AND coalesce(payloads.used_at, '') < n.at""",
)


async def insert_deliveries(conn: Connection, sql: str, params: Sequence[Any] = ()) -> int:
    """Run one INSERT INTO deliveries (VALUES or SELECT); returns the rows it added."""
    return await _tallied(conn, lambda: conn.execute(sql, params))


async def insert_deliveries_many(conn: Connection, sql: str, rows: Iterable[Sequence[Any]]) -> int:
    """Run one INSERT INTO deliveries per parameter row; returns the rows added in all."""
    return await _tallied(conn, lambda: conn.executemany(sql, rows))


async def _tallied(conn: Connection, insert: Callable[[], Awaitable[int]]) -> int:
    if conn.dialect != "sqlite":
        return await insert()  # the statement triggers count
    row = await conn.fetchone("SELECT coalesce(max(id), 0) FROM deliveries")
    last = int(row[0]) if row is not None else 0
    added = await insert()
    if added:
        for sql in TALLY_SQLITE:
            await conn.execute(sql, (last,))
    return added
