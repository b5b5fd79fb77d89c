"""Webhook delivery end to end against the loopback Discord: /digest webhook on|off in zh and en,
digests under the configured name and avatar, the webhook's own rate limit, a deleted webhook
recreated once, then the fall-back to the bot's own messages that /digest status reports."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from discord_features_helpers import allow_bot, deliver, posts_in
from discord_world import VOCABULARY, World, build_world, digest
from fake_discord_model import MANAGE_WEBHOOKS, NEWS

from bot.delivery.outcome import Sent, Target
from bot.logs import REDACTED, redact
from bot.platforms.discord.render import render_discord
from bot.render.options import RenderOptions

AVATAR = "https://example.org/avatar.png"


@pytest.fixture
async def hooked(tmp_path: Path) -> AsyncIterator[World]:
    """A world whose webhooks carry a configured name and avatar."""
    async for built in build_world(tmp_path, webhook={"name": "AI Daily", "avatar_url": AVATAR}):
        yield built


async def test_webhook_on_needs_manage_webhooks_and_says_so_in_both_languages(hooked: World) -> None:
    world = hooked
    await world.command(world.admin, world.news, "subscribe", {"categories": "robotics"})
    english = await world.command(world.admin, world.news, "webhook", {"state": "on"})
    assert "missing Manage Webhooks" in english.text() and english.ephemeral()
    chinese_channel = world.fake.add_channel(world.guild, "中文")
    await world.fake.dispatch("CHANNEL_CREATE", chinese_channel.payload())
    await world.command(world.admin, chinese_channel, "subscribe", locale="zh-CN")
    chinese = await world.command(world.admin, chinese_channel, "webhook", {"state": "on"}, locale="zh-CN")
    assert "缺少“管理 Webhook”权限" in chinese.text()
    assert world.fake.webhooks == {}


async def test_webhook_needs_a_manager_and_a_subscription(hooked: World) -> None:
    world = hooked
    await allow_bot(world, world.news, MANAGE_WEBHOOKS)
    member = await world.command(world.member, world.news, "webhook", {"state": "on"})
    assert "Manage Channels" in member.text()
    unsubscribed = await world.command(world.admin, world.news, "webhook", {"state": "on"})
    assert "no subscription yet" in unsubscribed.text()
    assert world.fake.webhooks == {}


async def test_digests_go_through_the_webhook_with_its_name_and_avatar(
    hooked: World, caplog: pytest.LogCaptureFixture
) -> None:
    world = hooked
    await allow_bot(world, world.news, MANAGE_WEBHOOKS)
    await world.command(world.admin, world.news, "subscribe", {"categories": "robotics"}, locale="zh-CN")
    caplog.set_level(logging.DEBUG)
    answer = await world.command(world.admin, world.news, "webhook", {"state": "on"}, locale="zh-CN")
    assert "名为“AI Daily”的 Webhook" in answer.text() and not answer.ephemeral()
    [webhook] = world.fake.webhooks.values()
    assert webhook.name == "AI Daily" and webhook.channel_id == world.news.id

    await deliver(world)
    [post] = posts_in(world, world.news)
    assert post.webhook_id == webhook.id
    assert post.body["username"] == "AI Daily" and post.body["avatar_url"] == AVATAR
    assert "digestbot_categories" not in post.body
    # The token reached the logs only inside URLs discord.py logs at DEBUG: the scrubber hides it.
    patterns_hide = [redact(r.getMessage(), []) for r in caplog.records if webhook.token in r.getMessage()]
    assert patterns_hide and all(webhook.token not in line and REDACTED in line for line in patterns_hide)

    status = await world.command(world.member, world.news, None, group="status")
    assert "Webhook 推送：已开启，名称“AI Daily”" in status.text()

    off = await world.command(world.admin, world.news, "webhook", {"state": "off"})
    assert "重新由我直接发送" in off.text() and world.fake.webhooks == {}
    await deliver(world, 2)
    assert posts_in(world, world.news)[-1].webhook_id is None


async def test_a_deleted_webhook_is_recreated_once_then_falls_back(hooked: World) -> None:
    world = hooked
    await allow_bot(world, world.news, MANAGE_WEBHOOKS)
    await world.command(world.admin, world.news, "subscribe", {"categories": "robotics"})
    await world.command(world.admin, world.news, "webhook", {"state": "on"})
    world.fake.delete_webhooks(world.news)

    await deliver(world, 1)
    [post] = posts_in(world, world.news)
    [recreated] = world.fake.webhooks.values()
    assert post.webhook_id == recreated.id

    # Deleted again, and the bot may no longer create one: the digest still arrives, as the bot.
    world.fake.delete_webhooks(world.news)
    world.fake.set_overwrite(world.news, world.fake.bot.id, member=True)
    await world.fake.announce_channel_update(world.news)
    await deliver(world, 2)
    latest = posts_in(world, world.news)[-1]
    assert latest.webhook_id is None and latest is not post
    english = await world.command(world.member, world.news, None, group="status")
    assert (
        "Webhook delivery: off since the webhook was deleted and could not be created again" in english.text()
    )
    await world.command(world.admin, world.news, "language", {"language": "zh"})
    chinese = await world.command(world.member, world.news, None, group="status")
    assert "Webhook 推送：已停用（Webhook 被删除且无法重新创建（HTTP 403, code 50013" in chinese.text()

    await deliver(world, 3)  # falls back for good: no more attempts to create a webhook
    creates = [r for r in world.fake.requests if r[1].endswith(f"/channels/{world.news.id}/webhooks")]
    assert len(creates) == 3  # /digest webhook on, the one recreation, the failed one


async def test_webhook_sends_honour_the_webhook_rate_limit(hooked: World) -> None:
    world = hooked
    world.fake.webhook_limit, world.fake.webhook_window = 3, 0.3
    await allow_bot(world, world.news, MANAGE_WEBHOOKS)
    await world.command(world.admin, world.news, "subscribe")
    await world.command(world.admin, world.news, "webhook", {"state": "on"})
    body = render_discord(digest(), RenderOptions(VOCABULARY, language="en"), tagged=True)[0]
    target = Target("discord", world.news.id, None, "guild_channel")
    started = time.monotonic()
    outcomes = [await world.platform.sender.send(target, body) for _ in range(7)]
    elapsed = time.monotonic() - started
    assert all(isinstance(o, Sent) for o in outcomes)
    assert len([p for p in posts_in(world, world.news) if p.webhook_id]) == 7
    assert world.fake.webhook_429s == 0  # discord.py waited for the bucket instead of hitting it
    assert elapsed >= 0.55  # 7 executes at 3 per 0.3 s span at least two windows


async def test_webhook_is_refused_outside_text_channels(hooked: World) -> None:
    world = hooked
    forum = world.fake.add_channel(world.guild, "forum", 15)
    await world.fake.dispatch("CHANNEL_CREATE", forum.payload())
    thread = world.fake.add_channel(world.guild, "thread", 11, parent=world.news)
    await world.fake.dispatch("THREAD_CREATE", thread.payload())
    await world.command(world.admin, thread, "subscribe")
    answer = await world.command(world.admin, thread, "webhook", {"state": "on"})
    assert "text and announcement channels only" in answer.text()


async def test_webhook_messages_in_an_announcement_channel_need_manage_messages(
    hooked: World, caplog: pytest.LogCaptureFixture
) -> None:
    world = hooked
    news = world.fake.add_channel(world.guild, "announcements", NEWS)
    await world.fake.dispatch("CHANNEL_CREATE", news.payload())
    await allow_bot(world, news, MANAGE_WEBHOOKS)
    await world.command(world.admin, news, "subscribe")
    await world.command(world.admin, news, "webhook", {"state": "on"})
    await deliver(world, 1)
    await deliver(world, 2)
    posts = posts_in(world, news)
    assert len(posts) >= 2 and all(p.webhook_id and not p.published for p in posts)
    warnings = [r for r in caplog.records if "cannot publish" in r.getMessage()]
    assert len(warnings) == 1 and "Manage Messages" in warnings[0].getMessage()
