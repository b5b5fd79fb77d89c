"""The bot's real Discord platform over a real store, against the loopback Discord (fake_discord.py).

The Discord e2e tests share one world: a server with #news, an admin and a member, the platform
logged in and its guild ready. The `world` fixture (registered in conftest.py) builds it per test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fake_discord import FakeDiscord
from fake_discord_model import MANAGE_CHANNELS, Channel, Guild, InteractionRecord, User
from pydantic import SecretStr

from bot.commands.config import CommandBudgetConfig
from bot.commands.service import CommandService
from bot.core.model import Category, Digest, Item, Span, Vocabulary
from bot.delivery.config import RateLimits
from bot.net.proxy import Proxy
from bot.platforms.discord.client import DiscordPlatform
from bot.platforms.discord.config import DiscordConfig
from bot.platforms.registry import default_renderers
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
    """The fake Discord, the server and its people, and the bot's running platform over its store."""

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
    """The bot's Discord section pointed at `fake`: fast pacing and a roomy command budget by default."""
    values: dict[str, Any] = {
        "token": SecretStr(TOKEN),
        "api_base": fake.api_base,
        "gateway_url": fake.gateway_url,
        "rate_limits": FAST,
        "command_budget": ROOMY,
    }
    values.update(extra)
    return DiscordConfig(**values)


async def build_world(tmp_path: Path, proxy: Proxy | None = None, **config: Any) -> AsyncIterator[World]:
    """A started world (config overrides in `config`, reached through `proxy`), stopped and closed
    after its one iteration."""
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
    platform = DiscordPlatform(
        settings, service, default_language="zh", guild_ready_timeout=0.05, proxy=proxy
    )
    try:
        await platform.start()
        yield World(fake, guild, news, admin, member, owner, store, service, platform)
    finally:
        await platform.stop()
        await store.close()
        await fake.stop()


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    """The default world, for tests that need no special config."""
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
    """Store digest `number` as the folder source would, ready to plan."""
    await store.record_incoming(Incoming("folder", f"{number}.md", f"hash-{number}", digest(number)))
