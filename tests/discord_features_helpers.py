"""Shared steps of the Discord reader-feature tests: a delivery run, permissions given to the bot."""

from __future__ import annotations

from discord_world import FAST, VOCABULARY, World, record
from fake_discord_model import Channel, Posted

from bot.core.clock import SystemClock
from bot.delivery.config import DeliveryConfig
from bot.delivery.engine import DeliveryEngine
from bot.delivery.expander import fan_out
from bot.delivery.ratelimit import RateLimiter, RatePolicy
from bot.platforms.registry import default_renderers


async def deliver(world: World, number: int = 1) -> None:
    """Store digest `number`, plan it and send everything due, through the platform's real sender."""
    engine = DeliveryEngine(
        world.store,
        {"discord": world.platform.sender},
        RateLimiter({"discord": RatePolicy(FAST)}, SystemClock()),
        DeliveryConfig(backoff_base=0.05),
    )
    await record(world.store, number)
    await fan_out(world.store, VOCABULARY, renderers=default_renderers())
    await engine.drain(horizon=0.5)


async def allow_bot(world: World, channel: Channel, permissions: int) -> None:
    """An admin gives the bot extra permissions in `channel`; the bot's cache learns it."""
    world.fake.set_overwrite(channel, world.fake.bot.id, allow=permissions, member=True)
    await world.fake.announce_channel_update(channel)


def posts_in(world: World, channel: Channel) -> list[Posted]:
    return [p for p in world.fake.posted if p.channel_id == channel.id]
