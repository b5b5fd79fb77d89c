"""End to end: the bot's real discord.py client against the loopback Discord (tests/fake_discord.py).

Every scenario goes over the wire: login and command sync over REST, READY/GUILD_CREATE over the
gateway, slash commands and menu choices as INTERACTION_CREATE, answers through the interaction
callback and followup webhooks, digests as Create Message calls checked against Discord's limits.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import discord
import pytest
from discord_limits import check_create_message
from fake_discord import (
    EMBED_LINKS,
    FORUM,
    MANAGE_CHANNELS,
    NEWS,
    PUBLIC_THREAD,
    SEND_MESSAGES,
    VIEW_CHANNEL,
    Channel,
    FakeDiscord,
    Guild,
    InteractionRecord,
    User,
)
from pydantic import SecretStr
from waiting import wait_for

from bot.commands.config import CommandBudgetConfig
from bot.commands.service import CommandService
from bot.commands.table import BY_NAME
from bot.core.clock import SystemClock
from bot.core.model import Category, Digest, Item, Span, Vocabulary
from bot.delivery.config import DeliveryConfig, RateLimits
from bot.delivery.engine import DeliveryEngine
from bot.delivery.outcome import ChatGone, FormatRejected, RetryAfter, Sent, Target, Transient
from bot.delivery.planner import Planner
from bot.delivery.ratelimit import RateLimiter, RatePolicy
from bot.platforms.discord.client import DiscordPlatform, DiscordStartError
from bot.platforms.discord.config import DEFAULT_DISCORD_API_BASE, DiscordConfig
from bot.platforms.discord.render import render_discord
from bot.platforms.registry import default_renderers
from bot.render.options import RenderOptions
from bot.sources.base import Incoming
from bot.store.db import Store

TOKEN = "MTMxMDAw.fake-discord-bot-token.for-tests"
VOCABULARY = Vocabulary(
    [
        Category("robotics", "机器人", "Robotics", aliases=("robots",), color=0x00AA00),
        Category("jobs", "就业市场", "Jobs"),
        Category("tech", "技术进展", "Tech"),
        Category("other", "其他", "Other"),
    ]
)
ROOMY = CommandBudgetConfig(burst=1000, refill_seconds=1)  # for tests that are not about floods
FAST = RateLimits(global_per_second=1000, per_chat_per_second=1000)


@dataclass
class World:
    fake: FakeDiscord
    guild: Guild
    news: Channel
    admin: User
    member: User
    owner: User
    store: Store
    service: CommandService
    platform: DiscordPlatform

    async def command(
        self,
        user: User,
        channel: Channel,
        subcommand: str | None,
        options: dict[str, Any] | None = None,
        *,
        group: str = "digest",
        messages: int = 1,
        locale: str = "en-US",
    ) -> InteractionRecord:
        record = await self.fake.interact(
            self.fake.slash(user, channel, group, subcommand, options, locale=locale)
        )
        return await self.fake.answered(record, messages)

    async def subscription(self, channel: Channel) -> Any:
        return await self.store.get_subscription("discord", channel.id)


def discord_config(fake: FakeDiscord, **extra: Any) -> DiscordConfig:
    values: dict[str, Any] = {
        "token": SecretStr(TOKEN),
        "api_base": fake.api_base,
        "gateway_url": fake.gateway_url,
        "rate_limits": FAST,
        "command_budget": ROOMY,
    }
    values.update(extra)
    return DiscordConfig(**values)


async def build_world(tmp_path: Path, **config: Any) -> AsyncIterator[World]:
    fake = FakeDiscord(TOKEN)
    await fake.start()
    guild = fake.add_guild("AI readers")
    news = fake.add_channel(guild, "news")
    admins = fake.add_role(guild, "moderators", MANAGE_CHANNELS)
    admin = fake.add_member(guild, "alice", [admins])
    member = fake.add_member(guild, "bob")
    owner = fake.add_member(guild, "operator")
    store = await Store.open(tmp_path / "db.sqlite")
    service = CommandService(store, VOCABULARY, default_language="zh", renderers=default_renderers())
    settings = discord_config(fake, admins=[int(owner.id)], **config)
    platform = DiscordPlatform(settings, service, default_language="zh", guild_ready_timeout=0.05)
    try:
        await platform.start()
        yield World(fake, guild, news, admin, member, owner, store, service, platform)
    finally:
        await platform.stop()
        await store.close()
        await fake.stop()


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async for built in build_world(tmp_path):
        yield built


def digest(number: int = 1) -> Digest:
    """Four items in three categories, written for the tests (Chinese and English)."""
    items = (
        Item(
            1,
            "双臂机器人开始在仓库分拣包裹",
            "记者甲",
            "https://example.org/robot",
            ((Span("试点"), Span("三个月", bold=True)),),
            ("robotics",),
        ),
        Item(
            2,
            "Hiring for AI evaluation roles doubles",
            None,
            "https://example.org/jobs",
            ((Span("Job boards list more evaluator roles."),),),
            ("jobs",),
        ),
        Item(
            3, "新的推理加速方法", None, "https://example.org/tech", ((Span("吞吐量提升一倍。"),),), ("tech",)
        ),
        Item(
            4,
            "Warehouse robots and the labour market",
            None,
            "https://example.org/both",
            ((Span("Both at once."),),),
            ("robotics", "jobs"),
        ),
    )
    return Digest(
        f"2031.04.0{number}.08", f"2031.04.0{number}.08 AI 要闻", datetime(2031, 4, number, tzinfo=UTC), items
    )


async def record(store: Store, number: int = 1) -> None:
    await store.record_incoming(Incoming("folder", f"{number}.md", f"hash-{number}", digest(number)))


# -- connection -----------------------------------------------------------------------------------


async def test_connects_through_the_configured_hosts_with_only_the_guilds_intent(world: World) -> None:
    fake = world.fake
    [identify] = fake.identify_payloads
    assert identify["intents"] == 1  # GUILDS; no privileged intent
    assert identify["token"] == TOKEN
    [connect] = fake.gateway_connects
    assert connect.startswith("/gateway?v=10&encoding=json")
    assert "compress=zlib-stream" in connect
    assert discord.http.Route.BASE == DEFAULT_DISCORD_API_BASE  # reached through our client only
    client = world.platform.client
    assert client.is_ready() and client.user is not None and str(client.user.id) == fake.bot.id
    assert client.get_guild(int(world.guild.id)) is not None


async def test_stop_restores_discord_defaults(tmp_path: Path) -> None:
    async for _world in build_world(tmp_path):
        pass
    assert discord.http.Route.BASE == DEFAULT_DISCORD_API_BASE
    assert str(discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY) == "wss://gateway.discord.gg/"


async def test_two_clients_with_different_hosts_each_reach_their_own(tmp_path: Path) -> None:
    """The hosts are per client: discord.py's process-wide Route.BASE and DEFAULT_GATEWAY stay put."""
    fakes = [FakeDiscord(TOKEN), FakeDiscord(TOKEN)]
    store = await Store.open(tmp_path / "db.sqlite")
    platforms: list[DiscordPlatform] = []
    try:
        for fake in fakes:
            await fake.start()
            fake.add_guild()
            service = CommandService(store, VOCABULARY, renderers=default_renderers())
            platforms.append(
                DiscordPlatform(
                    discord_config(fake), service, default_language="en", guild_ready_timeout=0.05
                )
            )
        await asyncio.gather(*(platform.start() for platform in platforms))
        assert [len(fake.identify_payloads) for fake in fakes] == [1, 1]
        assert [len(fake.gateway_connects) for fake in fakes] == [1, 1]
        assert discord.http.Route.BASE == DEFAULT_DISCORD_API_BASE
        assert str(discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY) == "wss://gateway.discord.gg/"
    finally:
        for platform in platforms:
            await platform.stop()
        await store.close()
        for fake in fakes:
            await fake.stop()


async def test_resumes_stay_on_the_configured_gateway(tmp_path: Path) -> None:
    fake = FakeDiscord(TOKEN)
    await fake.start()
    fake.add_guild()
    fake.resume_gateway_url = "wss://gateway-us-east1-b.discord.gg"
    store = await Store.open(tmp_path / "db.sqlite")
    platform = DiscordPlatform(
        discord_config(fake),
        CommandService(store, VOCABULARY, renderers=default_renderers()),
        default_language="en",
        guild_ready_timeout=0.05,
    )
    try:
        await platform.start()
        await wait_for(
            lambda: str(platform.client.ws.gateway) == fake.gateway_url, 5, "the configured gateway"
        )
        await fake.ask_to_reconnect()
        await wait_for(lambda: len(fake.gateway_connects) == 2, 5, "a second gateway connection")
        assert len(fake.identify_payloads) == 1  # resumed, not identified again
    finally:
        await platform.stop()
        await store.close()
        await fake.stop()


async def test_a_rejected_token_fails_start_without_showing_it(tmp_path: Path) -> None:
    fake = FakeDiscord("the-real-token")
    await fake.start()
    store = await Store.open(tmp_path / "db.sqlite")
    platform = DiscordPlatform(
        discord_config(fake),
        CommandService(store, VOCABULARY, renderers=default_renderers()),
        default_language="en",
    )
    try:
        with pytest.raises(DiscordStartError) as caught:
            await platform.start()
        assert "token was rejected" in str(caught.value)
        assert TOKEN not in str(caught.value)
        assert discord.http.Route.BASE == DEFAULT_DISCORD_API_BASE
    finally:
        await platform.stop()
        await store.close()
        await fake.stop()


# -- command registration ---------------------------------------------------------------------------


async def test_commands_are_synced_globally_localised_and_gated(world: World) -> None:
    fake = world.fake
    commands = {c["name"]: c for c in fake.global_commands}
    assert set(commands) == {"digest", "latest", "status"}
    digest_group = commands["digest"]
    assert digest_group["default_member_permissions"] == str(MANAGE_CHANNELS)
    assert commands["latest"]["default_member_permissions"] is None
    assert commands["status"]["default_member_permissions"] is None
    assert digest_group["contexts"] == [0, 1] and digest_group["integration_types"] == [0]
    assert digest_group["name_localizations"] == {"zh-CN": "摘要", "en-US": "digest"}
    subcommands = {o["name"]: o for o in digest_group["options"]}
    assert set(subcommands) == {
        "subscribe",
        "unsubscribe",
        "categories",
        "keywords",
        "schedule",
        "quiet",
        "latest",
        "status",
        "language",
        "stats",
    }
    subscribe = {o["name"]: o for o in subcommands["subscribe"]["options"]}
    assert subscribe["channel"]["type"] == 7 and subscribe["channel"]["name_localizations"]["zh-CN"] == "频道"
    assert set(subscribe["channel"]["channel_types"]) == {0, 5, 10, 11, 12, 15}
    assert subscribe["categories"]["autocomplete"] is True
    assert (
        subcommands["subscribe"]["description_localizations"]["zh-CN"] == BY_NAME["subscribe"].description.zh
    )


async def test_listed_guilds_get_the_commands_and_the_global_list_is_emptied(tmp_path: Path) -> None:
    fake = FakeDiscord(TOKEN)
    await fake.start()
    guild = fake.add_guild()
    fake.global_commands = [{"name": "digest", "id": "1", "description": "stale"}]
    store = await Store.open(tmp_path / "db.sqlite")
    config = discord_config(fake, guilds=[int(guild.id)])
    platform = DiscordPlatform(
        config,
        CommandService(store, VOCABULARY, renderers=default_renderers()),
        default_language="en",
        guild_ready_timeout=0.05,
    )
    try:
        await platform.start()
        assert {c["name"] for c in fake.guild_commands[guild.id]} == {"digest", "latest", "status"}
        assert fake.global_commands == []
    finally:
        await platform.stop()
        await store.close()
        await fake.stop()


# -- subscribing ----------------------------------------------------------------------------------


async def test_admin_subscribes_a_channel_to_two_categories(world: World) -> None:
    answer = await world.command(world.admin, world.news, "subscribe", {"categories": "robotics, 就业市场"})
    assert answer.text() == "Subscribed: Robotics, Jobs."
    assert not answer.ephemeral()
    sub = await world.subscription(world.news)
    assert sub.status == "active" and sub.kind == "guild_channel" and sub.title == "news"
    assert sub.filter.categories == {"robotics", "jobs"}
    assert sub.created_by == world.admin.id
    assert sub.language == "en"


async def test_a_member_without_manage_channels_is_refused(world: World) -> None:
    answer = await world.command(world.member, world.news, "subscribe", {"categories": "jobs"})
    assert answer.ephemeral()
    assert "only this chat's administrators" in answer.text()
    assert await world.subscription(world.news) is None


async def test_anyone_may_read_status_and_latest(world: World) -> None:
    await world.command(world.admin, world.news, "subscribe", {"categories": "jobs"})
    await record(world.store)
    latest = await world.command(world.member, world.news, None, group="latest")
    assert latest.ephemeral() and latest.followups
    status = await world.command(world.member, world.news, None, group="status", locale="zh-CN")
    assert status.ephemeral() and "Categories: Jobs" in status.text()  # the subscription's language


async def test_the_select_menu_changes_the_filter(world: World) -> None:
    await world.command(world.admin, world.news, "subscribe", {"categories": "robotics jobs"})
    menu = await world.command(world.admin, world.news, "categories")
    assert menu.ephemeral()
    body = menu.messages[0]
    [select] = body["components"][0]["components"]
    assert [(o["value"], o.get("default", False)) for o in select["options"]] == [
        ("robotics", True),
        ("jobs", True),
        ("tech", False),
        ("other", False),
    ]
    submitted = await world.fake.answered(
        await world.fake.interact(world.fake.select(world.admin, world.news, body, ["tech"]))
    )
    assert submitted.callbacks[0]["type"] == 7  # the menu message is updated in place
    assert submitted.callbacks[0]["data"]["content"] == "Categories saved: Tech."
    assert submitted.callbacks[0]["data"]["components"] == []
    assert (await world.subscription(world.news)).filter.categories == {"tech"}


async def test_a_member_cannot_use_someone_elses_menu(world: World) -> None:
    await world.command(world.admin, world.news, "subscribe", {"categories": "jobs"})
    body = (await world.command(world.admin, world.news, "categories")).messages[0]
    refused = await world.fake.answered(
        await world.fake.interact(world.fake.select(world.member, world.news, body, ["tech"]))
    )
    assert refused.ephemeral()
    assert (await world.subscription(world.news)).filter.categories == {"jobs"}


async def test_forged_menus_naming_another_channel_change_nothing(world: World) -> None:
    fake, news = world.fake, world.news
    await world.command(world.admin, news, "subscribe", {"categories": "jobs"})
    dm = fake.add_dm(world.admin)
    await world.command(world.admin, dm, "subscribe")
    dm_menu = (await world.command(world.admin, dm, "categories")).messages[0]

    other_guild = fake.add_guild("elsewhere")
    elsewhere = fake.add_channel(other_guild, "general")
    stranger = fake.add_member(other_guild, "mallory", [fake.add_role(other_guild, "mods", MANAGE_CHANNELS)])
    await fake.rejoin(other_guild)
    forgeries = [
        (world.admin, dm, f"digest:categories:{news.id}"),  # the old form, trusted blindly before
        (world.admin, dm, f"digest:categories:{news.id}:{dm.id}:{world.admin.id}"),  # DM menu -> #news
        (world.member, news, f"digest:categories:{news.id}:{news.id}:{world.member.id}"),  # no rights
        (stranger, elsewhere, f"digest:categories:{news.id}:{elsewhere.id}:{stranger.id}"),  # other server
        (world.member, news, f"digest:categories:{news.id}:{news.id}:{world.admin.id}"),  # someone else's
    ]
    for user, channel, custom_id in forgeries:
        record = await fake.interact(
            fake.select(user, channel, dm_menu, ["tech"], forged_custom_id=custom_id)
        )
        refused = await fake.answered(record)
        assert refused.ephemeral() and refused.callbacks[0]["type"] == 4, custom_id
    assert (await world.subscription(news)).filter.categories == {"jobs"}
    assert (await world.subscription(dm)).filter.categories == frozenset()
    own_id = dm_menu["components"][0]["components"][0]["custom_id"]
    assert own_id == f"digest:categories:{dm.id}:{dm.id}:{world.admin.id}"


async def test_the_menu_rechecks_manage_channels_when_the_choice_arrives(world: World) -> None:
    await world.command(world.admin, world.news, "subscribe", {"categories": "jobs"})
    body = (await world.command(world.admin, world.news, "categories")).messages[0]
    world.fake.set_overwrite(world.news, world.admin.id, deny=MANAGE_CHANNELS, member=True)
    refused = await world.fake.answered(
        await world.fake.interact(world.fake.select(world.admin, world.news, body, ["tech"]))
    )
    assert refused.ephemeral() and "only this chat's administrators" in refused.text()
    assert (await world.subscription(world.news)).filter.categories == {"jobs"}


async def test_subscribe_names_the_permission_the_bot_lacks(world: World) -> None:
    world.fake.set_overwrite(world.news, world.fake.bot.id, deny=EMBED_LINKS, member=True)
    answer = await world.command(world.admin, world.news, "subscribe")
    assert answer.ephemeral() and "missing Embed Links" in answer.text()
    assert await world.subscription(world.news) is None


async def test_subscribing_another_channel_checks_the_bot_there(world: World) -> None:
    fake = world.fake
    hidden = fake.add_channel(world.guild, "staff")
    fake.set_overwrite(hidden, world.guild.id, deny=VIEW_CHANNEL)
    fake.set_overwrite(hidden, world.admin.id, allow=VIEW_CHANNEL | MANAGE_CHANNELS, member=True)
    await fake.announce_channel_update(hidden)
    await asyncio.sleep(0.05)
    answer = await world.command(world.admin, world.news, "subscribe", {"channel": hidden})
    assert "missing View Channel, Send Messages, Embed Links" in answer.text()

    open_channel = fake.add_channel(world.guild, "digests")
    await fake.dispatch("CHANNEL_CREATE", open_channel.payload())
    answer = await world.command(
        world.admin, world.news, "subscribe", {"channel": open_channel, "categories": "tech"}
    )
    assert answer.text() == "Subscribed: Tech."
    sub = await world.subscription(open_channel)
    assert sub.title == "digests" and sub.filter.categories == {"tech"}


async def test_manage_channels_is_judged_on_the_target_channel(world: World) -> None:
    fake = world.fake
    own = fake.add_channel(world.guild, "bobs-corner")
    fake.set_overwrite(own, world.member.id, allow=MANAGE_CHANNELS, member=True)
    answer = await world.command(world.member, world.news, "subscribe", {"channel": own})
    assert answer.text().startswith("Subscribed")
    refused = await world.command(world.member, own, "subscribe", {"channel": world.news})
    assert refused.ephemeral() and await world.subscription(world.news) is None


async def test_threads_announcement_channels_and_dms_can_subscribe(world: World) -> None:
    fake = world.fake
    thread = fake.add_channel(world.guild, "daily thread", PUBLIC_THREAD, parent=world.news)
    await fake.dispatch("THREAD_CREATE", thread.payload() | {"newly_created": True})
    answer = await world.command(world.admin, thread, "subscribe", {"categories": "robots"})
    assert answer.text() == "Subscribed: Robotics."
    assert (await world.subscription(thread)).kind == "guild_channel"

    announcements = fake.add_channel(world.guild, "announcements", NEWS)
    await fake.dispatch("CHANNEL_CREATE", announcements.payload())
    answer = await world.command(world.admin, announcements, "subscribe", {"categories": "tech"})
    assert (await world.subscription(announcements)).kind == "guild_channel"

    dm = fake.add_dm(world.member)
    answer = await world.command(world.member, dm, "subscribe", locale="zh-CN")
    assert answer.text() == "已订阅：全部分类。"
    sub = await world.subscription(dm)
    assert sub.kind == "dm" and sub.language == "zh"


async def test_unknown_categories_are_explained(world: World) -> None:
    answer = await world.command(world.admin, world.news, "subscribe", {"categories": "robotics, astrology"})
    assert answer.ephemeral() and "astrology" in answer.text() and "Robotics (robotics)" in answer.text()


async def test_category_autocomplete(world: World) -> None:
    payload = world.fake.slash(
        world.admin, world.news, "digest", "subscribe", {"categories": "jobs, rob"}, focused="categories"
    )
    answer = await world.fake.answered(await world.fake.interact(payload))
    assert answer.callbacks[0] == {
        "type": 8,
        "data": {"choices": [{"name": "jobs, Robotics (robotics)", "value": "jobs, robotics"}]},
    }


async def test_owners_get_stats_and_others_do_not(world: World) -> None:
    dm = world.fake.add_dm(world.owner)
    assert "Subscriptions" in (await world.command(world.owner, dm, "stats")).text()
    refused = await world.command(world.admin, world.news, "stats")
    assert refused.ephemeral() and "owners only" in refused.text()


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
    planner = Planner(world.store, VOCABULARY, renderers=default_renderers())
    engine = DeliveryEngine(
        world.store,
        {"discord": world.platform.sender},
        RateLimiter({"discord": RatePolicy(FAST)}, SystemClock()),
        DeliveryConfig(),
    )

    await record(world.store, 1)
    assert await planner.plan_pending() >= 1
    await engine.drain(horizon=0.5)
    posts = [p for p in world.fake.posted if p.channel_id == world.news.id]
    urls = [e["url"] for p in posts for e in p.body.get("embeds", [])]
    assert urls == ["https://example.org/robot", "https://example.org/jobs", "https://example.org/both"]
    assert all(check_create_message(p.body) == [] for p in posts)

    world.fake.set_overwrite(world.news, world.fake.bot.id, deny=SEND_MESSAGES, member=True)
    await record(world.store, 2)
    await planner.plan_pending()
    await engine.drain(horizon=0.5)
    sub = await world.subscription(world.news)
    assert sub.status == "paused" and "Missing Permissions" in (sub.paused_reason or "")
    attempts = [r for r in world.fake.requests if r[1].endswith(f"/channels/{world.news.id}/messages")]
    assert [r[2] for r in attempts][-1] == 403

    await record(world.store, 3)
    await planner.plan_pending()
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
    assert await Planner(world.store, VOCABULARY, renderers=default_renderers()).plan_pending() == 1
    await engine.drain(horizon=0.5)  # a retry (backoff 25-50 ms) would fall well inside this
    posts = [p for p in world.fake.posted if p.channel_id == world.news.id]
    assert len(posts) == 1
    stats = await world.store.stats(world.store.clock.now())
    assert stats["deliveries_24h"] == {"uncertain": 1}
    await record(world.store, 2)
    await Planner(world.store, VOCABULARY, renderers=default_renderers()).plan_pending()
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
    assert answer.text() == "Subscription resumed with its previous settings: Jobs."
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
    planner = Planner(world.store, VOCABULARY, renderers=default_renderers())
    engine = DeliveryEngine(
        world.store,
        {"discord": world.platform.sender},
        RateLimiter({"discord": RatePolicy(FAST)}, SystemClock()),
        DeliveryConfig(),
    )
    for number in (1, 2):
        await record(world.store, number)
        await planner.plan_pending()
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
        for record in records[:6]:
            await fake.answered(record)
        await asyncio.sleep(0.2)
        answered = [r for r in records if r.callbacks]
        # The budget of 5, then one "slow down" (the fake refuses answers after Discord's 3 s);
        # the rest get no answer at all.
        assert len(answered) == 6
        slow = [r for r in answered if r.text().startswith("Too many commands")]
        assert len(slow) == 1 and slow[0].ephemeral() and slow[0] is records[5]
