"""The one connection interface every store module writes its SQL against, and its SQLite side.

Two databases sit behind it (SQLite through aiosqlite, PostgreSQL through asyncpg, see postgres.py).
SQL is written with `?` placeholders; the PostgreSQL side numbers them. Where the two dialects
differ, the statement is picked by `conn.dialect` at the place it is used, so each difference
stays visible next to the query it changes (no ORM between the claim queries and the database).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Literal, Protocol

import aiosqlite

Dialect = Literal["sqlite", "postgres"]
Params = Sequence[Any] | Mapping[str, Any]  # `?` placeholders by position, or `:name` ones by name


class Row(Protocol):
    """A result row: by position or by column name (sqlite3.Row and asyncpg.Record both are)."""

    def __getitem__(self, key: int | str, /) -> Any: ...

    def __len__(self) -> int: ...

    def __iter__(self) -> Iterator[Any]: ...


class Connection(Protocol):
    """What the repositories need from a database connection; the caller owns the transaction."""

    @property
    def dialect(self) -> Dialect: ...

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement; the number of rows it changed."""
        ...

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> int:
        """Run one statement per parameter row; the total number of rows changed."""
        ...

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]: ...

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None: ...

    async def begin(self, *, write: bool) -> None:
        """Open a transaction; `write` takes the write lock at once (no upgrade deadlock later)."""
        ...

    async def commit(self) -> None: ...

    async def rollback(self) -> None:
        """Undo the open transaction; a no-op without one."""
        ...

    async def close(self) -> None: ...


class SqliteConnection:
    """Connection over one aiosqlite connection in autocommit mode (transactions are explicit)."""

    dialect: Dialect = "sqlite"

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self.raw = conn

    async def execute(self, sql: str, params: Params = ()) -> int:
        cursor = await self.raw.execute(sql, params)
        return int(cursor.rowcount)

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> int:
        cursor = await self.raw.executemany(sql, rows)
        return int(cursor.rowcount)

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        return list(await self.raw.execute_fetchall(sql, params))

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        """The first row; for statements that give one (a lookup by key, an INSERT ... RETURNING)."""
        rows = list(await self.raw.execute_fetchall(sql, params))
        return rows[0] if rows else None

    async def begin(self, *, write: bool) -> None:
        await self.raw.execute("BEGIN IMMEDIATE" if write else "BEGIN")

    async def commit(self) -> None:
        await self.raw.commit()

    async def rollback(self) -> None:
        await self.raw.rollback()

    async def close(self) -> None:
        await self.raw.close()
