"""The subscriptions API the command service is written against, on a real SQLite file."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from clocks import START, StepClock
from db_reads import values
from sample_digests import incoming, make_digest

from bot.core.model import Filter
from bot.store.broadcasts import BroadcastRow
from bot.store.db import Store
from bot.store.deliveries import NewDelivery, StoredPayload
from bot.store.subscriptions import INSERT_ROWS, NewSubscription, Subscription

pytestmark = pytest.mark.both_backends


@pytest.fixture
def clock() -> StepClock:
    return StepClock()


async def _subscribe(store: Store, chat: str = "100", **overrides: Any) -> tuple[Subscription, bool]:
    args: dict[str, Any] = {
        "kind": "private",
        "title": "Alice",
        "created_by": "u1",
        "language": "zh",
        "timezone": "Asia/Shanghai",
    }
    args.update(overrides)
    return await store.subscribe("telegram", chat, None, **args)


async def _queue(store: Store, subscription_id: int, parts: int = 1, unit: str = "d1") -> None:
    """Ledger rows for a subscription (the digest with seq 1 must exist)."""
    sub = await store.get_subscription_by_id(subscription_id)
    assert sub is not None
    rows = [
        NewDelivery(
            sub.id,
            unit,
            part,
            parts,
            1,
            sub.platform,
            sub.chat_id,
            sub.thread_id,
            sub.kind,
            StoredPayload.of({"text": f"part {part}"}),
            START,
        )
        for part in range(1, parts + 1)
    ]
    async with store.transaction() as tx:
        await tx.deliveries.add(rows, START)


async def test_subscribe_creates_with_defaults(store: Store) -> None:
    sub, created = await _subscribe(store, categories=frozenset({"tech"}))
    assert created
    assert (sub.platform, sub.chat_id, sub.thread_id, sub.kind) == ("telegram", "100", None, "private")
    assert sub.filter == Filter(frozenset({"tech"}))
    assert (sub.schedule, sub.timezone, sub.language, sub.quiet) == ("instant", "Asia/Shanghai", "zh", None)
    assert (sub.status, sub.origin, sub.created_by, sub.next_due_at) == ("active", "user", "u1", None)
    assert sub.created_at == sub.updated_at == START
    assert await store.get_subscription("telegram", "100") == sub
    assert await store.get_subscription_by_id(sub.id) == sub


async def test_threads_are_separate_subscriptions(store: Store) -> None:
    main, _ = await store.subscribe(
        "discord",
        "9",
        None,
        kind="guild_channel",
        title="#news",
        created_by="u",
        language="en",
        timezone="UTC",
    )
    topic, created = await store.subscribe(
        "discord",
        "9",
        "77",
        kind="guild_channel",
        title="#news/ai",
        created_by="u",
        language="en",
        timezone="UTC",
    )
    assert created and topic.id != main.id and topic.thread_id == "77"
    assert (await store.get_subscription("discord", "9", "77")).id == topic.id  # type: ignore[union-attr]
    assert (await store.get_subscription("discord", "9")).id == main.id  # type: ignore[union-attr]


async def test_resubscribe_keeps_settings_and_reactivates(store: Store, clock: StepClock) -> None:
    sub, _ = await _subscribe(store, categories=frozenset({"tech"}))
    await store.update_subscription(
        sub.id, filter=Filter(frozenset({"tech"}), ("芯片",)), language="en", quiet="22:00-07:00"
    )
    await store.unsubscribe(sub.id)
    assert (await store.get_subscription_by_id(sub.id)).status == "unsubscribed"  # type: ignore[union-attr]
    clock.advance(60)
    again, created = await _subscribe(store, title="Alice B", language="zh")
    assert not created and again.id == sub.id
    assert again.status == "active" and again.title == "Alice B"
    assert again.filter == Filter(frozenset({"tech"}), ("芯片",))
    assert (again.language, again.quiet) == ("en", "22:00-07:00")
    replaced, _ = await _subscribe(store, categories=frozenset({"policy"}))
    assert replaced.filter == Filter(frozenset({"policy"}), ("芯片",))


async def test_pause_and_resume(store: Store, clock: StepClock) -> None:
    sub, _ = await _subscribe(store)
    await store.pause(sub.id, "bot was blocked by the user")
    paused = await store.get_subscription_by_id(sub.id)
    assert paused is not None
    assert (paused.status, paused.paused_reason, paused.paused_at) == (
        "paused",
        "bot was blocked by the user",
        START,
    )
    resumed, created = await _subscribe(store)
    assert not created and resumed.status == "active" and resumed.paused_reason is None
    await store.pause(sub.id, "by owner")
    assert (await store.resume(sub.id)).status == "active"


async def test_pausing_drops_unsent_messages(store: Store) -> None:
    await store.record_incoming(incoming(make_digest()))
    sub, _ = await _subscribe(store)
    await _queue(store, sub.id, parts=2)
    assert (await store.delivery_summary(sub.id))["pending"] == 2
    await store.pause(sub.id, "by owner")
    assert (await store.delivery_summary(sub.id))["pending"] == 0
    assert await store.claim_due(START, 10, ["telegram"]) == []


async def test_update_validates_every_argument(store: Store) -> None:
    sub, _ = await _subscribe(store)
    with pytest.raises(ValueError, match="schedule"):
        await store.update_subscription(sub.id, schedule="every day")
    with pytest.raises(ValueError, match="time zone"):
        await store.update_subscription(sub.id, timezone="Mars/Olympus")
    with pytest.raises(ValueError, match="language"):
        await store.update_subscription(sub.id, language="fr")
    with pytest.raises(ValueError, match="quiet"):
        await store.update_subscription(sub.id, quiet="late")
    with pytest.raises(KeyError, match="42"):
        await store.update_subscription(42, language="en")
    assert await store.get_subscription_by_id(sub.id) == sub


async def test_schedule_and_timezone_changes_recompute_next_due(store: Store, clock: StepClock) -> None:
    sub, _ = await _subscribe(store)
    scheduled = await store.update_subscription(sub.id, schedule="at 20:00, 08:00")
    assert scheduled.schedule == "at 08:00,20:00"
    assert scheduled.next_due_at == datetime(2025, 6, 1, 12, 0, tzinfo=UTC)  # 20:00 in Shanghai
    moved = await store.update_subscription(sub.id, timezone="europe/london")
    assert moved.timezone == "Europe/London"
    assert moved.next_due_at == datetime(2025, 6, 1, 19, 0, tzinfo=UTC)  # 20:00 BST
    back = await store.update_subscription(sub.id, schedule="instant")
    assert back.next_due_at is None and back.schedule == "instant"
    cleared = await store.update_subscription(sub.id, quiet="23:00-06:30")
    assert cleared.quiet == "23:00-06:30"
    assert (await store.update_subscription(sub.id, quiet=None)).quiet is None
    assert (await store.update_subscription(sub.id, title="Renamed")).title == "Renamed"


async def test_migrate_chat_moves_subscriptions_and_unsent_rows(store: Store) -> None:
    await store.record_incoming(incoming(make_digest()))
    sub, _ = await _subscribe(store, chat="-100", kind="group")
    await _queue(store, sub.id)
    await store.migrate_chat("telegram", "-100", "-100200", "supergroup")
    moved = await store.get_subscription_by_id(sub.id)
    assert moved is not None and (moved.chat_id, moved.kind) == ("-100200", "supergroup")
    assert await store.get_subscription("telegram", "-100") is None
    [row] = await store.claim_due(START, 10, ["telegram"])
    assert (row.chat_id, row.kind) == ("-100200", "supergroup")


async def test_migrate_chat_onto_an_existing_subscription_retires_the_old_one(store: Store) -> None:
    await store.record_incoming(incoming(make_digest()))
    old, _ = await _subscribe(store, chat="-1", kind="group")
    new, _ = await _subscribe(store, chat="-1002", kind="supergroup")
    await _queue(store, old.id)
    await store.migrate_chat("telegram", "-1", "-1002", "supergroup")
    retired = await store.get_subscription_by_id(old.id)
    assert retired is not None and retired.status == "unsubscribed" and retired.chat_id == "-1"
    assert (await store.get_subscription_by_id(new.id)).status == "active"  # type: ignore[union-attr]
    assert await store.claim_due(START, 10, ["telegram"]) == []


async def test_list_subscriptions_for_a_creator(store: Store) -> None:
    a, _ = await _subscribe(store, chat="-1", kind="channel", created_by="admin")
    b, _ = await _subscribe(store, chat="-2", kind="channel", created_by="admin")
    await _subscribe(store, chat="-3", kind="channel", created_by="someone else")
    await store.unsubscribe(b.id)
    assert [s.id for s in await store.list_subscriptions_for("telegram", "admin")] == [a.id]
    assert await store.list_subscriptions_for("discord", "admin") == []


def _broadcast(
    platform: str, chat: str, kind: str, *, categories: frozenset[str] = frozenset(), **fields: Any
) -> BroadcastRow:
    """A broadcast as config loading hands it to the store: validated, categories resolved."""
    settings: dict[str, Any] = {"schedule": "instant", "timezone": "UTC", "language": "zh", "thread_id": None}
    settings.update(fields)
    return BroadcastRow(platform=platform, chat_id=chat, kind=kind, filter=Filter(categories), **settings)


async def test_sync_broadcasts_upserts_and_retires(store: Store, clock: StepClock) -> None:
    news = _broadcast("telegram", "-1001", "group", categories=frozenset({"tech", "policy"}))
    evening = _broadcast(
        "discord", "55", "guild_channel", thread_id="7", schedule="at 09:00", timezone="UTC", language="en"
    )
    first = await store.sync_broadcasts([replace(news, timezone="Asia/Shanghai"), evening])
    assert [s.origin for s in first] == ["config", "config"]
    assert first[0].filter.categories == frozenset({"tech", "policy"})
    assert (first[0].kind, first[0].timezone, first[0].language) == ("group", "Asia/Shanghai", "zh")
    assert (first[1].kind, first[1].schedule, first[1].thread_id) == ("guild_channel", "at 09:00", "7")
    assert first[1].next_due_at == datetime(2025, 6, 1, 9, 0, tzinfo=UTC)
    clock.advance(3600)
    second = await store.sync_broadcasts([evening])
    assert [s.id for s in second] == [first[1].id]
    gone = await store.get_subscription_by_id(first[0].id)
    assert gone is not None and gone.status == "unsubscribed"
    third = await store.sync_broadcasts([news, evening])
    assert {s.status for s in third} == {"active"} and third[0].id == first[0].id


async def test_syncing_the_same_broadcasts_again_writes_nothing(store: Store, clock: StepClock) -> None:
    """A restart (or every process of several starting) with an unchanged config leaves the rows
    as they are: no update, no row locked for the others to wait on."""
    rows = [_broadcast("telegram", "-1001", "group"), _broadcast("telegram", "-1002", "group", language="en")]
    first = await store.sync_broadcasts(rows)
    clock.advance(3600)
    again = await store.sync_broadcasts(rows)
    assert again == first  # updated_at included: nothing was written
    changed = await store.sync_broadcasts([rows[0], replace(rows[1], language="zh")])
    assert changed[0] == first[0] and changed[1].language == "zh"
    assert changed[1].updated_at > first[1].updated_at


async def test_sync_broadcasts_adopts_a_user_subscription_but_leaves_a_paused_one_paused(
    store: Store,
) -> None:
    user, _ = await _subscribe(store, chat="-5", kind="supergroup")
    await store.pause(user.id, "bot was kicked from the group chat")
    [synced] = await store.sync_broadcasts([_broadcast("telegram", "-5", "group")])
    assert synced.id == user.id and synced.origin == "config"
    assert synced.status == "paused" and synced.kind == "supergroup"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        # config loading reports these with their key paths; the store still refuses to store them
        ({"schedule": "hourly"}, "unknown schedule"),
        ({"timezone": "Nowhere/City"}, "unknown time zone"),
        ({"language": "fr"}, "unknown language"),
    ],
)
async def test_sync_broadcasts_rejects_bad_entries_without_writing(
    store: Store, fields: dict[str, str], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        await store.sync_broadcasts([_broadcast("telegram", "1", "private", **fields)])
    assert await store.get_subscription("telegram", "1") is None


async def test_stats_and_delivery_summary(store: Store, clock: StepClock) -> None:
    await store.record_incoming(incoming(make_digest()))
    a, _ = await _subscribe(store, chat="1")
    b, _ = await _subscribe(store, chat="-2", kind="group")
    await store.pause(b.id, "kicked")
    await _queue(store, a.id, parts=2)
    async with store.transaction() as tx:
        await tx.digests.advance_plan(1, a.id, done=True, now=START)
    [first] = await store.claim_due(START, 10, ["telegram"])
    assert await store.mark_sending(first.id, START)
    clock.advance(5)
    await store.mark_sent(first.id, "m1", clock.now())
    [second] = await store.claim_due(clock.now(), 10, ["telegram"])
    assert await store.mark_sending(second.id, clock.now())
    await store.fail_delivery(second.id, "gave up: timeout", clock.now())

    stats = await store.stats(clock.now() + timedelta(hours=1))
    assert stats["subscriptions"] == {"telegram": {"group": {"paused": 1}, "private": {"active": 1}}}
    assert stats["deliveries_24h"] == {"failed": 1, "sent": 1}
    last = stats["last_digest"]
    assert last["id"] == "2025.06.01.08" and last["deliveries"] == {"failed": 1, "sent": 1}
    assert last["fanout_seconds"] == 5.0
    assert (await store.stats(clock.now() + timedelta(days=2)))["deliveries_24h"] == {}

    summary = await store.delivery_summary(a.id)
    assert summary["last_sent_at"] == START + timedelta(seconds=5)
    assert summary["pending"] == 0
    assert summary["last_error"] == "gave up: timeout"
    assert await store.delivery_summary(b.id) == {
        "last_sent_at": None,
        "pending": 0,
        "last_error": None,
        "last_error_at": None,
    }


async def test_stats_on_an_empty_database(store: Store) -> None:
    stats = await store.stats(START)
    size = stats.pop("database_bytes")
    assert size > 0 and (store.dialect != "sqlite" or size == store.file_size())
    assert stats == {"subscriptions": {}, "deliveries_24h": {}, "open": 0, "last_digest": None}


async def test_insert_many_validates_and_skips_existing_chats(store: Store) -> None:
    existing, _ = await _subscribe(store, chat="1")
    rows = [
        NewSubscription("telegram", "1", "private", title="dup"),
        NewSubscription("telegram", "2", "group", filter=Filter(frozenset({"tech"})), quiet="23:00-07:00"),
        NewSubscription("discord", "3", "guild_channel", thread_id="9", schedule="at 20:00", timezone="utc"),
    ]
    async with store.transaction() as tx:
        assert await tx.subscriptions.insert_many(rows, START) == 2
    assert (await store.get_subscription("telegram", "1")) == existing
    group = await store.get_subscription("telegram", "2")
    assert group is not None and group.quiet == "23:00-07:00" and group.filter.categories == {"tech"}
    scheduled = await store.get_subscription("discord", "3", "9")
    assert scheduled is not None and scheduled.timezone == "UTC"
    assert scheduled.next_due_at == datetime(2025, 6, 1, 20, 0, tzinfo=UTC)


async def test_insert_many_writes_many_statements_worth_in_order(store: Store) -> None:
    """Rows go in INSERT_ROWS at a time: a chunk's count leaves out chats subscribed already,
    whichever chunk they fall in, and ids follow the input's order across chunks."""
    await _subscribe(store, chat=str(INSERT_ROWS + 1))
    chats = [str(n) for n in range(2 * INSERT_ROWS + 3)] + ["0"]  # "0" twice, once in another chunk
    async with store.transaction() as tx:
        added = await tx.subscriptions.insert_many(
            (NewSubscription("telegram", chat, "private") for chat in chats), START
        )
    assert added == len(chats) - 2
    rows = values(store, "SELECT chat_id FROM subscriptions WHERE title = '' ORDER BY id")
    assert [chat for (chat,) in rows] == [chat for chat in chats[:-1] if chat != str(INSERT_ROWS + 1)]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (NewSubscription("telegram", "5", "private", language="fr"), "language"),
        (NewSubscription("telegram", "5", "private", schedule="hourly"), "schedule"),
        (NewSubscription("telegram", "5", "private", timezone="Nowhere/City"), "time zone"),
        (NewSubscription("telegram", "5", "private", quiet="night"), "quiet"),
    ],
)
async def test_insert_many_rejects_bad_rows(store: Store, row: NewSubscription, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        async with store.transaction() as tx:
            await tx.subscriptions.insert_many([row], START)
    assert await store.get_subscription("telegram", "5") is None


async def test_pausing_an_unsubscribed_chat_leaves_it_unsubscribed(store: Store) -> None:
    sub, _ = await _subscribe(store)
    await store.unsubscribe(sub.id)
    await store.pause(sub.id, "bot was kicked")
    after = await store.get_subscription_by_id(sub.id)
    assert after is not None and after.status == "unsubscribed" and after.paused_reason is None
    with pytest.raises(KeyError):
        await store.pause(404, "gone")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"timezone": "Mars/Olympus"}, "time zone"),
        ({"language": "fr"}, "language"),
    ],
)
async def test_subscribe_rejects_bad_arguments(store: Store, overrides: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        await _subscribe(store, chat="9", **overrides)
    assert await store.get_subscription("telegram", "9") is None
