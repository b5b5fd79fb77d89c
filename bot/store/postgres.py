"""The PostgreSQL side of the `Connection` interface (connection.py), over one asyncpg connection.

Store SQL is written once with `?` placeholders; asyncpg wants `$1..$n`, so each statement is
numbered once and the translation cached (the store runs a few dozen distinct statements).
Times are ISO-8601 TEXT on both databases: the same representation, so the same ORDER BY and
comparisons hold on either side.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any

import asyncpg

from bot.store.connection import Dialect, Params, Row

TRANSLATIONS_KEPT = 1024
CLOSE_TIMEOUT = 5.0


@lru_cache(maxsize=TRANSLATIONS_KEPT)
def numbered(sql: str) -> str:
    """`sql` with each `?` placeholder replaced by $1, $2, ... in order; a `?` inside a '...' string
    literal, a "..." identifier or a -- comment is left alone (a doubled quote stays inside). Store
    SQL uses neither $$-quoting nor jsonb's `?` operators (jsonb_exists() says the same)."""
    out: list[str] = []
    number = 0
    quote = ""  # the quote character we are inside, or "" outside any
    i = 0
    while i < len(sql):
        char = sql[i]
        if quote:
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif sql.startswith("--", i):
            end = sql.find("\n", i)
            end = len(sql) if end < 0 else end
            out.append(sql[i:end])
            i = end
            continue
        elif char == "?":
            number += 1
            out.append(f"${number}")
            i += 1
            continue
        out.append(char)
        i += 1
    return "".join(out)


def rowcount(status: str | None) -> int:
    """Rows a statement changed, from its command tag: "UPDATE 3", "INSERT 0 5", "DELETE 2" (0 for
    a tag without a count, e.g. "CREATE TABLE")."""
    last = (status or "").rpartition(" ")[2]
    return int(last) if last.isdigit() else 0


def _positional(params: Params) -> Sequence[Any]:
    """asyncpg takes positional arguments only: `:name` placeholders are SQLite-only SQL."""
    if isinstance(params, Mapping):
        raise TypeError("named SQL parameters are SQLite-only; write the statement with `?`")
    return params


class PostgresConnection:
    """Connection over one asyncpg connection; transactions are explicit BEGIN/COMMIT, as on SQLite."""

    dialect: Dialect = "postgres"

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.raw = conn

    async def execute(self, sql: str, params: Params = ()) -> int:
        return rowcount(await self.raw.execute(numbered(sql), *_positional(params)))

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> int:
        """One prepared statement, one round trip per row: asyncpg's own executemany gives no counts."""
        statement = await self.raw.prepare(numbered(sql))
        total = 0
        for row in rows:
            await statement.fetch(*row)
            total += rowcount(statement.get_statusmsg())
        return total

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        return list(await self.raw.fetch(numbered(sql), *_positional(params)))

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        row: Row | None = await self.raw.fetchrow(numbered(sql), *_positional(params))
        return row

    async def begin(self, *, write: bool) -> None:
        """BEGIN either way: PostgreSQL locks rows, not the database, so a writer takes nothing
        up front (SQLite's BEGIN IMMEDIATE has no counterpart, and needs none)."""
        await self.raw.execute("BEGIN")

    async def commit(self) -> None:
        await self.raw.execute("COMMIT")

    async def rollback(self) -> None:
        if self.raw.is_in_transaction():
            await self.raw.execute("ROLLBACK")

    async def close(self) -> None:
        """Closing says goodbye to the server; one that no longer answers is not waited for."""
        try:
            await asyncio.wait_for(self.raw.close(), CLOSE_TIMEOUT)
        except (TimeoutError, OSError, asyncpg.InterfaceError):
            self.raw.terminate()
