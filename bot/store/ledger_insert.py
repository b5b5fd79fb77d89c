"""The one way rows enter the deliveries ledger, so the counters kept beside it stay right.

delivery_counts (rows per digest and state) and sent_per_hour (rows that became `sent`, per hour)
follow every insert. PostgreSQL adds them up in its statement triggers (migrations/postgres).
SQLite's triggers run once per row (about 1 µs of a fan-out's 15 µs a row), so since migration
015 it has none on INSERT: here, in the same transaction, each statement's rows are counted once.
A statement that writes one digest and state into every row (a fan-out batch, an announcement)
says so and is counted by the number of rows it added; any other has its rows read back, the ones
above the largest id before it (AUTOINCREMENT ids only grow, and the write transaction is the
file's only writer).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

from bot.store.connection import Connection

_ADD = "ON CONFLICT (digest_seq, state) DO UPDATE SET count = count + excluded.count"
TALLY_SQLITE = (
    f"""INSERT INTO delivery_counts (digest_seq, state, count)
SELECT coalesce(digest_seq, 0), state, count(*) FROM deliveries WHERE id > ? GROUP BY 1, 2
{_ADD}""",
    """INSERT INTO sent_per_hour (hour, count)
SELECT substr(sent_at, 1, 13), count(*) FROM deliveries
WHERE id > ? AND state = 'sent' AND sent_at IS NOT NULL GROUP BY 1
ON CONFLICT (hour) DO UPDATE SET count = count + excluded.count""",
)
Each = tuple[int | None, str]  # the (digest seq, state) every row of a statement has


async def insert_deliveries(
    conn: Connection, sql: str, params: Sequence[Any] = (), *, each: Each | None = None
) -> int:
    """Run one INSERT INTO deliveries (VALUES or SELECT); returns the rows it added. `each`: the
    digest seq and state the statement writes into every row, when it fixes both (not `sent`)."""
    if each is not None and each[1] == "sent":
        raise ValueError("insert_deliveries: rows inserted as sent are counted per hour: leave out `each`")
    return await _counted(conn, lambda: conn.execute(sql, params), each)


async def insert_deliveries_many(conn: Connection, sql: str, rows: Iterable[Sequence[Any]]) -> int:
    """Run one INSERT INTO deliveries per parameter row; returns the rows added in all."""
    return await _counted(conn, lambda: conn.executemany(sql, rows), None)


async def _counted(conn: Connection, insert: Callable[[], Awaitable[int]], each: Each | None) -> int:
    if conn.dialect != "sqlite":
        return await insert()  # the statement triggers count
    if each is not None:
        added = await insert()
        if added:
            await conn.execute(
                f"INSERT INTO delivery_counts (digest_seq, state, count) VALUES (?, ?, ?) {_ADD}",
                (each[0] or 0, each[1], added),
            )
        return added
    row = await conn.fetchone("SELECT coalesce(max(id), 0) FROM deliveries")
    last = int(row[0]) if row is not None else 0
    added = await insert()
    if added:
        for sql in TALLY_SQLITE:
            await conn.execute(sql, (last,))
    return added
