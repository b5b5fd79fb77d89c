"""Retention: the database stays bounded, and nothing still needed is ever pruned."""

from __future__ import annotations

import asyncio
import hashlib
import io
import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from app_helpers import console_settings, latest_digest
from clocks import START, StepClock
from db_reads import values
from ledger_helpers import subscribe
from sample_digests import incoming, make_digest
from waiting import wait_for

from bot.app import App
from bot.core.clock import SystemClock
from bot.core.errors import DigestError
from bot.core.model import Digest, Item, Span
from bot.delivery.config import RetentionConfig
from bot.delivery.retention import ROWS_PER_BATCH, Pruner
from bot.sources.base import Incoming
from bot.store.db import Store
from bot.store.deliveries import NewDelivery, StoredPayload
from bot.store.schema import load_migrations
from bot.store.subscriptions import Subscription

DAY = 86_400


@pytest.fixture
def clock() -> StepClock:
    return StepClock()


def pruner(store: Store, **settings: Any) -> Pruner:
    return Pruner(store, RetentionConfig(**settings), clock=store.clock)


def rows(store: Store, sql: str, *params: object) -> list[tuple[Any, ...]]:
    """Read the real database file from a second connection, as `digestbot stats` would."""
    return values(store, sql, params)


def feed_version(poll: int, size: int = 10_000) -> Incoming:
    """One poll of a feed entry whose text changes every time: same digest id, new content
    (`size` characters, about 30 KB of UTF-8)."""
    filler = f"poll {poll} " + "新闻摘要内容 " * (size // 70)
    digest = Digest(
        id="entry-1",
        title=f"Changing entry, poll {poll}",
        date=START,
        items=tuple(
            Item(number=n, title=f"item {n}", summary=((Span(filler[: size // 10]),),), categories=("tech",))
            for n in range(1, 11)
        ),
    )
    content_hash = hashlib.sha256(f"{poll}{filler}".encode()).hexdigest()
    return Incoming(
        source="feed", key="https://site.example/entry-1", content_hash=content_hash, result=digest
    )


async def test_a_feed_entry_changing_every_poll_keeps_the_file_bounded(store: Store) -> None:
    retention = pruner(store)
    sizes: dict[int, int] = {}
    for poll in range(1, 201):
        result = await store.record_incoming(feed_version(poll))
        assert result.status == ("new" if poll == 1 else "changed")
        if poll % 10 == 0:  # an hourly pass, with a poll every few minutes
            await retention.prune()
            sizes[poll] = store.file_size()
    print(f"database with WAL after 20 polls: {sizes[20]} B, after 200 polls: {sizes[200]} B")
    assert sizes[200] < 2 * sizes[20]
    assert rows(store, "SELECT count(*) FROM digests") == [(4,)]  # the first version and the newest 3
    latest = await latest_digest(store)
    assert latest is not None and latest.title == "Changing entry, poll 200"


async def changed_versions(store: Store, versions: int) -> list[int]:
    """A digest and `versions - 1` later changes of it; returns their seqs, oldest first."""
    seqs = []
    for n in range(versions):
        result = await store.record_incoming(
            incoming(make_digest(extra=f" v{n}"), key="/d/a.md", content_hash=f"v{n}")
        )
        assert result.seq is not None
        seqs.append(result.seq)
    return seqs


@pytest.mark.both_backends
async def test_old_versions_go_but_the_first_and_the_newest_stay(store: Store) -> None:
    seqs = await changed_versions(store, 7)
    report = await pruner(store).prune()
    assert report.revisions == 3
    assert [r[0] for r in rows(store, "SELECT seq FROM digests ORDER BY seq")] == [seqs[0], *seqs[-3:]]
    latest = await latest_digest(store)
    assert latest is not None and latest.title.endswith(" v6")
    # the first version still anchors the digest: a new change is a revision, never sent again
    again = await store.record_incoming(incoming(make_digest(extra=" v7"), content_hash="v7"))
    assert again.status == "changed"
    assert rows(store, "SELECT revision_of FROM digests WHERE seq = ?", again.seq) == [(seqs[0],)]


@pytest.mark.both_backends
async def test_a_scheduled_post_still_gets_the_newest_version(store: Store, clock: StepClock) -> None:
    sub, _ = await store.subscribe(
        "telegram", "1", None, kind="private", title="", created_by=None, language="en", timezone="UTC"
    )
    await store.update_subscription(sub.id, schedule="at 08:00")
    seqs = await changed_versions(store, 6)
    await pruner(store, digest_versions=1).prune()
    assert [r[0] for r in rows(store, "SELECT seq FROM digests ORDER BY seq")] == [seqs[0], seqs[-1]]
    async with store.transaction(write=False) as tx:
        found = await tx.digests.scheduled_after(sub.id, 0, await tx.digests.max_seq(), 20)
        assert found == [(seqs[0], seqs[-1])]
    loaded = await store.load_digests([seqs[-1]])
    assert loaded[seqs[-1]].title.endswith(" v5")


@pytest.mark.both_backends
async def test_broken_versions_are_kept_per_file_up_to_the_limit(store: Store) -> None:
    for n in range(5):
        await store.record_incoming(incoming(DigestError("/d/a.md", f"bad {n}", 3), content_hash=f"a{n}"))
    for n in range(2):
        await store.record_incoming(
            incoming(DigestError("/d/b.md", f"bad {n}", 3), key="/d/b.md", content_hash=f"b{n}")
        )
    report = await pruner(store).prune()
    assert report.errors == 2
    kept = rows(store, "SELECT key, error_reason FROM digests ORDER BY seq")
    assert kept == [
        ("/d/a.md", "bad 2"),
        ("/d/a.md", "bad 3"),
        ("/d/a.md", "bad 4"),
        ("/d/b.md", "bad 0"),
        ("/d/b.md", "bad 1"),
    ]


async def queue(
    store: Store, sub: Subscription, unit: str, *, seq: int = 1, text: str | None = None, parts: int = 1
) -> list[int]:
    """Ledger rows as the planner writes them; returns their ids."""
    now = store.clock.now()
    new = [
        NewDelivery(
            sub.id,
            unit,
            part,
            parts,
            seq,
            sub.platform,
            sub.chat_id,
            sub.thread_id,
            sub.kind,
            StoredPayload.of({"text": text or f"{unit} part {part}"}),
            now,
        )
        for part in range(1, parts + 1)
    ]
    async with store.transaction() as tx:
        await tx.deliveries.add(new, now)
    found = rows(
        store, "SELECT id FROM deliveries WHERE subscription_id = ? AND unit = ? ORDER BY part", sub.id, unit
    )
    return [r[0] for r in found]


async def finish(store: Store, delivery_id: int, state: str) -> None:
    """Move a pending row through the engine's own store calls to `state`."""
    now = store.clock.now()
    if state == "pending":
        return
    assert await store.mark_sending(delivery_id, now)
    if state == "sent":
        await store.mark_sent(delivery_id, f"m{delivery_id}", now)
    elif state == "failed":
        await store.fail_delivery(delivery_id, "gave up", now)
    elif state == "interrupted":
        await store.interrupt([delivery_id], now)
    elif state == "uncertain":
        await store.mark_uncertain(delivery_id, "read timeout", now)


def states(store: Store) -> dict[str, str]:
    return dict(rows(store, "SELECT unit, state FROM deliveries ORDER BY id"))


@pytest.mark.both_backends
async def test_finished_deliveries_older_than_the_limit_go_unfinished_ones_stay(
    store: Store, clock: StepClock
) -> None:
    await store.record_incoming(incoming(make_digest()))
    expired_sub = await subscribe(store, "3")
    await queue(store, expired_sub, "old-expired")
    expired = await store.expire_stale(
        store.clock.now() + timedelta(seconds=1), "expired", store.clock.now(), 10
    )
    assert expired.counts == {(1, "telegram"): 1}
    sub = await subscribe(store, "1")
    for state in ("sent", "failed", "interrupted", "uncertain", "pending", "sending"):
        [row] = await queue(store, sub, f"old-{state}")
        await finish(store, row, state)
    skipped_sub = await subscribe(store, "2")
    await queue(store, skipped_sub, "old-skipped")
    await store.pause(skipped_sub.id, "blocked")
    clock.advance(29 * DAY)
    [recent] = await queue(store, sub, "recent-sent")
    await finish(store, recent, "sent")
    clock.advance(2 * DAY)

    report = await pruner(store).prune()
    assert report.deliveries == 6
    assert states(store) == {"old-pending": "pending", "old-sending": "sending", "recent-sent": "sent"}


@pytest.mark.both_backends
async def test_the_last_delivery_of_a_chat_stays_for_status(store: Store, clock: StepClock) -> None:
    await store.record_incoming(incoming(make_digest()))
    sub = await subscribe(store, "1")
    for n in range(3):
        [row] = await queue(store, sub, f"d{n}")
        await finish(store, row, "sent")
        clock.advance(60)
    clock.advance(90 * DAY)
    await pruner(store).prune()
    assert states(store) == {"d2": "sent"}
    summary = await store.delivery_summary(sub.id)
    assert summary["last_sent_at"] == START + timedelta(seconds=120)


@pytest.mark.both_backends
async def test_what_a_scheduled_post_must_leave_out_stays(store: Store, clock: StepClock) -> None:
    """A chat that got a digest on its own (while it was instant) and then switched back to a
    schedule: its next scheduled post leaves that digest out only as long as the row exists."""
    sub = await subscribe(store, "1")
    await store.update_subscription(sub.id, schedule="at 08:00")
    digest = await store.record_incoming(incoming(make_digest()))
    assert digest.seq is not None
    [row] = await queue(store, sub, f"d{digest.seq}", seq=digest.seq)
    await finish(store, row, "sent")
    clock.advance(60)
    [other] = await queue(store, sub, "old-other")  # sent later: the chat's last delivery
    await finish(store, other, "sent")
    clock.advance(40 * DAY)

    await pruner(store).prune()
    assert states(store) == {f"d{digest.seq}": "sent", "old-other": "sent"}
    async with store.transaction(write=False) as tx:
        assert await tx.digests.scheduled_after(sub.id, 0, await tx.digests.max_seq(), 20) == []


@pytest.mark.both_backends
async def test_payload_bodies_are_dropped_after_the_limit_and_come_back_when_needed(
    store: Store, clock: StepClock
) -> None:
    await store.record_incoming(incoming(make_digest()))
    a, b = await subscribe(store, "1"), await subscribe(store, "2")
    [done] = await queue(store, a, "done", text="finished long ago")
    await finish(store, done, "sent")
    await queue(store, b, "waiting", text="still waiting")  # pending: e.g. its platform is down
    [shared_old] = await queue(store, a, "shared-old", text="shared")
    await finish(store, shared_old, "sent")
    clock.advance(6 * DAY)
    [shared_new] = await queue(store, b, "shared-new", text="shared")
    await finish(store, shared_new, "sent")
    clock.advance(2 * DAY)

    report = await pruner(store).prune()
    assert report.bodies == 1 and report.deliveries == 0
    bodies = {r[0] for r in rows(store, "SELECT body FROM payloads")}
    assert set(bodies) == {
        "",
        StoredPayload.of({"text": "still waiting"}).body,
        StoredPayload.of({"text": "shared"}).body,
    }
    assert states(store)["done"] == "sent"  # the row stays (history), only its body went

    # the same rendering needed again: the body is written back and sent as it was
    sub = await subscribe(store, "3")
    await queue(store, sub, "again", text="finished long ago")
    claimed = [d for d in await store.claim_due(clock.now(), 10, ["telegram"]) if d.unit == "again"]
    assert [d.payload for d in claimed] == [{"text": "finished long ago"}]


@pytest.mark.both_backends
async def test_payloads_go_with_their_last_delivery(store: Store, clock: StepClock) -> None:
    await store.record_incoming(incoming(make_digest()))
    a, b = await subscribe(store, "1"), await subscribe(store, "2")
    for unit, text in (("d1", "one"), ("d2", "two"), ("d3", "shared")):
        [row] = await queue(store, a, unit, text=text)
        await finish(store, row, "sent")
    clock.advance(31 * DAY)
    [last] = await queue(store, a, "d4", text="shared")
    await finish(store, last, "sent")
    [waiting] = await queue(store, b, "d5", text="two-b")
    report = await pruner(store).prune()
    assert report.deliveries == 3 and report.payloads == 2
    texts = {r[0] for r in rows(store, "SELECT body FROM payloads")}
    assert texts == {StoredPayload.of({"text": t}).body for t in ("shared", "two-b")}
    assert waiting


@pytest.mark.both_backends
async def test_large_passes_run_in_short_batches_that_let_other_work_in(
    store: Store, clock: StepClock
) -> None:
    await store.record_incoming(incoming(make_digest()))
    sub = await subscribe(store, "1")
    count = 2 * ROWS_PER_BATCH + 100
    await queue(store, sub, "d1", parts=count)
    await store.pause(sub.id, "blocked")  # every row skipped, in one statement
    clock.advance(31 * DAY)
    task = asyncio.create_task(pruner(store).prune())
    seen: set[int] = set()
    deadline = asyncio.get_running_loop().time() + 30
    while not task.done():  # a chat's command between every two transactions of the pass
        assert asyncio.get_running_loop().time() < deadline, "the pruning pass never ended"
        seen.add(rows(store, "SELECT count(*) FROM deliveries")[0][0])
        assert await store.get_subscription_by_id(sub.id) is not None
    report = await task
    assert report.deliveries == count
    assert {count, count - ROWS_PER_BATCH, count - 2 * ROWS_PER_BATCH} <= seen


async def test_the_wal_is_truncated_after_a_pass(store: Store) -> None:
    await changed_versions(store, 10)
    assert Path(f"{store.path}-wal").stat().st_size > 0
    await pruner(store).prune()
    assert Path(f"{store.path}-wal").stat().st_size == 0


@pytest.mark.both_backends
async def test_the_task_prunes_soon_after_start_and_stops_at_once(store: Store) -> None:
    await changed_versions(store, 6)
    retention = Pruner(store, RetentionConfig(), clock=SystemClock(), first_pass_after=0.01, every=3600)
    task = asyncio.create_task(retention.run())
    await wait_for(lambda: rows(store, "SELECT count(*) FROM digests") == [(4,)], 5, "the first pass")
    retention.stop()
    await asyncio.wait_for(task, 1)


async def test_the_app_runs_the_task_and_stops_it_on_shutdown(tmp_path: Path) -> None:
    app = App(console_settings(tmp_path), stdin=io.StringIO(""), stdout=io.StringIO())
    await app.start()
    try:
        running = [t for t in asyncio.all_tasks() if t.get_name() == "retention"]
        assert len(running) == 1 and not running[0].done()
    finally:
        await app.stop()
    assert running[0].done() and not running[0].cancelled()


async def test_an_existing_database_gets_the_retention_indexes(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    first = load_migrations()[0]
    with sqlite3.connect(path) as raw:
        raw.executescript(first.sql)
        raw.execute("PRAGMA user_version = 1")
    async with await Store.open(path) as store:
        indexes = {r[0] for r in rows(store, "SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert {"digests_revisions", "deliveries_by_payload", "payloads_with_body"} <= indexes
        assert rows(store, "PRAGMA user_version") == [(load_migrations()[-1].version,)]


async def test_an_existing_ledger_keeps_when_its_bodies_were_last_used(tmp_path: Path) -> None:
    """Migration 015 moves "was a row using it updated lately" from an index entry per row to one
    stamp per payload: an existing payload starts from its newest row's update."""
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as raw:
        for migration in load_migrations()[:14]:
            raw.executescript(migration.sql)
        raw.execute("PRAGMA user_version = 14")
        payloads = [(1, "a"), (2, "b"), (3, "c")]
        raw.executemany("INSERT INTO payloads (id, hash, body) VALUES (?, ?, 'x')", payloads)
        raw.executemany(
            "INSERT INTO deliveries (subscription_id, unit, part, parts, platform, chat_id, kind, payload_id,"
            " state, next_attempt_at, due_at, created_at, updated_at)"
            " VALUES (?, 'a1', 1, 1, 'telegram', 'c', 'private', ?, 'sent', 't', 't', 't', ?)",
            [(1, 1, "2026-01-01"), (2, 1, "2026-01-05"), (3, 2, "2026-01-02")],
        )
    async with await Store.open(path) as store:
        assert rows(store, "SELECT id, used_at FROM payloads ORDER BY id") == [
            (1, "2026-01-05"),
            (2, "2026-01-02"),
            (3, None),
        ]
        assert rows(store, "SELECT name FROM pragma_index_info('deliveries_by_payload')") == [("payload_id",)]
