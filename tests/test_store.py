"""Store basics: opening and migrating a real SQLite file, and recording what sources produce."""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg
import pytest
from app_helpers import latest_digest
from clocks import START, StepClock
from sample_digests import incoming, make_digest

from bot.core.errors import DigestError
from bot.core.model import Digest
from bot.store.db import Store, StoreError
from bot.store.deliveries import NewDelivery, StoredPayload
from bot.store.schema import load_migrations, split_statements

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def clock() -> StepClock:
    return StepClock()


async def test_open_applies_migrations_once_and_sets_pragmas(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    async with await Store.open(path):
        pass
    async with await Store.open(path) as store, store.transaction(write=False) as tx:
        assert tx is not None
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == load_migrations()[-1].version
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {r[0] for r in raw.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"digests", "subscriptions", "deliveries", "payloads"} <= tables


@pytest.mark.both_backends
async def test_foreign_keys_are_enforced(store: Store) -> None:
    orphan = NewDelivery(
        999, "d1", 1, 1, 1, "telegram", "1", None, "private", StoredPayload.of({"text": "x"}), START
    )
    with pytest.raises((sqlite3.IntegrityError, asyncpg.ForeignKeyViolationError), match=r"(?i)foreign key"):
        async with store.transaction() as tx:
            await tx.deliveries.add([orphan], START)


@pytest.mark.both_backends
async def test_a_failed_transaction_is_rolled_back(store: Store) -> None:
    with pytest.raises(RuntimeError):
        async with store.transaction() as tx:
            await tx.digests.record(incoming(make_digest()), "folder", START)
            raise RuntimeError("boom")
    assert await latest_digest(store) is None
    assert (await store.record_incoming(incoming(make_digest()))).status == "new"


async def test_schema_from_the_future_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    with sqlite3.connect(path) as raw:
        raw.execute("PRAGMA user_version = 999")
    with pytest.raises(StoreError, match="schema version 999 is newer"):
        await Store.open(path)


async def test_a_file_that_is_not_a_database_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_bytes(b"this is not sqlite, just some text that is long enough" * 40)
    with pytest.raises(StoreError, match=r"notes\.db"):
        await Store.open(path)


def test_split_statements_handles_semicolons_in_strings_and_comments() -> None:
    sql = (
        "CREATE TABLE a (x TEXT DEFAULT ';');\n"
        "-- a comment; with a semicolon\n"
        "INSERT INTO a VALUES ('b;c');\n"
    )
    assert split_statements(sql) == [
        "CREATE TABLE a (x TEXT DEFAULT ';');",
        "-- a comment; with a semicolon\nINSERT INTO a VALUES ('b;c');",
    ]
    with pytest.raises(StoreError, match="unterminated"):
        split_statements("CREATE TABLE b (x)")


def test_packaged_migrations_are_numbered_from_one() -> None:
    migrations = load_migrations()
    versions = [m.version for m in migrations]
    assert versions == sorted(set(versions))
    assert migrations[0].name == "001_initial.sql"
    assert "004_edges.sql" in [m.name for m in migrations]


@pytest.mark.both_backends
async def test_new_digest_is_stored_and_planned(store: Store) -> None:
    digest = make_digest()
    result = await store.record_incoming(incoming(digest))
    assert result.status == "new" and result.deliverable and result.seq == 1
    assert await latest_digest(store) == digest
    async with store.transaction(write=False) as tx:
        assert await tx.digests.to_plan() == [1]


@pytest.mark.both_backends
async def test_history_is_stored_for_latest_but_never_planned_or_scheduled(store: Store) -> None:
    assert not await store.source_known("folder")
    old = make_digest("2025.05.31.20")
    result = await store.record_incoming(replace(incoming(old), history=True))
    assert result.status == "history" and not result.deliverable
    assert await store.source_known("folder")
    assert await latest_digest(store) == old
    async with store.transaction(write=False) as tx:
        assert await tx.digests.to_plan() == []
        assert await tx.digests.scheduled_after(1, 0, 10, 20) == []
    news = await store.record_incoming(incoming(make_digest(), key="/d/b.md", content_hash="h2"))
    assert news.status == "new" and news.deliverable


@pytest.mark.both_backends
async def test_same_key_and_hash_is_a_duplicate(store: Store) -> None:
    await store.record_incoming(incoming(make_digest()))
    again = await store.record_incoming(incoming(make_digest()))
    assert again.status == "duplicate" and again.seq is None and not again.deliverable


@pytest.mark.both_backends
async def test_same_id_and_hash_from_another_key_is_a_duplicate(store: Store) -> None:
    await store.record_incoming(incoming(make_digest(), key="/d/a.md"))
    copy = await store.record_incoming(incoming(make_digest(), key="/d/copy-of-a.md"))
    assert copy.status == "duplicate"


@pytest.mark.both_backends
async def test_changed_digest_is_recorded_but_not_planned(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    await store.record_incoming(incoming(make_digest(), content_hash="h1"))
    edited = make_digest(extra="（更正）")
    with caplog.at_level(logging.WARNING):
        result = await store.record_incoming(incoming(edited, content_hash="h2"))
    assert result.status == "changed" and not result.deliverable
    assert "changed" in caplog.text
    assert await latest_digest(store) == edited
    async with store.transaction(write=False) as tx:
        assert await tx.digests.to_plan() == [1]
        assert await tx.digests.scheduled_after(1, 0, 2, 10) == [(1, 2)]  # sent as its latest version
    assert await store.load_digests([1, 2, 99]) == {1: make_digest(), 2: edited}


@pytest.mark.both_backends
async def test_broken_input_is_stored_once_with_file_line_and_reason(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    error = DigestError("/d/bad.md", "front matter: date is not a date", line=3)
    with caplog.at_level(logging.WARNING):
        first = await store.record_incoming(incoming(error, key="/d/bad.md", content_hash="bad1"))
        second = await store.record_incoming(incoming(error, key="/d/bad.md", content_hash="bad1"))
    assert first.status == "error" and first.error is error and first.seq == 1
    assert second.status == "duplicate"
    assert caplog.text.count("/d/bad.md:3: front matter: date is not a date") == 1
    async with store.transaction(write=False) as tx:
        assert await tx.digests.to_plan() == []
    assert await latest_digest(store) is None


@pytest.mark.both_backends
async def test_fixed_file_after_an_error_is_new(store: Store) -> None:
    await store.record_incoming(incoming(DigestError("/d/a.md", "no title"), content_hash="v1"))
    fixed = await store.record_incoming(incoming(make_digest(), content_hash="v2"))
    assert fixed.status == "new"


@pytest.mark.both_backends
async def test_digest_the_codec_cannot_store_becomes_an_error(store: Store) -> None:
    odd = Digest("odd", "t", datetime(2025, 1, 1, tzinfo=UTC), metadata={"x": {1, 2}})
    result = await store.record_incoming(incoming(odd))
    assert result.status == "error"
    assert result.error is not None and "metadata.x" in result.error.reason


@pytest.mark.both_backends
async def test_naive_datetimes_are_refused_by_the_store(store: Store) -> None:
    with pytest.raises(ValueError, match="naive"):
        await store.claim_due(datetime(2025, 1, 1), 1, ["telegram"])


async def test_a_database_in_a_missing_folder_is_a_store_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match=r"missing/bot\.db: cannot open the database"):
        await Store.open(tmp_path / "missing" / "bot.db")
