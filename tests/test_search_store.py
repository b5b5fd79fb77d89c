"""The search index: Chinese and English, newest first, filters, versions, short words, hostile input,
retention and the migration's backfill, on real database files."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from clocks import ManualClock
from search_helpers import ITEMS, archive_digest, days_ago, store_digest

from bot.core.search_query import MAX_QUERY_CHARS, MAX_WORDS, QueryError, parse_query
from bot.delivery.config import RetentionConfig
from bot.delivery.retention import Pruner
from bot.sources.base import Incoming
from bot.store.db import Store
from bot.store.digests import encode_digest
from bot.store.schema import load_migrations, split_statements
from bot.store.search import fts_match

pytestmark = pytest.mark.both_backends


async def found(
    store: Store, text: str, categories: frozenset[str] = frozenset(), **kwargs: int
) -> list[str]:
    page = await store.search(parse_query(text), categories, **kwargs)
    return [f"{hit.digest_seq}#{hit.number} {hit.title}" for hit in page.hits]


async def test_chinese_without_spaces_and_english_any_case(store: Store) -> None:
    seq = await store_digest(store, archive_digest("2025.06.01.08"))
    assert await found(store, "机器人") == [f"{seq}#1 {ITEMS[0][0]}"]
    assert await found(store, "夜班搬运") == [f"{seq}#1 {ITEMS[0][0]}"]  # in title and summary: one hit
    assert await found(store, "transformer") == [f"{seq}#2 {ITEMS[1][0]}"]  # summary, other case
    assert await found(store, "LONG-CONTEXT") == [f"{seq}#2 {ITEMS[1][0]}"]
    assert await found(store, "编辑部") == [
        f"{seq}#{n} {item[0]}" for n, item in reversed(list(enumerate(ITEMS, 1)))
    ]
    assert await found(store, "量子计算") == []


async def test_hit_carries_date_number_title_link(store: Store) -> None:
    seq = await store_digest(store, archive_digest("2025.06.01.08"))
    page = await store.search(parse_query("透明度"))
    (hit,) = page.hits
    assert (hit.digest_seq, hit.number, hit.url) == (seq, 3, "https://news.example/2025.06.01.08/3")
    assert hit.published == days_ago(0)
    assert not page.more and not page.recent_only


async def test_newest_first_all_words_and_category_filter(store: Store) -> None:
    older = await store_digest(store, archive_digest("2025.06.01.08"))
    newer = await store_digest(store, archive_digest("2025.06.01.12"))
    assert await found(store, "AI岗位") == [f"{newer}#4 {ITEMS[3][0]}", f"{older}#4 {ITEMS[3][0]}"]
    assert await found(store, "机器学习 工程师") == [f"{newer}#4 {ITEMS[3][0]}", f"{older}#4 {ITEMS[3][0]}"]
    assert await found(store, "机器学习 夜班") == []  # every word must be in one item
    assert await found(store, "编辑部", frozenset({"policy", "jobs"}), limit=10) == [
        f"{newer}#4 {ITEMS[3][0]}",
        f"{newer}#3 {ITEMS[2][0]}",
        f"{older}#4 {ITEMS[3][0]}",
        f"{older}#3 {ITEMS[2][0]}",
    ]
    assert await found(store, "机器人", frozenset({"jobs"})) == []


async def test_only_the_newest_version_of_a_digest_is_found(store: Store) -> None:
    first = await store_digest(store, archive_digest("2025.06.01.08"))
    edited = ((ITEMS[0][0].replace("夜班", "白班"), "改为白班。", ("industry",)), *ITEMS[1:])
    second = await store_digest(store, archive_digest("2025.06.01.08", edited), version="h2")
    assert second != first
    assert await found(store, "夜班搬运") == []
    assert await found(store, "白班搬运") == [f"{second}#1 {edited[0][0]}"]
    assert await found(store, "透明度") == [f"{second}#3 {ITEMS[2][0]}"]


async def test_short_words_scan_only_the_last_30_days(store: Store) -> None:
    recent = await store_digest(store, archive_digest("2025.06.01.08"))
    await store_digest(store, archive_digest("2025.04.01.08", date=days_ago(61)))
    page = await store.search(parse_query("夜班"))
    assert page.recent_only
    assert [(h.digest_seq, h.number) for h in page.hits] == [(recent, 1)]
    assert len(await found(store, "夜班搬运")) == 2  # three characters or more: the whole archive
    # newest stored first (the old digest arrived last), a short word beside a long one filters it
    assert await found(store, "ai 透明度") == [f"2#3 {ITEMS[2][0]}", f"{recent}#3 {ITEMS[2][0]}"]
    assert await found(store, "AI 夜班") == []  # both short: AND over the recent items


@pytest.mark.parametrize(
    "hostile",
    [
        '"',
        '""',
        "NEAR(机器人 搬运)",
        "机器* OR 夜班",
        "title:机器人",
        "^夜班",
        "(((",
        "'; DROP TABLE digests; --",
        "-机器人",
        "\\",
        "_",
        "\x00%%",
        "{title author}: x",
        "a AND",
    ],
)
async def test_hostile_input_is_a_literal_search(store: Store, hostile: str) -> None:
    await store_digest(store, archive_digest("2025.06.01.08"))
    assert await found(store, hostile) == []


async def test_operators_and_wildcards_match_only_themselves(store: Store) -> None:
    items = (
        ('C++ "quoted" NEAR 50%_off', "it's a\\b test", ("tech",)),
        ("plain", "nothing special: 50 percent, aXb", ("tech",)),
    )
    seq = await store_digest(store, archive_digest("2025.06.01.08", items))
    assert await found(store, '"quoted"') == [f"{seq}#1 {items[0][0]}"]
    assert await found(store, "50%_") == [f"{seq}#1 {items[0][0]}"]
    assert await found(store, "%_") == [f"{seq}#1 {items[0][0]}"]  # LIKE wildcards escaped
    assert await found(store, "a\\b") == [f"{seq}#1 {items[0][0]}"]
    assert await found(store, "NEAR") == [f"{seq}#1 {items[0][0]}"]
    assert (
        fts_match(['a"b', "OR"], ["x"])
        == '{title author summary} : ("a""b" AND "OR") AND categories : ("|x|")'
    )


async def test_pages_are_bounded(store: Store) -> None:
    for n in range(3):
        await store_digest(store, archive_digest(f"2025.06.0{n + 1}.08"))
    query = parse_query("编辑部")
    first = await store.search(query, limit=5)
    second = await store.search(query, limit=5, offset=5)
    third = await store.search(query, limit=5, offset=10)
    assert (len(first.hits), first.more, len(second.hits), second.more) == (5, True, 5, True)
    assert (len(third.hits), third.more) == (2, False)
    ids = [h.id for h in (*first.hits, *second.hits, *third.hits)]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 12
    assert len((await store.search(query, limit=10_000)).hits) == 12
    assert (await store.search(query, offset=10**9)).hits == ()


def test_bad_queries_are_refused_with_a_reason() -> None:
    for text, code in [
        ("", "search_empty"),
        ("  \n\t", "search_empty"),
        ("\x00\x01", "search_empty"),
        ("x" * (MAX_QUERY_CHARS + 1), "search_too_long"),
        (" ".join(f"w{n}" for n in range(MAX_WORDS + 1)), "search_too_many_words"),
    ]:
        with pytest.raises(QueryError) as caught:
            parse_query(text)
        assert caught.value.code == code
        assert caught.value.localized("zh") and caught.value.localized("en")
    assert parse_query("  机器人   机器人 AI ").words == ("机器人", "AI")


async def test_pruned_versions_leave_the_index(store: Store) -> None:
    await store_digest(store, archive_digest("2025.06.01.08"))
    for version in range(2, 6):
        text = ((f"修订版本{version}号", "内容", ("tech",)),)
        await store_digest(store, archive_digest("2025.06.01.08", text), version=f"h{version}")
    assert await found(store, "修订版本5号") != []
    pruner = Pruner(store, RetentionConfig(digest_versions=1), clock=store.clock)
    await pruner.prune()
    async with store.transaction(write=False) as tx:
        kept = {row[0] for row in await tx.conn.fetchall("SELECT DISTINCT digest_seq FROM search_items")}
        remaining = {row[0] for row in await tx.conn.fetchall("SELECT seq FROM digests")}
    assert kept == remaining
    if store.dialect == "sqlite":  # the FTS5 table is SQLite's own copy of the text
        with sqlite3.connect(store.path) as raw:
            fts_rows = raw.execute(
                "SELECT count(*) FROM search_fts WHERE search_fts MATCH '\"修订版本\"'"
            ).fetchone()
            # raises "database disk image is malformed" when the index and search_items disagree
            raw.execute("INSERT INTO search_fts (search_fts) VALUES ('integrity-check')")
        assert fts_rows == (1,)
    assert await found(store, "修订版本5号") == ["5#1 修订版本5号"]
    assert await found(store, "修订版本3号") == []


async def test_rescoping_hides_the_republished_older_version(store: Store) -> None:
    await store_digest(store, archive_digest("2025.06.01.08"))
    edited = ((ITEMS[0][0] + "（更新）", "", ("industry",)),)
    copy = Incoming("site", "https://site/x", "h9", archive_digest("2025.06.01.08", edited))
    assert (await store.record_incoming(copy)).status == "new"  # another source: another digest
    assert len(await found(store, "夜班搬运")) == 2
    await store.use_sources({"site": "folder"})  # the site republishes the folder: one digest
    assert await found(store, "夜班搬运") == [f"2#1 {edited[0][0]}"]
    await store.use_sources({"site": "site"})
    assert len(await found(store, "夜班搬运")) == 2


async def test_migration_indexes_digests_stored_before_it(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    digest = archive_digest("2025.06.01.08")
    with sqlite3.connect(path) as raw:
        for migration in load_migrations()[:6]:
            for statement in split_statements(migration.sql):
                raw.execute(statement)
        raw.execute("PRAGMA user_version = 6")
        for seq, model in (
            (1, encode_digest(digest)),
            (2, encode_digest(archive_digest("2025.06.01.08", ITEMS[:1]))),
        ):
            raw.execute(
                "INSERT INTO digests (seq, digest_id, source, scope, key, content_hash, status, model,"
                " revision_of, stored_at, plan_state) VALUES (?, ?, 'folder', 'folder', 'k', ?, 'ok', ?, ?,"
                " '2025-06-01T00:00:00.000000+00:00', 'done')",
                (seq, digest.id, f"h{seq}", model, 1 if seq == 2 else None),
            )
    async with await Store.open(path, clock=ManualClock()) as store:
        assert await found(store, "机器人") == [f"2#1 {ITEMS[0][0]}"]
        assert await found(store, "透明度") == []  # only in the older version
        assert await store.search_index_size() > 0


async def test_remembered_queries_expire(store: Store, clock: ManualClock) -> None:
    token = await store.remember_query("机器人")
    assert await store.remember_query("机器人") == token
    assert await store.remembered_query(token) == "机器人"
    await clock.advance(8 * 86_400)
    other = await store.remember_query("AI")
    assert other != token
    assert await store.remembered_query(token) is None
