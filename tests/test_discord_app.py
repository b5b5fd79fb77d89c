"""The whole bot (bot.app.App) with Discord pointed at the loopback Discord (tests/fake_discord.py).

An admin subscribes a channel with a slash command over the gateway, a digest file lands in the
watched folder, and what reaches the channel is exactly the subscribed items, in bodies Discord
accepts. When the bot loses Send Messages there, one refused post pauses the subscription and the
channel is never hit again (Discord bans bots that keep making refused requests).
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from app_helpers import (
    SAMPLE,
    DiscordScene,
    discord_scene,
    drop_digest,
    embed_urls,
    example_categories,
    latest_digest,
    links_for,
    running_app,
    settings_for,
)
from discord_limits import check_create_message
from fake_discord import FakeDiscord
from fake_discord_model import SEND_MESSAGES
from waiting import ledger_settled, wait_for

from bot.app import App
from bot.platforms.discord.client import DiscordPlatform
from bot.store.db import Store

TOKEN = "MTMxMDAx.app-test-discord-token.not-a-real-one"
WANTED = ("robotics", "jobs")


@dataclass
class Running:
    app: App
    scene: DiscordScene
    tmp_path: Path

    @property
    def store(self) -> Store:
        assert self.app.store is not None
        return self.app.store


@pytest.fixture
async def running(tmp_path: Path) -> AsyncIterator[Running]:
    fake = FakeDiscord(TOKEN)
    await fake.start()
    scene = discord_scene(fake)
    settings = settings_for(
        tmp_path,
        categories=example_categories(),
        discord={
            "token": TOKEN,
            "api_base": fake.api_base,
            "gateway_url": fake.gateway_url,
            "rate_limits": {"global_per_second": 200, "per_chat_per_second": 50},
        },
    )
    try:
        async with running_app(settings) as app:
            yield Running(app, scene, tmp_path)
    finally:
        await fake.stop()


async def subscribe(running: Running) -> None:
    answer = await running.scene.subscribe("robotics, jobs")
    assert answer.text() == "Subscribed: Job Market, Robotics."


async def test_a_digest_reaches_the_channel_with_only_its_categories(running: Running) -> None:
    scene = running.scene
    await subscribe(running)
    expected = links_for(SAMPLE, running.app.vocabulary, WANTED)
    assert "https://example.com/robotics/humanoid-night-shift" in expected
    assert "https://example.com/jobs/layoffs-and-hiring" in expected
    assert "https://example.com/policy/eu-gpai-guidance" not in expected

    drop_digest(running.tmp_path, SAMPLE)
    await wait_for(lambda: len(embed_urls(scene.posts())) >= len(expected), message="the digest in #news")
    await settled(running)  # a wrongly addressed or repeated post has arrived by now

    posts = scene.posts()
    assert all(check_create_message(body) == [] for body in posts)
    assert embed_urls(posts) == expected
    assert set(scene.post_statuses()) == {200}
    assert all(body.get("allowed_mentions") == {"parse": []} for body in posts)


def long_digest(digest_id: str) -> str:
    """Twelve robotics items of 1,500 characters: several Create Message calls for one digest."""
    items = "\n".join(
        f"{n}. [机器人新闻 {n}](https://example.com/robots/{n})\n\n   {'机器人在仓库里工作。' * 150}\n"
        for n in range(1, 13)
    )
    return f"---\ntitle: {digest_id} 机器人\ndate: 2025-11-21T08:00:00+08:00\n---\n\n{items}"


async def test_losing_send_messages_pauses_after_one_refusal(running: Running) -> None:
    scene, fake, folder = running.scene, running.scene.fake, running.tmp_path
    await subscribe(running)
    fake.set_overwrite(scene.channel, fake.bot.id, deny=SEND_MESSAGES, member=True)
    await fake.announce_channel_update(scene.channel)

    (folder / "long.md").write_text(long_digest("2025.11.21.08"), encoding="utf-8")
    drop_digest(folder, folder / "long.md", "2025.11.21.08.md")
    await wait_for(lambda: 403 in scene.post_statuses(), message="the refused post")
    await settled(running)
    assert scene.post_statuses() == [403]  # the later parts of the digest were not tried

    subscription = await running.store.get_subscription("discord", scene.channel.id)
    assert subscription is not None and subscription.status == "paused"
    assert "Missing Permissions" in (subscription.paused_reason or "")

    drop_digest(folder, SAMPLE)
    await wait_for(lambda: _latest_is(running, "2025.11.20.20"), message="the next digest stored")
    await settled(running)
    assert scene.post_statuses() == [403]
    assert scene.posts() == []


async def settled(running: Running) -> None:
    """Until nothing is left to plan, send or retry: every post the bot will make has been tried."""
    await wait_for(lambda: ledger_settled(running.store.path), message="every delivery in a final state")


async def _latest_is(running: Running, digest_id: str) -> bool:
    latest = await latest_digest(running.store)
    return latest is not None and latest.id == digest_id


async def test_discord_coming_up_after_the_bot_is_retried(tmp_path: Path) -> None:
    """Unreachable at start-up: the bot runs anyway, keeps trying, and serves Discord once it is up."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    fake = FakeDiscord(TOKEN, port=port)
    settings = settings_for(
        tmp_path,
        categories=example_categories(),
        discord={"token": TOKEN, "api_base": fake.api_base, "gateway_url": fake.gateway_url},
    )
    async with running_app(settings) as app:
        [platform] = app.platforms
        assert isinstance(platform, DiscordPlatform) and not platform.client.is_ready()
        scene = discord_scene(fake)
        await fake.start()
        try:
            await wait_for(
                lambda: platform.client.is_ready(), timeout=15, message="the retried Discord start"
            )
            answer = await scene.subscribe("robotics")
            assert answer.text() == "Subscribed: Robotics."
            drop_digest(tmp_path, SAMPLE)
            expected = links_for(SAMPLE, app.vocabulary, ["robotics"])
            await wait_for(lambda: len(embed_urls(scene.posts())) >= len(expected), message="the digest")
            assert embed_urls(scene.posts()) == expected
        finally:
            await fake.stop()
