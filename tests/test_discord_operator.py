"""/id, /digest announce and /digest forget on Discord: the real client against the loopback Discord."""

from __future__ import annotations

import asyncio

from discord_world import World
from waiting import ledger_settled, wait_for

from bot.delivery.config import DeliveryConfig
from bot.delivery.engine import DeliveryEngine
from bot.delivery.ratelimit import RateLimiter
from bot.delivery.reports import ProblemReporter, ReportTarget
from bot.platforms import discord

TEXT = "**Not bold** @everyone <#123> _x_\nSee https://example.com/a_b"


async def test_id_shows_channel_and_user(world: World) -> None:
    answer = await world.command(world.member, world.news, None, group="id")
    assert answer.ephemeral()
    assert answer.messages[0]["content"] == f"Chat id: {world.news.id}\nYour user id: {world.member.id}"


async def test_announce_previews_then_queues_once_to_every_active_channel(world: World) -> None:
    fake = world.fake
    await world.command(world.admin, world.news, "subscribe")
    dm = fake.add_dm(world.admin)
    await world.command(world.admin, dm, "subscribe")
    preview = await world.command(world.owner, world.news, "announce", {"text": TEXT}, messages=2)
    assert preview.ephemeral()
    shown, question = preview.messages[:2]
    assert shown["allowed_mentions"] == {"parse": []}
    assert "\\*\\*Not bold\\*\\*" in shown["content"] and "<https://example.com/a_b>" in shown["content"]
    assert "goes to 2 active chats" in question["content"]
    [[button]] = [row["components"] for row in question["components"]]
    assert button["label"] == "Send to 2 chats"

    stranger = await fake.answered(await fake.interact(fake.press(world.member, world.news, question)))
    assert stranger.ephemeral() and "another member" in stranger.messages[0]["content"]

    pressed = await fake.answered(await fake.interact(fake.press(world.owner, world.news, question)))
    assert pressed.callbacks[0]["type"] == 7 and pressed.callbacks[0]["data"]["components"] == []
    assert "queued for 2 chats" in pressed.callbacks[0]["data"]["content"]
    again = await fake.answered(await fake.interact(fake.press(world.owner, world.news, question)))
    assert "already sent" in again.callbacks[0]["data"]["content"]

    limiter = RateLimiter({}, world.store.clock)
    engine = DeliveryEngine(world.store, {"discord": world.platform.sender}, limiter, DeliveryConfig())
    running = asyncio.create_task(engine.run())
    try:
        await wait_for(lambda: ledger_settled(world.store.path, 2), 10, "both announcement rows settled")
    finally:
        await engine.stop(grace=1)
        await running
    posted = sorted((p.channel_id, p.body["content"]) for p in fake.posted)
    assert posted == sorted((channel.id, shown["content"]) for channel in (world.news, dm))


async def test_announce_is_refused_to_members(world: World) -> None:
    answer = await world.command(world.admin, world.news, "announce", {"text": "hi"})
    assert answer.ephemeral() and "owners only" in answer.messages[0]["content"]


async def test_forget_deletes_the_channel_after_the_button(world: World) -> None:
    fake = world.fake
    await world.command(world.admin, world.news, "subscribe")
    ask = await world.command(world.admin, world.news, "forget")
    body = ask.messages[0]
    assert "cannot be undone" in body["content"]
    refused = await fake.answered(await fake.interact(fake.press(world.member, world.news, body)))
    assert refused.ephemeral()
    assert await world.subscription(world.news) is not None
    done = await fake.answered(await fake.interact(fake.press(world.admin, world.news, body)))
    assert done.callbacks[0]["data"]["content"].startswith("Deleted this chat")
    assert await world.subscription(world.news) is None


async def test_problem_summaries_reach_the_error_channel(world: World) -> None:
    reporter = ProblemReporter(
        world.store,
        [ReportTarget("discord", world.news.id, "guild_channel", discord.SPEC.plain_message)],
        world.store.clock,
    )
    reporter.rejected("feed", "entry https://x.example/a_b: nested 600 elements deep **boom** @everyone")
    assert await reporter.flush()
    limiter = RateLimiter({}, world.store.clock)
    engine = DeliveryEngine(world.store, {"discord": world.platform.sender}, limiter, DeliveryConfig())
    running = asyncio.create_task(engine.run())
    try:
        await wait_for(lambda: ledger_settled(world.store.path, 1), 10, "the summary sent")
    finally:
        await engine.stop(grace=1)
        await running
    [post] = world.fake.posted
    assert post.channel_id == world.news.id and post.body["allowed_mentions"] == {"parse": []}
    assert "1 digests rejected" in post.body["content"] and "\\*\\*boom\\*\\*" in post.body["content"]
