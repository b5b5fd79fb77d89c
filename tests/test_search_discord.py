"""/digest search on Discord: the real client against the loopback Discord, paging with buttons in
English and Chinese, only for the member who searched, and bad input answered."""

from __future__ import annotations

from typing import Any

from discord_world import World
from search_helpers import archive_digest, store_digest

ITEMS = (
    ("Humanoid robots take the night shift", "机器人负责夜班搬运。", ("robotics",)),
    ("Hiring shifts to AI roles", "机器学习工程师需求增长。", ("jobs",)),
)


async def archive(world: World, digests: int) -> None:
    for n in range(digests):
        await store_digest(world.store, archive_digest(f"2025.11.{10 + n}.08", ITEMS))


def buttons(message: dict[str, Any]) -> dict[str, str]:
    """Label -> custom_id of the message's buttons."""
    return {c["label"]: c["custom_id"] for row in message.get("components", []) for c in row["components"]}


async def press(world: World, user: Any, message: dict[str, Any], label: str) -> dict[str, Any]:
    """Press the button labelled `label`; the updated message (or the refusal's data)."""
    custom_id = buttons(message)[label]
    payload = world.fake.press(user, world.news, message, forged_custom_id=custom_id)
    answered = await world.fake.answered(await world.fake.interact(payload))
    return dict(answered.callbacks[0]["data"], type=answered.callbacks[0]["type"])


async def test_search_pages_with_buttons_in_english(world: World) -> None:
    await archive(world, 6)
    answer = await world.command(world.member, world.news, "search", {"query": "编辑部"})
    assert answer.ephemeral()
    shown = answer.messages[0]
    lines = shown["content"].splitlines()
    assert lines[0] == "Search “编辑部”, page 1 (newest first):"
    assert lines[1] == "1. 2025-06-01 00:00 UTC item 2: Hiring shifts to AI roles"
    assert lines[2] == "https://news.example/2025.11.15.08/2"
    assert list(buttons(shown)) == ["Next ▶"]
    assert all(len(custom_id) <= 100 for custom_id in buttons(shown).values())
    assert shown["flags"] & 4  # SUPPRESS_EMBEDS: the hits' links get no embeds

    second = await press(world, world.member, shown, "Next ▶")
    assert second["type"] == 7 and second["content"].startswith("Search “编辑部”, page 2")
    assert second["flags"] & 4
    assert list(buttons(second)) == ["◀ Previous", "Next ▶"]
    third = await press(world, world.member, dict(shown, **second), "Next ▶")
    assert "page 3" in third["content"] and "\n12. " in third["content"]
    assert list(buttons(third)) == ["◀ Previous"]
    back = await press(world, world.member, dict(shown, **third), "◀ Previous")
    assert "page 2" in back["content"]

    stranger = await press(world, world.admin, shown, "Next ▶")  # not the member who searched
    assert stranger["type"] == 4 and stranger["flags"] & 64 and "another member" in stranger["content"]


async def test_search_in_chinese_through_the_channels_categories(world: World) -> None:
    await archive(world, 6)
    await world.command(world.admin, world.news, "subscribe", {"categories": "jobs"}, locale="zh-CN")
    answer = await world.command(world.member, world.news, "search", {"query": "编辑部"}, locale="zh-CN")
    shown = answer.messages[0]
    assert shown["content"].startswith(
        "搜索“编辑部”，第 1 页（最新的在前）：\n1. 2025-06-01 00:00 UTC 第 2 条："
    )
    assert "第 1 条" not in shown["content"]  # robotics items are not this channel's
    assert shown["content"].endswith("只包括本聊天订阅的分类：就业市场。")
    assert list(buttons(shown)) == ["下一页 ▶"]
    second = await press(world, world.member, shown, "下一页 ▶")
    assert "第 2 页" in second["content"] and list(buttons(second)) == ["◀ 上一页"]


async def test_bad_searches_are_answered(world: World) -> None:
    long = await world.command(world.member, world.news, "search", {"query": "x" * 201})
    assert (
        long.ephemeral() and long.messages[0]["content"] == "Arguments are too long (at most 200 characters)."
    )
    hostile = await world.command(world.member, world.news, "search", {"query": '"NEAR(a b)" OR *'})
    assert hostile.messages[0]["content"].startswith("Nothing found for")
    message = {"components": [{"type": 1, "components": [{"type": 2, "custom_id": "x", "label": "x"}]}]}
    forged = world.fake.press(
        world.member, world.news, message, forged_custom_id="digest:page:search:1:2:1:2:3"
    )
    refused = await world.fake.answered(await world.fake.interact(forged))
    assert "another member" in refused.messages[0]["content"]
