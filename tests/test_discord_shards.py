"""Discord shards split across processes: `discord.shard_count` / `discord.shard_ids` (issue 10)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import discord
import pytest
from discord_world import TOKEN, VOCABULARY, discord_config
from fake_discord import FakeDiscord

from bot.commands.service import CommandService
from bot.config import ConfigError, parse_settings
from bot.platforms.discord.client import DiscordPlatform
from bot.platforms.registry import default_renderers
from bot.store.db import Store


def problems(discord_section: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_settings({"discord": discord_section}, "config.yaml", Path("/"))
    return info.value.problems


def test_shard_settings_are_checked_with_the_key_named() -> None:
    assert problems({"shard_ids": [0]}) == [
        "discord.shard_ids: needs discord.shard_count (the total number of shards of the bot)"
    ]
    assert problems({"shard_count": 4, "shard_ids": [1, 4, -1]}) == [
        "discord.shard_ids: shard ids must be 0..3 (shard_count 4); got [-1, 4]"
    ]
    assert problems({"shard_count": 2, "shard_ids": [1, 1]}) == ["discord.shard_ids: names a shard twice"]
    assert problems({"shard_count": 2, "shard_ids": []})[0].startswith(
        "discord.shard_ids: must name at least"
    )
    (count,) = problems({"shard_count": 0, "shard_ids": [0]})
    assert count.startswith("discord.shard_count: ")  # one line, about the count only
    settings = parse_settings({"discord": {"shard_count": 4, "shard_ids": [3, 0]}}, "c", Path("/"))
    assert (settings.discord.shard_count, settings.discord.shard_ids) == (4, [3, 0])
    assert parse_settings({}, "c", Path("/")).discord.shard_count is None


def test_shard_settings_come_from_the_environment_as_text(monkeypatch: pytest.MonkeyPatch) -> None:
    """A container's config reads both from variables: "" means unset, "0,2" is a list."""
    section = {"shard_count": "${SHARDS:-}", "shard_ids": "${MINE:-}"}
    unset = parse_settings({"discord": section}, "c", Path("/")).discord
    assert (unset.shard_count, unset.shard_ids) == (None, None)
    monkeypatch.setenv("SHARDS", "3")
    monkeypatch.setenv("MINE", "0,2")
    both = parse_settings({"discord": section}, "c", Path("/")).discord
    assert (both.shard_count, both.shard_ids) == (3, [0, 2])
    monkeypatch.setenv("MINE", "one")
    assert problems(section) == [
        "discord.shard_ids: expected a number or a comma-separated list of numbers, got 'one'"
    ]


async def test_two_processes_split_the_shards_and_each_guild_lands_on_one(tmp_path: Path) -> None:
    fake = FakeDiscord(TOKEN)
    await fake.start()
    guild = fake.add_guild()
    store = await Store.open(tmp_path / "db.sqlite")
    service = CommandService(store, VOCABULARY, renderers=default_renderers())
    plain = DiscordPlatform(discord_config(fake), service, default_language="en")
    halves = [
        DiscordPlatform(
            discord_config(fake, shard_count=2, shard_ids=[shard]),
            service,
            default_language="en",
            guild_ready_timeout=0.05,
        )
        for shard in (0, 1)
    ]
    try:
        assert not isinstance(plain.client, discord.AutoShardedClient)
        for shard, half in enumerate(halves):
            assert isinstance(half.client, discord.AutoShardedClient)
            assert (half.client.shard_count, half.client.shard_ids) == (2, [shard])
            await half.start()
        assert sorted(payload["shard"] for payload in fake.identify_payloads) == [[0, 2], [1, 2]]
        home = (int(guild.id) >> 22) % 2  # the documented mapping
        assert [len(half.client.guilds) for half in halves] == [int(home == 0), int(home == 1)]
        assert halves[home].client.guilds[0].shard_id == home
    finally:
        for half in halves:
            await half.stop()
        await plain.stop()
        await store.close()
        await fake.stop()
