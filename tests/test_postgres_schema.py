"""The PostgreSQL schema is the SQLite schema in the other dialect: same tables, columns in the same
order, nullability, defaults, unique keys, foreign keys and indexes (partial where SQLite's are).
A migration added to one folder and not the other fails here."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiosqlite
import asyncpg
import pytest

from bot.store.db import Store

# What each side has that the other does not, on purpose: SQLite's FTS5 table and its shadow
# tables are PostgreSQL's trigram indexes; the version is a pragma on SQLite, a table on PostgreSQL.
SQLITE_ONLY_TABLES = {"sqlite_sequence", "search_fts"}
POSTGRES_ONLY_TABLES = {"schema_version", "rate_buckets"}  # rate_buckets: several processes only
POSTGRES_ONLY_INDEXES = {"search_items_text", "search_items_categories"}

Schema = dict[str, Any]


def _default(value: str | None) -> str | None:
    """A column default as written, without PostgreSQL's type cast ('x'::text -> 'x')."""
    return None if value is None else re.sub(r"::[a-z ]+$", "", value)


async def _sqlite_schema(path: Path) -> Schema:
    async with aiosqlite.connect(path) as db:
        rows = await db.execute_fetchall("SELECT name, type, sql FROM sqlite_master WHERE sql IS NOT NULL")
        tables = sorted(
            name
            for name, kind, _ in rows
            if kind == "table" and not any(name.startswith(t) for t in SQLITE_ONLY_TABLES)
        )
        columns, unique, foreign = {}, {}, {}
        for table in tables:
            info = await db.execute_fetchall(f"PRAGMA table_info({table})")
            columns[table] = [
                (name, bool(notnull or pk), _default(dflt)) for _, name, _, notnull, dflt, pk in info
            ]
            keys = set()
            for _, index, _, origin, _ in await db.execute_fetchall(f"PRAGMA index_list({table})"):
                if origin == "u":
                    keys.add(tuple(r[2] for r in await db.execute_fetchall(f"PRAGMA index_info({index})")))
            unique[table] = keys
            fks = await db.execute_fetchall(f"PRAGMA foreign_key_list({table})")
            foreign[table] = {(r[3], r[2], r[4], r[6]) for r in fks}
        indexes = {}
        for name, kind, sql in rows:
            if kind == "index":
                cols = tuple(r[2] for r in await db.execute_fetchall(f"PRAGMA index_info({name})"))
                indexes[name] = (cols, " WHERE " in sql.upper())
        views = sorted(name for name, kind, _ in rows if kind == "view")
    return {"tables": tables, "columns": columns, "unique": unique, "foreign": foreign,
            "indexes": indexes, "views": views}  # fmt: skip


async def _postgres_schema(conn: asyncpg.Connection) -> Schema:
    tables = sorted(
        r[0]
        for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        if r[0] not in POSTGRES_ONLY_TABLES
    )
    columns = {}
    for table in tables:
        info = await conn.fetch(
            "SELECT column_name, is_nullable, column_default FROM information_schema.columns"
            " WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position",
            table,
        )
        columns[table] = [(r[0], r[1] == "NO", _default(r[2])) for r in info]
    constraints = await conn.fetch(
        "SELECT c.conrelid::regclass::text AS tab, c.contype::text, c.confdeltype::text,"
        " c.confrelid::regclass::text AS target,"
        " array(SELECT attname FROM unnest(c.conkey) WITH ORDINALITY k(n, o)"
        "       JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.o) AS cols,"
        " array(SELECT attname FROM unnest(c.confkey) WITH ORDINALITY k(n, o)"
        "       JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.o) AS refs"
        " FROM pg_constraint c JOIN pg_namespace s ON s.oid = c.connamespace"
        " WHERE s.nspname = 'public' AND c.contype IN ('u', 'f')"
    )
    actions = {"a": "NO ACTION", "c": "CASCADE"}
    unique: dict[str, set[tuple[str, ...]]] = {t: set() for t in tables}
    foreign: dict[str, set[tuple[str, str, str, str]]] = {t: set() for t in tables}
    for c in constraints:
        if c["contype"] == "u":
            unique[c["tab"]].add(tuple(c["cols"]))
        else:
            (col,), (ref,) = c["cols"], c["refs"]
            foreign[c["tab"]].add((col, c["target"], ref, actions[c["confdeltype"]]))
    indexes = {}
    rows = await conn.fetch(
        "SELECT i.indexrelid::regclass::text AS name, i.indpred IS NOT NULL AS partial,"
        " array(SELECT attname FROM unnest(i.indkey) WITH ORDINALITY k(n, o)"
        "       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n ORDER BY k.o) AS cols"
        " FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid JOIN pg_namespace s ON s.oid = t.relnamespace"
        " WHERE s.nspname = 'public'"
        "   AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)"
    )
    for r in rows:
        indexes[r["name"]] = (tuple(r["cols"]), r["partial"])
    views = sorted(
        r[0] for r in await conn.fetch("SELECT viewname FROM pg_views WHERE schemaname = 'public'")
    )
    return {"tables": tables, "columns": columns, "unique": unique, "foreign": foreign,
            "indexes": indexes, "views": views}  # fmt: skip


@pytest.fixture
async def schemas(tmp_path: Path, postgres_url: str) -> AsyncIterator[tuple[Schema, Schema]]:
    async with await Store.open(tmp_path / "bot.db"):
        pass
    conn = await asyncpg.connect(postgres_url)
    try:
        yield await _sqlite_schema(tmp_path / "bot.db"), await _postgres_schema(conn)
    finally:
        await conn.close()


@pytest.mark.parametrize("part", ["tables", "views", "columns", "unique", "foreign", "indexes"])
async def test_both_databases_have_the_same_schema(schemas: tuple[Schema, Schema], part: str) -> None:
    sqlite, postgres = schemas
    assert sqlite[part]
    if part == "indexes":
        assert set(postgres[part]) >= POSTGRES_ONLY_INDEXES
        postgres[part] = {k: v for k, v in postgres[part].items() if k not in POSTGRES_ONLY_INDEXES}
    assert postgres[part] == sqlite[part]
