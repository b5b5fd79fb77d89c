"""Planning, expansion and scheduled posts render with no transaction open, yet write what is current.

A render may take seconds (a large digest, many distinct filters); commands and deliveries must not
wait for it, and a subscription changed meanwhile must get rows for its new settings.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import sqlite3
import sys
import time
from contextlib import closing
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from clocks import ManualClock
from ledger_helpers import SpyRenderer
from render_gate import REPLY_BOUND, WAIT, Gate
from sample_digests import VOCABULARY as VOCABULARY_SMALL
from sample_digests import incoming, make_digest

from bot.commands.model import Caller, ChatRef, Command
from bot.commands.service import CommandService
from bot.core.model import Category, Digest, Filter, Item, Span, Vocabulary
from bot.delivery.expander import Expander, fan_out
from bot.delivery.planner import Planner, share_the_interpreter
from bot.delivery.scheduler import Scheduler
from bot.platforms.registry import default_renderers
from bot.store.db import Store
from bot.store.deliveries import StoredPayload
from bot.store.subscriptions import NewSubscription

LOCK_BOUND = 0.05  # what one short planner transaction may keep a command waiting for the store
CATEGORIES = [f"c{n}" for n in range(10)]
VOCABULARY = Vocabulary(
    [Category(c, f"类别{c}", c.upper()) for c in CATEGORIES] + [Category("bulk", "其他", "Bulk")]
)
NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


def large_digest(size: int = 512 * 1024) -> Digest:
    """One ~1 KB item per category c0..c9 (what the filters pick), the rest of `size` in 'bulk' items."""
    items: list[Item] = []
    for category in CATEGORIES:
        n = len(items) + 1
        text = f"第{n}条摘要，关于{category}的进展。" * 40
        items.append(_item(n, text, category))
    while sum(len(item.text().encode()) for item in items) < size:
        n = len(items) + 1
        items.append(_item(n, f"第{n}条：大量的背景资料。" * 150, "bulk"))
    return Digest("2030.01.01.20", "大文摘", NOW, items=tuple(items), source="folder")


def _item(n: int, text: str, category: str) -> Item:
    return Item(
        n, f"第{n}条新闻", url=f"https://news.example/{n}", summary=((Span(text),),), categories=(category,)
    )


def distinct_filters(count: int) -> list[Filter]:
    """`count` different category filters over c0..c9 (there are 1,023): each selects other items."""
    subsets = (frozenset(s) for r in range(1, 11) for s in itertools.combinations(CATEGORIES, r))
    return [Filter(categories=subset) for subset in itertools.islice(subsets, count)]


class TimedLock:
    """The store's lock, recording how long each acquisition waited."""

    def __init__(self, lock: asyncio.Lock) -> None:
        self.lock = lock
        self.waits: list[float] = []

    async def __aenter__(self) -> None:
        started = time.perf_counter()
        await self.lock.acquire()
        self.waits.append(time.perf_counter() - started)

    async def __aexit__(self, *exc_info: object) -> None:
        self.lock.release()


def _count_rows(store: Store) -> int:
    with closing(sqlite3.connect(store.path)) as raw:
        return int(raw.execute("SELECT count(*) FROM deliveries").fetchone()[0])


async def test_a_command_is_answered_while_a_large_digest_is_planned(store: Store) -> None:
    interval = sys.getswitchinterval()
    share_the_interpreter()  # as the app does at start
    try:
        await command_during_fan_out(store)
    finally:
        sys.setswitchinterval(interval)


async def command_during_fan_out(store: Store) -> None:
    filters = distinct_filters(1000)
    async with store.transaction() as tx:
        await tx.subscriptions.insert_many(
            (NewSubscription("telegram", str(n), "private", filter=f) for n, f in enumerate(filters)), NOW
        )
    digest = large_digest()
    assert len(json.dumps([item.text() for item in digest.items], ensure_ascii=False).encode()) >= 512 * 1024
    result = await store.record_incoming(incoming(digest))
    assert result.seq is not None
    gate = Gate(default_renderers()["telegram"], held=False)
    planner = Planner(store, VOCABULARY, renderers={"telegram": gate})
    service = CommandService(store, VOCABULARY, renderers=default_renderers())
    planning = asyncio.ensure_future(planner.plan_digest(result.seq))
    try:
        await gate.rendering()
        other = ChatRef("telegram", "-200", None, kind="supergroup", title="Another chat")
        lock = TimedLock(store._lock)
        store._lock = lock  # type: ignore[assignment]
        started = time.perf_counter()
        reply = await service.handle(Command("subscribe", ("c1",), other, Caller("7", language="en")))
        waited = time.perf_counter() - started
        store._lock = lock.lock
        still_planning = not planning.done()
    finally:
        assert await planning == len(filters)  # every distinct filter rendered once
    added = await Expander(store, VOCABULARY, renderers={"telegram": gate}, batch_size=1000).expand_all()
    assert not reply.error and "subscribed" in reply.text.lower()
    assert waited < REPLY_BOUND, f"a command waited {waited:.2f} s for the fan-out's render"
    assert lock.waits and max(lock.waits) < LOCK_BOUND, f"the command waited for the store: {lock.waits}"
    assert still_planning, "the command must be measured while the batch is being rendered"
    assert added == _count_rows(store) >= 1000  # every distinct filter got its rows


async def _instant(store: Store, chat: str, **settings: Any) -> int:
    sub, _ = await store.subscribe(
        "telegram", chat, None, kind="private", title=chat, created_by="u", language="zh", timezone="UTC"
    )
    if settings:
        await store.update_subscription(sub.id, **settings)
    return sub.id


def _payload_texts(store: Store) -> dict[int, list[str]]:
    with closing(sqlite3.connect(store.path)) as raw:
        query = "SELECT d.subscription_id, p.body FROM deliveries d JOIN payloads p ON p.id = d.payload_id"
        found: dict[int, list[str]] = {}
        for subscription_id, body in raw.execute(query):
            found.setdefault(subscription_id, []).append(json.loads(body)["text"])
        return found


async def test_settings_changed_while_a_batch_renders_are_what_its_rows_follow(store: Store) -> None:
    result = await store.record_incoming(incoming(make_digest(items=4)))  # categories tech, policy, ...
    assert result.seq is not None
    changed = await _instant(store, "1", filter=Filter(categories=frozenset({"tech"})))
    left = await _instant(store, "2")
    kept = await _instant(store, "3", filter=Filter(categories=frozenset({"jobs"})))
    gate = Gate(SpyRenderer(parts=1))
    planning = asyncio.ensure_future(
        Planner(store, VOCABULARY_SMALL, renderers={"telegram": gate}).plan_digest(result.seq)
    )
    try:
        await gate.rendering()
        # The render holds no lock: these commit at once, before any row is written.
        await asyncio.wait_for(
            store.update_subscription(changed, filter=Filter(categories=frozenset({"policy"}))), WAIT / 2
        )
        await asyncio.wait_for(store.unsubscribe(left), WAIT / 2)
    finally:
        gate.opened.set()
        assert await planning == 3
    added = await Expander(store, VOCABULARY_SMALL, renderers={"telegram": gate}).expand_all()
    texts = _payload_texts(store)
    assert added == 2 and set(texts) == {changed, kept}
    assert texts[changed] == ["2025.06.01.08 [2] part 1"]  # item 2 is the policy item
    assert texts[kept] == ["2025.06.01.08 [3] part 1"]


async def test_a_scheduled_post_renders_without_the_lock_and_follows_a_change_made_meanwhile(
    store: Store,
) -> None:
    clock = ManualClock(NOW)
    sub, _ = await store.subscribe(
        "telegram", "1", None, kind="private", title="1", created_by="u", language="zh", timezone="UTC"
    )
    await store.update_subscription(
        sub.id, schedule="at 13:00", filter=Filter(categories=frozenset({"tech"}))
    )
    result = await store.record_incoming(incoming(make_digest(items=4)))
    assert result.seq is not None
    await fan_out(store, VOCABULARY_SMALL, renderers={"telegram": SpyRenderer(1)})
    gate = Gate(SpyRenderer(parts=1))
    scheduler = Scheduler(store, VOCABULARY_SMALL, renderers={"telegram": gate}, clock=clock)
    await clock.advance(timedelta(hours=1).total_seconds())
    firing = asyncio.ensure_future(scheduler.run_due())
    try:
        await gate.rendering()
        await asyncio.wait_for(
            store.update_subscription(sub.id, filter=Filter(categories=frozenset({"jobs"}))), WAIT / 2
        )
    finally:
        gate.opened.set()
        added = await firing
    assert added == 1
    assert _payload_texts(store) == {sub.id: ["2025.06.01.08 [3] part 1"]}  # item 3 is the jobs item
    assert await scheduler.run_due() == 0  # the slot is spent: nothing fires twice


async def test_two_planners_and_expanders_of_one_digest_add_every_row_once(store: Store) -> None:
    result = await store.record_incoming(incoming(make_digest(items=4)))
    assert result.seq is not None
    subs = [await _instant(store, str(chat), language=["zh", "en"][chat % 2]) for chat in range(7)]
    renderers = {"telegram": SpyRenderer(parts=2)}
    planners = [Planner(store, VOCABULARY_SMALL, renderers=renderers) for _ in range(2)]
    planned = await asyncio.gather(*(planner.plan_digest(result.seq) for planner in planners))
    assert sorted(planned, key=str) == [2, None]  # one planned it, the other found it planned
    expanders = [Expander(store, VOCABULARY_SMALL, renderers=renderers, batch_size=2) for _ in range(2)]
    added = await asyncio.gather(*(expander.expand_all() for expander in expanders))
    assert sum(added) == 14
    assert sorted(len(texts) for texts in _payload_texts(store).values()) == [2] * len(subs)


async def test_bodies_saved_ahead_of_their_rows_are_stored_once(store: Store) -> None:
    bodies = [StoredPayload.of({"text": f"message {n}"}) for n in range(150)]
    await store.save_payloads(bodies + bodies[:10])
    await store.save_payloads(bodies)
    with closing(sqlite3.connect(store.path)) as raw:
        stored = dict(raw.execute("SELECT hash, body FROM payloads").fetchall())
    assert stored == {body.hash: body.body for body in bodies}
