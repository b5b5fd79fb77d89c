"""End to end: the bot's real discord.py client against the loopback Discord (tests/fake_discord.py).

Every scenario goes over the wire: login and command sync over REST, READY/GUILD_CREATE over the
gateway, slash commands and menu choices as INTERACTION_CREATE, answers through the interaction
callback and followup webhooks. Connection, command registration and subscribing are here; /latest
and digest delivery are in test_discord_delivery.py.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import discord
import pytest
from discord_world import TOKEN, VOCABULARY, World, build_world, discord_config, record
from fake_discord import FakeDiscord
from fake_discord_model import EMBED_LINKS, MANAGE_CHANNELS, NEWS, PUBLIC_THREAD, VIEW_CHANNEL
from waiting import wait_for

from bot.commands.service import CommandService
from bot.commands.table import BY_NAME
from bot.platforms.discord.client import DiscordPlatform, DiscordStartError
from bot.platforms.discord.config import DEFAULT_DISCORD_API_BASE
from bot.platforms.registry import default_renderers
from bot.store.db import Store

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
    assert set(commands) == {"digest", "latest", "status", "id", "search"}
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
        "id",
        "announce",
        "forget",
        "webhook",
        "mention",
        "search",
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
        names = {c["name"] for c in fake.guild_commands[guild.id]}
        assert names == {"digest", "latest", "status", "id", "search"}
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
