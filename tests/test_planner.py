"""Fan-out of a new digest into ledger rows: filters, platforms, quiet hours, resumability."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from clocks import AutoClock
from db_reads import values
from ledger_helpers import Crash, SpyRenderer
from sample_digests import VOCABULARY, incoming, make_digest

from bot.core.model import Category, Digest, Filter
from bot.delivery.expander import Expander, fan_out
from bot.delivery.planner import Composer, Planner, as_payload
from bot.platforms.registry import default_renderers
from bot.render.options import RenderOptions
from bot.store.db import Store

pytestmark = pytest.mark.both_backends

NOW = datetime(2025, 6, 1, 0, 30, tzinfo=UTC)  # 08:30 in Shanghai


@pytest.fixture
def clock() -> AutoClock:
    return AutoClock(NOW)


async def _sub(store: Store, chat: str, *, platform: str = "telegram", **settings: Any) -> int:
    categories = settings.pop("categories", None)
    sub, _ = await store.subscribe(
        platform,
        chat,
        None,
        kind={"telegram": "private", "discord": "guild_channel", "console": "console"}[platform],
        title=chat,
        created_by="u",
        language=settings.pop("language", "zh"),
        timezone=settings.pop("timezone", "Asia/Shanghai"),
        categories=categories,
    )
    if settings:
        await store.update_subscription(sub.id, **settings)
    return sub.id


async def _rows(store: Store) -> list[Any]:
    return await store.claim_due(NOW + timedelta(days=2), 10_000, ["telegram", "discord", "console"])


async def _all_rows(store: Store) -> list[tuple[Any, ...]]:
    """The committed ledger, read through a separate connection as another process would."""
    return values(
        store, "SELECT subscription_id, unit, part, parts, state, next_attempt_at FROM deliveries ORDER BY id"
    )


async def test_each_subscription_gets_its_selection_rendered_for_its_platform(store: Store) -> None:
    await store.record_incoming(incoming(make_digest(items=4)))
    everything = await _sub(store, "1")
    tech = await _sub(store, "2", categories=frozenset({"tech"}))
    nothing = await _sub(store, "3", filter=Filter(include=("不存在的关键词",)))
    discord = await _sub(store, "4", platform="discord", language="en", categories=frozenset({"policy"}))
    console = await _sub(store, "local", platform="console")
    planner = Planner(store, VOCABULARY, clock=AutoClock(NOW), renderers=default_renderers())
    assert await planner.plan_pending() == 1
    expander = Expander(store, VOCABULARY, clock=AutoClock(NOW), renderers=default_renderers())
    assert await expander.expand_all() == 4
    rows = {row.subscription_id: row for row in await _rows(store)}
    assert set(rows) == {everything, tech, discord, console}
    assert nothing not in rows
    assert "第1条" in rows[everything].payload["text"] and "第4条" in rows[everything].payload["text"]
    assert "第1条" in rows[tech].payload["text"] and "第2条" not in rows[tech].payload["text"]
    assert rows[tech].payload["parse_mode"] == "HTML"
    assert {e["title"] for e in rows[discord].payload["embeds"]} == {"2\\. 第2条：测试新闻"}
    assert rows[console].payload["text"].startswith("2025.06.01.08")
    assert all(row.unit == "d1" and (row.part, row.parts) == (1, 1) for row in rows.values())
    assert await planner.plan_pending() == 0
    assert await expander.expand_all() == 0


async def test_a_digest_with_no_items_plans_nothing(store: Store) -> None:
    """The README's promise, which `preview` mirrors: a post with no items sends nothing anywhere."""
    await store.record_incoming(incoming(make_digest(items=0)))
    await _sub(store, "1")
    await _sub(store, "2", platform="discord")
    await _sub(store, "local", platform="console")
    assert await fan_out(store, VOCABULARY, clock=AutoClock(NOW), renderers=default_renderers()) == 0
    assert await _all_rows(store) == []


async def test_render_options_follow_the_subscription(store: Store) -> None:
    extra = Category("space", "太空", "Space")
    digest = replace(make_digest(), extra_categories=(extra,))
    await store.record_incoming(incoming(digest))
    await _sub(store, "1", language="en", timezone="Europe/Berlin", categories=frozenset({"tech", "policy"}))
    spy = SpyRenderer(parts=1)
    await fan_out(store, VOCABULARY, renderers={"telegram": spy})
    [(_, options)] = spy.calls
    assert options.language == "en" and str(options.timezone) == "Europe/Berlin"
    assert options.selected == frozenset({"tech", "policy"})
    assert options.vocabulary.get("space") == extra


async def test_parts_become_ordered_rows_and_renders_are_shared(store: Store) -> None:
    await store.record_incoming(incoming(make_digest()))
    for chat in range(30):
        await _sub(store, str(chat), categories=frozenset({"tech"}) if chat % 2 else None)
    spy = SpyRenderer(parts=3)
    woken: list[int] = []
    await Planner(store, VOCABULARY, renderers={"telegram": spy}).plan_pending()
    assert len(spy.calls) == 2  # one render per distinct (filter, time zone, language)
    expander = Expander(
        store, VOCABULARY, renderers={"telegram": spy}, batch_size=7, on_enqueued=lambda: woken.append(1)
    )
    assert await expander.expand_all() == 90
    assert len(spy.calls) == 2  # expanding renders nothing again
    assert len(woken) == 5  # after each committed batch: sending starts while expansion goes on
    rows = await _all_rows(store)
    assert [(r[2], r[3]) for r in rows[:3]] == [(1, 3), (2, 3), (3, 3)]


async def test_scheduled_paused_and_unsubscribed_subscriptions_are_skipped(store: Store) -> None:
    await store.record_incoming(incoming(make_digest()))
    instant = await _sub(store, "1")
    await _sub(store, "2", schedule="at 20:00")
    await store.pause(await _sub(store, "3"), "by owner")
    await store.unsubscribe(await _sub(store, "4"))
    await fan_out(store, VOCABULARY, renderers={"telegram": SpyRenderer(1)})
    assert {r[0] for r in await _all_rows(store)} == {instant}


async def test_quiet_hours_delay_instant_rows_until_they_end(store: Store) -> None:
    await store.record_incoming(incoming(make_digest()))
    loud = await _sub(store, "1")
    sleepy = await _sub(store, "2", quiet="22:00-09:00")  # it is 08:30 in Shanghai
    await fan_out(store, VOCABULARY, renderers={"telegram": SpyRenderer(1)}, clock=AutoClock(NOW))
    due = {r[0]: datetime.fromisoformat(r[5]) for r in await _all_rows(store)}
    assert due[loud] == NOW
    assert due[sleepy] == datetime(2025, 6, 1, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
    assert [r.subscription_id for r in await store.claim_due(NOW, 10, ["telegram"])] == [loud]


async def test_changed_and_broken_digests_are_not_planned(store: Store) -> None:
    await store.record_incoming(incoming(make_digest(), content_hash="a"))
    await store.record_incoming(incoming(make_digest(extra="（修订）"), content_hash="b"))
    await _sub(store, "1")
    planner = Planner(store, VOCABULARY, renderers={"telegram": SpyRenderer(1)})
    assert await planner.plan_pending() == 1
    assert await planner.plan_digest(2) is None


async def test_a_crash_while_planning_leaves_no_rows_and_planning_again_resumes(store: Store) -> None:
    await store.record_incoming(incoming(make_digest()))
    subs = [await _sub(store, str(chat), timezone=["UTC", "Asia/Tokyo"][chat % 2]) for chat in range(10)]
    crashing = SpyRenderer(parts=2, crash_after=1)  # dies rendering the second reading
    with pytest.raises(Crash):
        await fan_out(store, VOCABULARY, renderers={"telegram": crashing}, batch_size=1)
    assert await _all_rows(store) == []
    resumed = SpyRenderer(parts=2)
    assert await fan_out(store, VOCABULARY, renderers={"telegram": resumed}, batch_size=3) == 20
    rows = await _all_rows(store)
    assert sorted((r[0], r[2]) for r in rows) == sorted((s, p) for s in subs for p in (1, 2))
    assert await fan_out(store, VOCABULARY, renderers={"telegram": resumed}) == 0


async def test_replanning_from_scratch_adds_nothing(store: Store) -> None:
    await store.record_incoming(incoming(make_digest()))
    for chat in range(5):
        await _sub(store, str(chat))
    renderers = {"telegram": SpyRenderer(2)}
    assert await fan_out(store, VOCABULARY, renderers=renderers, batch_size=2) == 10
    async with store.transaction() as tx:  # as if the cursor had been lost
        await tx.conn.execute(
            "UPDATE digests SET plan_state = 'pending', plan_cursor = 0, planned_at = NULL WHERE seq = 1"
        )
    assert await fan_out(store, VOCABULARY, renderers=renderers, batch_size=2) == 0
    assert len(await _all_rows(store)) == 10


async def test_a_failing_renderer_costs_only_its_subscribers(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    await store.record_incoming(incoming(make_digest()))
    await _sub(store, "1")
    fine = await _sub(store, "2", platform="discord")

    def broken(digest: Digest, options: RenderOptions) -> list[Any]:
        raise RuntimeError("renderer bug")

    renderers = {"telegram": broken, "discord": SpyRenderer(1)}
    with caplog.at_level(logging.ERROR):
        assert await fan_out(store, VOCABULARY, renderers=renderers) == 1
    assert "cannot compose digest" in caplog.text
    assert {r[0] for r in await _all_rows(store)} == {fine}


def test_composer_without_a_renderer_for_a_platform_yields_nothing(caplog: pytest.LogCaptureFixture) -> None:
    composer = Composer(VOCABULARY, {})
    with caplog.at_level(logging.ERROR):
        assert composer.compose(1, make_digest(), "matrix", '{"categories":[]}', "UTC", "zh") == ()
    assert "matrix" in caplog.text


def test_default_renderers_cover_every_platform() -> None:
    assert set(default_renderers()) == {"telegram", "discord", "console"}
    assert as_payload("hello") == {"text": "hello"}
    assert as_payload({"content": "x"}) == {"content": "x"}


def test_the_expander_rejects_a_useless_batch_size(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="batch_size"):
        Expander(None, VOCABULARY, batch_size=0, renderers=default_renderers())  # type: ignore[arg-type]
