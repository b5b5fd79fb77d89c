"""End to end against the loopback Discord: /latest and digests as Create Message calls, checked
against Discord's limits, with the platform's answers turned into delivery outcomes.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from discord_limits import check_create_message
from discord_world import FAST, TOKEN, VOCABULARY, World, build_world, digest, discord_config, record
from fake_discord import FakeDiscord
from fake_discord_model import FORUM, PUBLIC_THREAD, SEND_MESSAGES
from waiting import wait_for

from bot.commands.config import CommandBudgetConfig
from bot.commands.service import CommandService
from bot.core.clock import SystemClock
from bot.core.model import Digest, Item, Span
from bot.delivery.config import DeliveryConfig
from bot.delivery.engine import DeliveryEngine
from bot.delivery.expander import fan_out
from bot.delivery.outcome import ChatGone, FormatRejected, RetryAfter, Sent, Target, Transient
from bot.delivery.ratelimit import RateLimiter, RatePolicy
from bot.platforms.discord.client import DiscordPlatform
from bot.platforms.discord.render import render_discord
from bot.platforms.registry import default_renderers
from bot.render.options import RenderOptions
from bot.sources.base import Incoming
from bot.store.db import Store

# -- /latest ----------------------------------------------------------------------------------------


async def test_latest_sends_embeds_that_pass_the_limits(world: World) -> None:
    await world.command(world.admin, world.news, "subscribe", {"categories": "robotics"})
    await record(world.store)
    answer = await world.command(world.member, world.news, "latest")
    assert answer.callbacks[0] == {"type": 5, "data": {"flags": 64}}
    assert all(check_create_message(body) == [] for body in answer.followups)
    embeds = [e for body in answer.followups for e in body.get("embeds", [])]
    assert [e["url"] for e in embeds] == ["https://example.org/robot", "https://example.org/both"]
    assert answer.followups[0]["allowed_mentions"] == {"parse": []}


async def test_latest_public_and_split_over_several_messages(world: World) -> None:
    long_items = tuple(
        Item(n, f"第 {n} 条", None, f"https://example.org/{n}", ((Span("长" * 1500),),), ("tech",))
        for n in range(1, 13)
    )
    big = Digest("big", "Big digest", datetime(2031, 5, 1, tzinfo=UTC), long_items)
    await world.store.record_incoming(Incoming("folder", "big.md", "hash-big", big))
    expected = render_discord(big, RenderOptions(VOCABULARY, language="en"))
    assert len(expected) > 1
    answer = await world.command(world.member, world.news, "latest", {"public": True}, messages=len(expected))
    assert answer.callbacks[0] == {"type": 5}
    assert len(answer.followups) == len(expected)
    assert all(not (body.get("flags") or 0) & 64 for body in answer.followups)
    for sent, rendered in zip(answer.followups, expected, strict=True):
        assert sent.get("content") == rendered.get("content")
        assert [dict(e, flags=0) for e in sent.get("embeds", [])] == [
            dict(e, flags=0) for e in rendered.get("embeds", [])
        ]


# -- delivery ---------------------------------------------------------------------------------------


async def test_sender_posts_the_rendered_body_unchanged(world: World) -> None:
    body = render_discord(digest(), RenderOptions(VOCABULARY, language="zh"))[0]
    outcome = await world.platform.sender.send(Target("discord", world.news.id, None, "guild_channel"), body)
    assert isinstance(outcome, Sent)
    [posted] = world.fake.posted
    assert posted.body == body and posted.id == outcome.message_id and posted.channel_id == world.news.id


async def test_sender_opens_one_forum_post_per_digest(world: World) -> None:
    forum = world.fake.add_channel(world.guild, "digest-forum", FORUM)
    await world.fake.dispatch("CHANNEL_CREATE", forum.payload())
    body = render_discord(digest(), RenderOptions(VOCABULARY, language="zh"))[0]
    outcome = await world.platform.sender.send(Target("discord", forum.id, None, "forum"), body)
    assert isinstance(outcome, Sent)
    [post] = world.fake.posted
    assert post.thread_name == "2031.04.01.08 AI 要闻"
    assert world.fake.channels[post.channel_id].parent_id == forum.id
    assert post.body == body


@pytest.mark.parametrize(
    ("status", "code", "reason"),
    [
        (403, 50013, "Missing Permissions (50013)"),
        (403, 50001, "Missing Access (50001)"),
        (404, 10003, "Unknown Channel (10003)"),
    ],
)
async def test_refused_channels_are_gone(world: World, status: int, code: int, reason: str) -> None:
    world.fake.fail(world.news.id, status, code)
    outcome = await world.platform.sender.send(
        Target("discord", world.news.id, None, "guild_channel"), {"content": "hi"}
    )
    assert outcome == ChatGone(reason)


async def test_a_target_that_is_not_a_channel_id_is_gone_without_a_request(world: World) -> None:
    requests = len(world.fake.requests)
    outcome = await world.platform.sender.send(
        Target("discord", "#news", None, "guild_channel"), {"content": "hi"}
    )
    assert outcome == ChatGone("'#news' is not a Discord channel id (a number)")
    assert len(world.fake.requests) == requests


async def test_an_oversized_body_is_rejected_and_the_plain_copy_goes_through(world: World) -> None:
    sender, target = world.platform.sender, Target("discord", world.news.id, None, "guild_channel")
    body = {"content": "x", "embeds": [{"title": "t" * 300}], "allowed_mentions": {"parse": []}}
    outcome = await sender.send(target, body)
    assert isinstance(outcome, FormatRejected) and "embeds.0.title" in outcome.reason
    assert isinstance(await sender.send(target, sender.plain(body)), Sent)


async def test_server_errors_are_transient(world: World) -> None:
    world.fake.fail(world.news.id, 503, 0, times=1, message="Service Unavailable")
    assert isinstance(
        await world.platform.sender.send(
            Target("discord", world.news.id, None, "guild_channel"), {"content": "a"}
        ),
        Transient,
    )


async def test_short_429s_are_waited_out_by_discord_py_long_ones_come_back(world: World) -> None:
    sender, target = world.platform.sender, Target("discord", world.news.id, None, "guild_channel")
    world.fake.rate_limit(world.news.id, 0.05)
    assert isinstance(await sender.send(target, {"content": "after a short wait"}), Sent)
    assert [r[2] for r in world.fake.requests if r[1].endswith(f"/channels/{world.news.id}/messages")] == [
        429,
        200,
    ]
    world.fake.rate_limit(world.news.id, 45.0)
    assert await sender.send(target, {"content": "later"}) == RetryAfter(45.0)


async def test_digest_arrives_with_only_the_selected_items_and_a_lost_channel_pauses(world: World) -> None:
    """subscribe -> a digest is planned and sent as embeds with only the chosen categories; then the
    bot loses Send Messages: one refused post, the subscription pauses, nothing more is sent there."""
    await world.command(world.admin, world.news, "subscribe", {"categories": "robotics, jobs"})
    engine = DeliveryEngine(
        world.store,
        {"discord": world.platform.sender},
        RateLimiter({"discord": RatePolicy(FAST)}, SystemClock()),
        DeliveryConfig(),
    )

    await record(world.store, 1)
    assert await fan_out(world.store, VOCABULARY, renderers=default_renderers()) >= 1
    await engine.drain(horizon=0.5)
    posts = [p for p in world.fake.posted if p.channel_id == world.news.id]
    urls = [e["url"] for p in posts for e in p.body.get("embeds", [])]
    assert urls == ["https://example.org/robot", "https://example.org/jobs", "https://example.org/both"]
    assert all(check_create_message(p.body) == [] for p in posts)

    world.fake.set_overwrite(world.news, world.fake.bot.id, deny=SEND_MESSAGES, member=True)
    await record(world.store, 2)
    await fan_out(world.store, VOCABULARY, renderers=default_renderers())
    await engine.drain(horizon=0.5)
    sub = await world.subscription(world.news)
    assert sub.status == "paused" and "Missing Permissions" in (sub.paused_reason or "")
    attempts = [r for r in world.fake.requests if r[1].endswith(f"/channels/{world.news.id}/messages")]
    assert [r[2] for r in attempts][-1] == 403

    await record(world.store, 3)
    await fan_out(world.store, VOCABULARY, renderers=default_renderers())
    await engine.drain(horizon=0.5)
    assert [
        r for r in world.fake.requests if r[1].endswith(f"/channels/{world.news.id}/messages")
    ] == attempts

    status = await world.command(world.admin, world.news, None, group="status")
    assert "paused" in status.text()


async def test_a_post_whose_answer_is_lost_is_not_sent_again(world: World) -> None:
    """Discord stored the message but the connection dropped before the answer (issue 14): the row
    is `uncertain` and the channel holds exactly one copy; the next digest goes out as usual."""
    await world.command(world.admin, world.news, "subscribe", {"categories": "robotics"})
    world.fake.drop_answers(world.news.id)
    engine = DeliveryEngine(
        world.store,
        {"discord": world.platform.sender},
        RateLimiter({"discord": RatePolicy(FAST)}, SystemClock()),
        DeliveryConfig(backoff_base=0.05),
    )
    await record(world.store, 1)
    assert await fan_out(world.store, VOCABULARY, renderers=default_renderers()) == 1
    await engine.drain(horizon=0.5)  # a retry (backoff 25-50 ms) would fall well inside this
    posts = [p for p in world.fake.posted if p.channel_id == world.news.id]
    assert len(posts) == 1
    stats = await world.store.stats(world.store.clock.now())
    assert stats["deliveries_24h"] == {"uncertain": 1}
    await record(world.store, 2)
    await fan_out(world.store, VOCABULARY, renderers=default_renderers())
    await engine.drain(horizon=0.5)
    assert len([p for p in world.fake.posted if p.channel_id == world.news.id]) == 2


async def test_removal_from_a_server_pauses_and_subscribe_resumes(world: World) -> None:
    await world.command(world.admin, world.news, "subscribe", {"categories": "jobs"})
    await world.fake.remove_guild(world.guild)

    async def paused() -> bool:
        sub = await world.subscription(world.news)
        return sub.status == "paused"

    await wait_for(paused, 5, "the subscription to be paused")
    assert "AI readers" in (await world.subscription(world.news)).paused_reason

    await world.fake.rejoin(world.guild)
    await wait_for(lambda: world.platform.client.get_guild(int(world.guild.id)) is not None, 5, "the guild")
    answer = await world.command(world.admin, world.news, "subscribe")
    assert answer.text().startswith(
        "Subscription resumed; keywords, schedule and other settings are unchanged."
    )
    assert "Categories unchanged: Jobs." in answer.text()
    sub = await world.subscription(world.news)
    assert sub.status == "active" and sub.filter.categories == {"jobs"}


async def test_a_forum_subscription_posts_each_digest_as_a_new_post(world: World) -> None:
    forum = world.fake.add_channel(world.guild, "digest-forum", FORUM)
    await world.fake.dispatch("CHANNEL_CREATE", forum.payload())
    answer = await world.command(
        world.admin, world.news, "subscribe", {"channel": forum, "categories": "tech"}
    )
    assert answer.text() == "Subscribed: Tech."
    assert (await world.subscription(forum)).kind == "forum"
    engine = DeliveryEngine(
        world.store,
        {"discord": world.platform.sender},
        RateLimiter({"discord": RatePolicy(FAST)}, SystemClock()),
        DeliveryConfig(),
    )
    for number in (1, 2):
        await record(world.store, number)
        await fan_out(world.store, VOCABULARY, renderers=default_renderers())
        await engine.drain(horizon=0.5)
    posts = [p for p in world.fake.posted if world.fake.channels[p.channel_id].parent_id == forum.id]
    assert [p.thread_name for p in posts] == ["2031.04.01.08 AI 要闻", "2031.04.02.08 AI 要闻"]
    assert len({p.channel_id for p in posts}) == 2


async def test_sender_waits_for_the_gateway(tmp_path: Path) -> None:
    fake = FakeDiscord(TOKEN)
    await fake.start()
    store = await Store.open(tmp_path / "db.sqlite")
    platform = DiscordPlatform(
        discord_config(fake),
        CommandService(store, VOCABULARY, renderers=default_renderers()),
        default_language="en",
    )
    try:
        outcome = await platform.sender.send(
            Target("discord", "1", None, "guild_channel"), {"content": "too early"}
        )
        assert isinstance(outcome, Transient) and "not connected" in outcome.reason
        assert fake.posted == []
    finally:
        await platform.stop()
        await store.close()
        await fake.stop()


async def test_a_dm_subscription_receives_digests(world: World) -> None:
    dm = world.fake.add_dm(world.member)
    outcome = await world.platform.sender.send(Target("discord", dm.id, None, "dm"), {"content": "你好"})
    assert isinstance(outcome, Sent)
    assert world.fake.posted[-1].channel_id == dm.id


@dataclass(frozen=True, slots=True)
class PartTarget(Target):
    """A Target that says which part of a digest it carries (see the forum note in sender.py)."""

    part: int = 1


async def test_later_parts_of_a_digest_continue_the_forum_post(world: World) -> None:
    forum = world.fake.add_channel(world.guild, "digest-forum", FORUM)
    await world.fake.dispatch("CHANNEL_CREATE", forum.payload())
    sender = world.platform.sender
    first = await sender.send(
        PartTarget("discord", forum.id, None, "forum", part=1), {"content": "**Title**"}
    )
    second = await sender.send(PartTarget("discord", forum.id, None, "forum", part=2), {"content": "more"})
    assert isinstance(first, Sent) and isinstance(second, Sent)
    opening, continuation = world.fake.posted
    assert opening.thread_name == "Title"
    assert continuation.channel_id == opening.channel_id and continuation.thread_name is None
    await sender.send(PartTarget("discord", forum.id, None, "forum", part=1), {"content": "**Next digest**"})
    assert world.fake.posted[-1].channel_id != opening.channel_id


async def test_a_deleted_channel_or_thread_pauses_its_subscription(world: World) -> None:
    fake = world.fake
    thread = fake.add_channel(world.guild, "weekly", PUBLIC_THREAD, parent=world.news)
    await fake.dispatch("THREAD_CREATE", thread.payload() | {"newly_created": True})
    await world.command(world.admin, world.news, "subscribe")
    await world.command(world.admin, thread, "subscribe")
    await fake.delete_channel(thread)
    await fake.delete_channel(world.news)

    async def both_paused() -> bool:
        subs = [await world.subscription(world.news), await world.subscription(thread)]
        return all(s.status == "paused" for s in subs)

    await wait_for(both_paused, 5, "both subscriptions to be paused")
    assert (await world.subscription(thread)).paused_reason == "the thread was deleted"
    assert (await world.subscription(world.news)).paused_reason == "the channel was deleted"


async def test_a_flood_of_interactions_gets_one_slow_down_and_others_are_served(tmp_path: Path) -> None:
    async for world in build_world(tmp_path, command_budget=CommandBudgetConfig()):
        fake = world.fake
        records = [
            await fake.interact(fake.slash(world.member, world.news, "status", None)) for _ in range(8)
        ]
        other = await world.command(world.admin, world.news, None, group="status")
        assert other.ephemeral() and other.callbacks[0]["type"] == 4
        for interaction in records[:6]:
            await fake.answered(interaction)
        await asyncio.sleep(0.2)
        answered = [r for r in records if r.callbacks]
        # The budget of 5, then one "slow down" (the fake refuses answers after Discord's 3 s);
        # the rest get no answer at all.
        assert len(answered) == 6
        slow = [r for r in answered if r.text().startswith("Too many commands")]
        assert len(slow) == 1 and slow[0].ephemeral() and slow[0] is records[5]
