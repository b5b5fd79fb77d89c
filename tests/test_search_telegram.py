"""/search on Telegram: the real PTB application against the fake Bot API, paging with the inline
keyboard in English and Chinese, in a group where any member may page, and a forged button."""

from __future__ import annotations

from search_helpers import archive_digest, store_digest
from telegram_helpers import Bot

ITEMS = (
    ("Humanoid robots take the night shift", "机器人负责夜班搬运。", ("robotics",)),
    ("Hiring shifts to AI roles", "机器学习工程师需求增长。", ("jobs",)),
)


async def archive(bot: Bot, digests: int) -> None:
    for n in range(digests):
        await store_digest(bot.store, archive_digest(f"2025.11.{10 + n}.08", ITEMS))


def buttons(message: object) -> list[str]:
    return [b["text"] for b in message.buttons()]  # type: ignore[attr-defined]


async def test_pages_back_and_forth_in_place(bot: Bot) -> None:
    await archive(bot, 6)  # 12 items by the same desk
    user = bot.fake.user(501, language="en")
    results = await bot.say(501, "/search 编辑部", sender=user)
    lines = results.text.splitlines()
    assert lines[0] == "Search “编辑部”, page 1 (newest first):"
    assert lines[1] == "1. 2025-06-01 00:00 UTC item 2: Hiring shifts to AI roles"
    assert lines[2] == "https://news.example/2025.11.15.08/2"
    assert buttons(results) == ["Next ▶"]
    assert all(len(b["callback_data"].encode()) <= 64 for b in results.buttons())
    assert results.params["link_preview_options"] == {"is_disabled": True}  # no card for the first hit

    answer = await bot.press(results, "Next ▶", sender=user)
    assert not answer.get("show_alert")
    assert results.text.startswith("Search “编辑部”, page 2") and "\n6. " in results.text
    assert buttons(results) == ["◀ Previous", "Next ▶"] and results.edits == 1
    await bot.press(results, "Next ▶", sender=user)
    assert results.text.startswith("Search “编辑部”, page 3") and "\n12. " in results.text
    assert buttons(results) == ["◀ Previous"]
    await bot.press(results, "◀ Previous", sender=user)
    assert results.text.startswith("Search “编辑部”, page 2") and results.edits == 3
    assert len(bot.fake.sent_to(501)) == 1  # paging edits the one message
    edits = bot.fake.calls("editMessageText")
    assert len(edits) == 3 and all(e["link_preview_options"] == {"is_disabled": True} for e in edits)


async def test_chinese_group_member_pages_through_the_chats_categories(bot: Bot) -> None:
    await archive(bot, 6)
    group = -1001234
    bot.fake.add_chat(group, "supergroup", title="Readers")
    admin = bot.fake.user(601, language="zh-hans")
    member = bot.fake.user(602, language="zh-hans")
    bot.fake.set_member(group, 601, "administrator")
    bot.fake.set_member(group, 602, "member")
    await bot.say(group, "/subscribe robotics", sender=admin)
    results = await bot.say(group, "/search 夜班搬运", sender=member)
    assert results.text.startswith(
        "搜索“夜班搬运”，第 1 页（最新的在前）：\n1. 2025-06-01 00:00 UTC 第 1 条："
    )
    assert results.text.endswith("只包括本聊天订阅的分类：机器人。")
    assert buttons(results) == ["下一页 ▶"]
    await bot.press(results, "下一页 ▶", sender=member)
    assert "第 2 页" in results.text and buttons(results) == ["◀ 上一页"]
    none = await bot.say(group, "/search 机器学习工程师", sender=member)  # only in jobs items
    assert none.text.startswith("没有找到“机器学习工程师”。") and none.buttons() == []


async def test_bad_searches_and_forged_buttons_are_answered(bot: Bot) -> None:
    user = bot.fake.user(701, language="en")
    empty = await bot.say(701, "/search", sender=user)
    assert empty.text == "Usage: /search words... (e.g. /search humanoid robot). nothing to search for"
    long = await bot.say(701, "/search " + "x" * 201, sender=user)
    assert long.text == "Arguments are too long (at most 200 characters)."
    hostile = await bot.say(701, '/search "NEAR(a b)" OR *', sender=user)
    assert hostile.text == 'Nothing found for “"NEAR(a b)" OR *”.'
    answer = await bot.press_data(empty, "p:search:987654:2", sender=user)
    assert answer.get("show_alert") and answer["text"] == "This search has expired; send /search again."
    answer = await bot.press_data(empty, "p:search:1:99999", sender=user)
    assert answer.get("show_alert")  # not one of ours: an expired-button alert
    assert empty.edits == 0
