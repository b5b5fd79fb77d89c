"""Digest ids are scoped by source: equal stamps from two publications are two digests, unless one
source says it republishes the other (`same_as`); the identity holds in the store, in scheduled
posts, in retention, across the schema migration and in the running bot."""

from __future__ import annotations

import io
import sqlite3
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from app_helpers import SAMPLE, config_data, example_categories
from clocks import START, StepClock
from hypothesis import given, settings
from hypothesis import strategies as st
from sample_digests import make_digest
from waiting import ledger_settled, wait_for

from bot.app import App
from bot.config import ConfigError, parse_settings
from bot.core.errors import DigestError
from bot.delivery.config import RetentionConfig
from bot.delivery.retention import Pruner
from bot.sources.base import Incoming
from bot.store.db import Store
from bot.store.digests import encode_digest
from bot.store.schema import load_migrations

STAMP = "2025.06.01.08"


@pytest.fixture
def clock() -> StepClock:
    return StepClock()


def arrival(source: str, version: str, *, history: bool = False) -> Incoming:
    """Source `source`'s document for the digest STAMP, in its own wording `version`."""
    return Incoming(
        source=source,
        key=f"/{source}/{STAMP}.md",
        content_hash=f"{source}-{version}",
        result=make_digest(STAMP, extra=f" {source} {version}"),
        history=history,
    )


def rows(store: Store, sql: str, *params: object) -> list[tuple[Any, ...]]:
    with sqlite3.connect(store.path) as raw:
        return raw.execute(sql, params).fetchall()


async def planned(store: Store) -> list[int]:
    async with store.transaction(write=False) as tx:
        return await tx.digests.to_plan()


async def scheduled(store: Store) -> list[tuple[int, int]]:
    async with store.transaction(write=False) as tx:
        return await tx.digests.scheduled_after(1, 0, await tx.digests.max_seq(), 20)


# -- the store -------------------------------------------------------------------------------------


async def test_two_publications_with_the_same_stamp_are_both_new(store: Store) -> None:
    first = await store.record_incoming(arrival("site-a", "v1"))
    second = await store.record_incoming(arrival("site-b", "v1"))
    assert (first.status, second.status) == ("new", "new") and second.deliverable
    assert await planned(store) == [1, 2]
    edit = await store.record_incoming(arrival("site-b", "v2"))
    assert edit.status == "changed"
    # each digest's own newest version: site-a's is not replaced by site-b's edit
    assert await scheduled(store) == [(1, 1), (2, 3)]


async def test_same_as_recognises_the_republication_and_an_edit_is_an_edit(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    await store.use_sources({"folder": "folder", "feed": "folder"})
    assert (await store.record_incoming(arrival("folder", "v1"))).status == "new"
    with caplog.at_level("INFO"):
        copy = await store.record_incoming(arrival("feed", "v1"))
    assert copy.status == "republished" and not copy.deliverable
    assert f"folder/{STAMP} republished by feed" in caplog.text
    assert (await store.record_incoming(arrival("feed", "v2"))).status == "changed"
    assert (await store.record_incoming(arrival("folder", "v2"))).status == "changed"
    same_bytes = replace(arrival("feed", "v1"), key="/feed/elsewhere")
    assert (await store.record_incoming(same_bytes)).status == "duplicate"
    assert await planned(store) == [1]
    assert await scheduled(store) == [(1, 4)]
    # every later version points at the first one, the row retention never prunes
    assert rows(store, "SELECT seq, revision_of FROM digests ORDER BY seq") == [
        (1, None),
        (2, 1),
        (3, 1),
        (4, 1),
    ]


async def test_a_new_feed_that_republishes_a_folder_sends_nothing_of_it(store: Store) -> None:
    await store.use_sources({"folder": "folder", "feed": "folder"})
    await store.record_incoming(arrival("folder", "v1"))
    result = await store.record_incoming(arrival("feed", "v1", history=True))
    assert result.status == "republished"
    assert await planned(store) == [1]


async def test_stored_rows_follow_a_same_as_added_later(store: Store) -> None:
    """The feed published a digest alone; once it is declared the folder's copy, an edit of that
    digest is still an edit, not a new digest (it would be sent twice)."""
    assert (await store.record_incoming(arrival("feed", "v1"))).status == "new"
    await store.use_sources({"site": "site", "feed": "site"})
    assert rows(store, "SELECT scope FROM digests") == [("site",)]
    assert (await store.record_incoming(arrival("feed", "v2"))).status == "changed"
    assert (await store.record_incoming(arrival("site", "v1"))).status == "republished"
    await store.use_sources({"site": "site", "feed": "feed"})  # and back, when it is removed again
    assert rows(store, "SELECT source, scope FROM digests WHERE source = 'feed'") == [
        ("feed", "feed"),
        ("feed", "feed"),
    ]
    assert (await store.record_incoming(arrival("feed", "v3"))).status == "changed"


async def test_broken_documents_are_unaffected_by_scopes(store: Store) -> None:
    await store.use_sources({"feed": "site", "site": "site"})
    bad = DigestError("/feed/x.md", "front matter: no title", line=2)
    broken = Incoming(source="feed", key="/feed/x.md", content_hash="bad", result=bad)
    assert (await store.record_incoming(broken)).status == "error"
    assert (await store.record_incoming(broken)).status == "duplicate"


async def test_retention_keeps_each_digests_first_and_newest_versions(store: Store) -> None:
    for version in ("v1", "v2", "v3"):
        for source in ("site-a", "site-b"):
            await store.record_incoming(arrival(source, version))
    report = await Pruner(store, RetentionConfig(digest_versions=1), clock=store.clock).prune()
    assert report.revisions == 2
    kept = rows(store, "SELECT source, content_hash FROM digests ORDER BY seq")
    assert kept == [
        ("site-a", "site-a-v1"),
        ("site-b", "site-b-v1"),
        ("site-a", "site-a-v3"),
        ("site-b", "site-b-v3"),
    ]


# -- the migration ---------------------------------------------------------------------------------


def version_2_database(path: Path) -> None:
    """A database as the bot before scoped ids left it: site-b's copy of site-a's stamp was taken
    for an edit of site-a's digest (revision_of 1) and never sent."""
    with sqlite3.connect(path) as raw:
        for migration in load_migrations()[:2]:
            raw.executescript(migration.sql)
        raw.execute("PRAGMA user_version = 2")
        for seq, source, revision_of, plan_state in ((1, "site-a", None, "done"), (2, "site-b", 1, "none")):
            raw.execute(
                "INSERT INTO digests (seq, digest_id, source, key, content_hash, status, model,"
                " revision_of, stored_at, plan_state) VALUES (?, ?, ?, ?, ?, 'ok', ?, ?, ?, ?)",
                (
                    seq,
                    STAMP,
                    source,
                    f"/{source}/{STAMP}.md",
                    f"{source}-v1",
                    encode_digest(make_digest(STAMP, extra=f" {source} v1")),
                    revision_of,
                    START.isoformat(),
                    plan_state,
                ),
            )


async def test_migration_scopes_existing_rows_by_their_source(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    version_2_database(path)
    async with await Store.open(path, clock=StepClock()) as store:
        assert rows(store, "SELECT seq, scope FROM digests ORDER BY seq") == [(1, "site-a"), (2, "site-b")]
        assert rows(store, "PRAGMA user_version")[0][0] >= 3
        # site-b's old copy stays what it was (not sent); its next edit is an edit, anchored at the
        # first version so that retention can prune the copy without breaking a reference
        edit = await store.record_incoming(arrival("site-b", "v2"))
        assert edit.status == "changed"
        assert rows(store, "SELECT revision_of FROM digests WHERE seq = ?", edit.seq) == [(1,)]
        await store.record_incoming(arrival("site-b", "v3"))
        report = await Pruner(store, RetentionConfig(digest_versions=1), clock=store.clock).prune()
        assert report.revisions == 2
        news = Incoming("site-b", "/site-b/new.md", "n1", make_digest("2025.06.01.12"))
        assert (await store.record_incoming(news)).status == "new"
        both = Incoming("site-a", "/site-a/new.md", "n2", make_digest("2025.06.01.12", extra=" a"))
        assert (await store.record_incoming(both)).status == "new"


# -- the config ------------------------------------------------------------------------------------


def sources_config(*same_as: str | None) -> dict[str, Any]:
    names = ["a", "b", "c"]
    return {
        "sources": [
            {"name": name, "type": "directory", "path": name, **({"same_as": target} if target else {})}
            for name, target in zip(names, same_as, strict=False)
        ]
    }


def test_same_as_chains_resolve_to_the_canonical_source(tmp_path: Path) -> None:
    settings = parse_settings(sources_config("b", "c", None), "test", tmp_path)
    assert settings.source_scopes() == {"a": "c", "b": "c", "c": "c"}
    alone = parse_settings(sources_config(None, None), "test", tmp_path)
    assert alone.source_scopes() == {"a": "a", "b": "b"}


@pytest.mark.parametrize(
    ("same_as", "problem"),
    [
        (("zz",), "sources.0.same_as: no source is named 'zz'"),
        ((None, "b"), "sources.1.same_as: a source cannot be the same as itself"),
        (("b", "c", "a"), "sources.2.same_as: same_as goes round in a cycle: a -> b -> c -> a"),
    ],
)
def test_a_bad_same_as_is_a_config_error_with_its_key_path(
    tmp_path: Path, same_as: tuple[str | None, ...], problem: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_settings(sources_config(*same_as), "test", tmp_path)
    assert caught.value.problems == [problem]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.integers(0, 5)), min_size=1, max_size=6))
def test_same_as_either_resolves_along_its_chain_or_is_refused(targets: list[int | None]) -> None:
    """Any `same_as` graph: refused exactly when a chain comes back to a source it passed; else
    every source's scope is where following `same_as` from it ends."""
    names = [f"s{i}" for i in range(len(targets))]
    data = {
        "sources": [
            {"name": name, "type": "directory", "path": name}
            | ({} if target is None else {"same_as": f"s{target}"})
            for name, target in zip(names, targets, strict=True)
        ]
    }

    def end(start: int) -> int | None:
        seen, at = set(), start
        while (target := targets[at]) is not None:
            if target >= len(targets) or target in seen | {at}:
                return None
            seen.add(at)
            at = target
        return at

    ends = [end(i) for i in range(len(targets))]
    if None in ends:
        with pytest.raises(ConfigError, match=r"sources\.\d+\.same_as: "):
            parse_settings(data, "test", Path("."))
        return
    scopes = parse_settings(data, "test", Path(".")).source_scopes()
    assert scopes == {name: f"s{at}" for name, at in zip(names, ends, strict=True)}


# -- the running bot -------------------------------------------------------------------------------


def two_folders(tmp_path: Path, same_as: str | None = None) -> dict[str, Any]:
    for name in ("site-a", "site-b"):
        (tmp_path / name).mkdir()
    second: dict[str, Any] = {"name": "site-b", "type": "directory", "path": "site-b", "poll_interval": 0.05}
    if same_as:
        second["same_as"] = same_as
    first = {"name": "site-a", "type": "directory", "path": "site-a", "poll_interval": 0.05}
    return config_data(tmp_path, categories=example_categories(), sources=[first, second])


def stored_more_than(store: Store, count: int) -> bool:
    """More than `count` digest rows: the file just published has been taken in."""
    return len(rows(store, "SELECT 1 FROM digests")) > count


async def deliveries(tmp_path: Path, data: dict[str, Any], publish: list[tuple[str, bytes]]) -> str:
    """Run the bot on the console, subscribe, publish the files one after the other, and return
    what the console received once nothing is left to plan or send."""
    out = io.StringIO()
    app = App(parse_settings(data, "test", tmp_path), stdin=io.StringIO(""), stdout=out)
    await app.start()
    try:
        await app.platforms[0].handle_line("/subscribe")  # type: ignore[attr-defined]
        assert app.store is not None
        for folder, content in publish:
            count = len(rows(app.store, "SELECT 1 FROM digests"))
            (tmp_path / folder / SAMPLE.name).write_bytes(content)
            await wait_for(partial(stored_more_than, app.store, count), 10, f"{folder}'s file to be stored")
        await wait_for(lambda: ledger_settled(app.store.path), 10, "every delivery in a final state")
    finally:
        await app.stop()
    return out.getvalue()


def sent_titles(output: str) -> list[str]:
    return [line for line in output.splitlines() if "📬" in line]


async def test_two_folders_publishing_the_same_stamp_both_reach_the_chat(tmp_path: Path) -> None:
    sample = SAMPLE.read_bytes()
    output = await deliveries(tmp_path, two_folders(tmp_path), [("site-a", sample), ("site-b", sample)])
    assert len(sent_titles(output)) == 2


async def test_a_folder_that_republishes_another_is_not_sent_twice(tmp_path: Path) -> None:
    sample = SAMPLE.read_bytes()
    edited = sample.replace("过去4小时".encode(), "过去四小时".encode(), 1)
    assert edited != sample
    data = two_folders(tmp_path, same_as="site-a")
    output = await deliveries(tmp_path, data, [("site-a", sample), ("site-b", edited)])
    assert len(sent_titles(output)) == 1
