"""The PostgreSQL side of the store's Connection: placeholders, counts, transactions, migrations and
connecting (waiting for a server that is not up yet, refusing a wrong password at once)."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import aiosqlite
import asyncpg
import pytest
from clocks import AutoClock
from sample_digests import incoming, make_digest

from bot.core.model import Span
from bot.net.pg_url import redact_url
from bot.store.db import Store
from bot.store.errors import StoreError
from bot.store.pg_connect import connect
from bot.store.pg_schema import load_postgres_migrations, migrate_postgres
from bot.store.postgres import PostgresConnection, numbered, rowcount

if TYPE_CHECKING:
    from pg_cluster import PostgresServer


LATEST = load_postgres_migrations()[-1].version


@pytest.fixture
async def conn(postgres_url: str) -> AsyncIterator[PostgresConnection]:
    opened = PostgresConnection(await asyncpg.connect(postgres_url))
    yield opened
    await opened.close()


async def _version(conn: PostgresConnection) -> int:
    row = await conn.fetchone("SELECT version FROM schema_version")
    assert row is not None
    return int(row["version"])


def test_placeholders_are_numbered_outside_literals_identifiers_and_comments() -> None:
    sql = "SELECT ?, '?', \"a?\", 'it''s ?', ? -- why?\nFROM t WHERE x = ?"
    assert numbered(sql) == "SELECT $1, '?', \"a?\", 'it''s ?', $2 -- why?\nFROM t WHERE x = $3"
    assert numbered(sql) is numbered(sql)  # translated once, then cached


def test_rowcount_comes_from_the_command_tag() -> None:
    assert [rowcount(tag) for tag in ("UPDATE 3", "INSERT 0 5", "DELETE 2", "CREATE TABLE", None)] == [
        3, 5, 2, 0, 0,
    ]  # fmt: skip


async def test_question_marks_in_literals_reach_the_server_untouched(conn: PostgresConnection) -> None:
    row = await conn.fetchone("SELECT ?::text AS \"why?\", '?' AS literal, ?::int + 1 AS n", ("a", 2))
    assert row is not None
    assert (row["why?"], row["literal"], row["n"]) == ("a", "?", 3)
    assert row[0] == "a" and len(row) == 3


async def test_rowcounts_of_insert_update_delete_and_executemany(conn: PostgresConnection) -> None:
    added = await conn.executemany(
        "INSERT INTO payloads (hash, body) VALUES (?, ?)", [(f"h{n}", f"body {n}") for n in range(5)]
    )
    assert added == 5
    assert await conn.execute("UPDATE payloads SET body = ? WHERE hash IN (?, ?)", ("", "h1", "h2")) == 2
    assert await conn.execute("INSERT INTO payloads (hash, body) SELECT hash || 'x', body FROM payloads") == 5
    assert await conn.executemany("DELETE FROM payloads WHERE hash LIKE ?", [("h1%",), ("h9%",)]) == 2
    rows = await conn.fetchall("SELECT hash FROM payloads WHERE body = ? ORDER BY hash", ("",))
    assert [r["hash"] for r in rows] == ["h2", "h2x"]
    assert await conn.fetchone("SELECT 1 FROM payloads WHERE hash = ?", ("nothing",)) is None


async def test_commit_keeps_and_rollback_undoes(conn: PostgresConnection) -> None:
    await conn.rollback()  # no transaction open: nothing happens
    await conn.begin(write=True)
    await conn.execute("INSERT INTO payloads (hash, body) VALUES (?, ?)", ("kept", "b"))
    await conn.commit()
    await conn.begin(write=True)
    await conn.execute("INSERT INTO payloads (hash, body) VALUES (?, ?)", ("undone", "b"))
    with pytest.raises(asyncpg.UniqueViolationError):
        await conn.execute("INSERT INTO payloads (hash, body) VALUES (?, ?)", ("kept", "b"))
    await conn.rollback()  # after a failed statement, as the store's transaction() does
    await conn.rollback()
    rows = await conn.fetchall("SELECT hash FROM payloads")
    assert [r["hash"] for r in rows] == ["kept"]


async def test_migrating_twice_changes_nothing_the_second_time(
    empty_postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    conn = PostgresConnection(await asyncpg.connect(empty_postgres_url))
    try:
        with caplog.at_level(logging.INFO, logger="bot.store.pg_schema"):
            await migrate_postgres(conn, "db")
            await migrate_postgres(conn, "db")
        assert await _version(conn) == LATEST
        assert [r.getMessage() for r in caplog.records] == [f"database db migrated from schema 0 to {LATEST}"]
        assert not conn.raw.is_in_transaction()
    finally:
        await conn.close()


async def test_processes_starting_together_migrate_once(
    empty_postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    conns = [PostgresConnection(await asyncpg.connect(empty_postgres_url)) for _ in range(3)]
    try:
        with caplog.at_level(logging.INFO, logger="bot.store.pg_schema"):
            await asyncio.gather(*(migrate_postgres(c, "db") for c in conns))
        assert len([r for r in caplog.records if "migrated" in r.getMessage()]) == 1
        rows = await conns[0].fetchall("SELECT version FROM schema_version")
        assert [r["version"] for r in rows] == [LATEST]
    finally:
        for c in conns:
            await c.close()


async def test_a_newer_schema_is_refused(conn: PostgresConnection) -> None:
    await conn.execute("UPDATE schema_version SET version = ?", (LATEST + 1,))
    with pytest.raises(StoreError, match=f"db: schema version {LATEST + 1} is newer than this program knows"):
        await migrate_postgres(conn, "db")


async def _delivery_counts(conn: PostgresConnection) -> dict[tuple[int, str], int]:
    rows = await conn.fetchall("SELECT digest_seq, state, count FROM delivery_counts")
    return {(r["digest_seq"], r["state"]): r["count"] for r in rows}


async def test_dashboard_counters_follow_inserts_state_changes_and_deletes(conn: PostgresConnection) -> None:
    await conn.execute("INSERT INTO payloads (hash, body) VALUES ('h', 'b')")
    columns = (
        "unit, part, parts, digest_seq, platform, chat_id, kind, payload_id, state, next_attempt_at, due_at"
    )
    await conn.executemany(
        f"INSERT INTO deliveries ({columns}, created_at, updated_at, sent_at)"
        " VALUES (?, 1, 1, NULL, 'telegram', ?, 'private', 1, ?, 't', 't', 't', 't', ?)",
        [
            ("a1", "c1", "pending", None),
            ("a1", "c2", "pending", None),
            ("a1", "c3", "sent", "2026-01-01T10:05"),
        ],
    )
    assert await _delivery_counts(conn) == {(0, "pending"): 2, (0, "sent"): 1}
    changed = await conn.execute(
        "UPDATE deliveries SET state = 'sent', sent_at = '2026-01-01T11:00' WHERE state = 'pending'"
    )
    assert changed == 2
    await conn.execute("UPDATE deliveries SET attempts = attempts + 1")  # no state change: no count change
    assert await _delivery_counts(conn) == {(0, "sent"): 3}
    hours = await conn.fetchall("SELECT hour, count FROM sent_per_hour ORDER BY hour")
    assert [(r["hour"], r["count"]) for r in hours] == [("2026-01-01T10", 1), ("2026-01-01T11", 2)]
    await conn.execute("DELETE FROM deliveries WHERE chat_id != 'c1'")
    assert await _delivery_counts(conn) == {(0, "sent"): 1}
    await conn.execute("DELETE FROM deliveries")
    assert await _delivery_counts(conn) == {}


async def test_search_items_match_what_sqlite_stores(conn: PostgresConnection, tmp_path: Path) -> None:
    """The same digest row gives the same search rows on both databases (the view and triggers agree)."""
    digest = make_digest(items=2)
    first = replace(
        digest.items[0],
        summary=((Span("one "), Span("two", bold=True)), (Span("three"),)),
        categories=("tech", "jobs"),
    )
    digest = replace(digest, items=(first, *digest.items[1:]))
    async with await Store.open(tmp_path / "bot.db") as store:
        await store.record_incoming(incoming(digest))
    async with aiosqlite.connect(tmp_path / "bot.db") as lite:
        names = [r[1] for r in await lite.execute_fetchall("PRAGMA table_info(digests)")]
        (row,) = await lite.execute_fetchall(f"SELECT {', '.join(names)} FROM digests")
        searched = "digest_seq, number, published, newest, categories, url, title, author, summary"
        expected = await lite.execute_fetchall(f"SELECT {searched} FROM search_items ORDER BY id")
    marks = ", ".join("?" for _ in names)
    await conn.execute(f"INSERT INTO digests ({', '.join(names)}) VALUES ({marks})", row)
    got = await conn.fetchall(f"SELECT {searched} FROM search_items ORDER BY id")
    assert [tuple(r) for r in got] == [tuple(r) for r in expected]
    assert "one two\nthree" in {r["summary"] for r in got}


async def test_search_marks_only_the_newest_version(conn: PostgresConnection) -> None:
    model = '{"date": {"at": "2026-01-01T08:00:00+08:00"}, "items": [{"number": 1, "title": "x"}]}'
    add = (
        "INSERT INTO digests (seq, digest_id, source, key, content_hash, status, model, stored_at,"
        " plan_state, scope) VALUES (?, 'd', 's', 'k', ?, 'ok', ?, 't', 'done', ?)"
    )
    await conn.executemany(add, [(1, "h1", model, "a"), (2, "h2", model, "a"), (3, "h3", model, "b")])

    async def newest() -> list[tuple[int, int]]:
        rows = await conn.fetchall("SELECT digest_seq, newest FROM search_items ORDER BY digest_seq")
        return [(r[0], r[1]) for r in rows]

    assert await newest() == [(1, 0), (2, 1), (3, 1)]
    assert (await conn.fetchall("SELECT published FROM search_items"))[0][0] == 1767225600
    await conn.execute("UPDATE digests SET scope = 'a' WHERE seq = 3")
    assert await newest() == [(1, 0), (2, 0), (3, 1)]
    await conn.execute("DELETE FROM digests WHERE seq = 3")
    assert await newest() == [(1, 0), (2, 1)]


# Connecting.


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    finally:
        writer.close()


class LateServer:
    """A port that refuses connections (bound, not listening) until the client has slept `after`
    times; from then on it forwards to the real server."""

    def __init__(self, target: str, after: int) -> None:
        parts = urlsplit(target)
        self.host, self.target_port = parts.hostname or "127.0.0.1", parts.port or 5432
        self.after = after
        self.clock = AutoClock()
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.url = parts._replace(netloc=f"{parts.username}:{parts.password}@127.0.0.1:{self.port}").geturl()
        self.server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        return int(self.socket.getsockname()[1])

    async def _forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(self.host, self.target_port)
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))

    async def sleep(self, seconds: float) -> None:
        await self.clock.sleep(seconds)
        self.after -= 1
        if self.after == 0:
            self.server = await asyncio.start_server(self._forward, sock=self.socket)

    def close(self) -> None:
        if self.server is not None:
            self.server.close()
        self.socket.close()


@pytest.fixture
def late_server(postgres_url: str) -> Iterator[LateServer]:
    late = LateServer(postgres_url, after=3)
    yield late
    late.close()


async def test_a_server_that_comes_up_within_the_timeout_is_waited_for(
    late_server: LateServer, caplog: pytest.LogCaptureFixture
) -> None:
    late = late_server
    with caplog.at_level(logging.INFO, logger="bot.store.pg_connect"):
        conn = await connect(late.url, timeout=30, monotonic=late.clock.monotonic, sleep=late.sleep)
    try:
        assert await conn.fetchone("SELECT 1") is not None
    finally:
        await conn.close()
    lines = [r.getMessage() for r in caplog.records]
    shown = redact_url(late.url)
    assert len(lines) == 2
    assert lines[0].startswith(f"database {shown} unreachable (") and "retrying for up to 30 s" in lines[0]
    assert lines[1] == f"database {shown} reachable again"
    assert late.clock.monotonic() == 0.5 + 1 + 2  # backoff doubles


async def test_a_server_that_never_comes_fails_after_the_timeout_with_one_line(
    late_server: LateServer, caplog: pytest.LogCaptureFixture
) -> None:
    url = late_server.url  # never listens: the test's clock is not the one that would open it
    clock = AutoClock()
    with caplog.at_level(logging.INFO, logger="bot.store.pg_connect"), pytest.raises(StoreError) as failed:
        await connect(url, timeout=20, monotonic=clock.monotonic, sleep=clock.sleep)
    message = str(failed.value)
    assert message.startswith(f"database {redact_url(url)}: unreachable for 20 s (")
    assert "\n" not in message
    assert len(caplog.records) == 1
    assert clock.monotonic() == 20  # 0.5 + 1 + 2 + 4 + 5 + 5, then 2.5 to a last try at the deadline


async def test_a_wrong_password_fails_at_once_without_the_password(postgres_url: str) -> None:
    parts = urlsplit(postgres_url)
    wrong = "not-the-Passw0rd"
    url = parts._replace(netloc=f"{parts.username}:{wrong}@{parts.hostname}:{parts.port}").geturl()
    clock = AutoClock()
    with pytest.raises(StoreError) as failed:
        await connect(url, timeout=30, monotonic=clock.monotonic, sleep=clock.sleep)
    message = str(failed.value)
    assert "password authentication failed" in message
    assert wrong not in message and "\n" not in message
    assert failed.value.__cause__ is None and failed.value.__suppress_context__
    assert clock.monotonic() == 0  # no retry


async def test_a_role_without_connect_permission_fails_at_once(postgres_server: PostgresServer) -> None:
    role, database = f"digestbot_no_access_{os.getpid()}", f"digestbot_closed_{os.getpid()}"
    password = "role-Passw0rd"
    server = await asyncpg.connect(postgres_server.url)
    try:
        await server.execute(f"DROP DATABASE IF EXISTS {database}")
        await server.execute(f"DROP ROLE IF EXISTS {role}")
        await server.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
        await server.execute(f"CREATE DATABASE {database}")
        await server.execute(f"REVOKE CONNECT ON DATABASE {database} FROM PUBLIC")
        parts = urlsplit(postgres_server.database_url(database))
        url = parts._replace(netloc=f"{role}:{password}@{parts.hostname}:{parts.port}").geturl()
        with pytest.raises(StoreError) as failed:
            await connect(url, timeout=30, sleep=AutoClock().sleep)
        assert str(failed.value) == (
            f'database {redact_url(url)}: permission denied for database "{database}"'
            " DETAIL: User does not have CONNECT privilege."
        )
    finally:
        await server.execute(f"DROP DATABASE IF EXISTS {database}")
        await server.execute(f"DROP ROLE IF EXISTS {role}")
        await server.close()


async def test_an_unknown_database_and_a_bad_url_fail_at_once(postgres_server: PostgresServer) -> None:
    clock = AutoClock()
    with pytest.raises(StoreError, match=r'database "no_such_db" does not exist'):
        await connect(postgres_server.database_url("no_such_db"), timeout=30, sleep=clock.sleep)
    with pytest.raises(StoreError, match=r"^database postgresql://u:\*\*\*@h:port/db: "):
        await connect("postgresql://u:secret@h:port/db", timeout=30, sleep=clock.sleep)
    assert clock.monotonic() == 0


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://bot:s3cr%40t@db:5432/digest", "postgresql://bot:***@db:5432/digest"),
        ("postgres://bot:p@ss/word@db/digest", "postgres://bot:***@db/digest"),
        ("postgresql://bot@db/digest", "postgresql://bot@db/digest"),
        (
            "failed: postgresql://a:b@h/d and postgres://c:d@h/e",
            "failed: postgresql://a:***@h/d and postgres://c:***@h/e",
        ),
        ("postgresql://bob:s3 cret@localhost/db", "postgresql://bob:***@localhost/db"),
        (
            "postgresql://bob@localhost:1/db?sslmode=require&password=s3cret",
            "postgresql://bob@localhost:1/db?sslmode=require&password=***",
        ),
    ],
)
def test_redact_url_hides_only_the_password(url: str, shown: str) -> None:
    assert redact_url(url) == shown
    assert not re.search(r":(s3cr|p@ss|b@|d@)", redact_url(url))
