"""End to end: the real PTB Application of the bot against the fake Bot API server on loopback.

Private chats, digests and sends, robustness here; groups, topics and channels in
test_telegram_groups.py; start-up, webhooks and floods in test_telegram_lifecycle.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fake_telegram import FakeTelegram
from fake_telegram_types import (
    FakeMessage,
    FloodRules,
    blocked,
    chat_not_found,
    flood,
    migrated,
    server_error,
)
from telegram_helpers import (
    OWNER,
    TOKEN,
    VOCABULARY,
    Bot,
    debug_log,
    paused,
    running,
    sample_digest,
    store_digest,
    telegram_config,
)

from bot.core.model import Digest
from bot.delivery.config import RateLimits
from bot.delivery.outcome import ChatGone, FormatRejected, Migrated, RetryAfter, Sent, Target, Transient
from bot.logs import REDACTED, setup_logging
from bot.platforms.telegram.render import render_telegram
from bot.render.options import RenderOptions

pytestmark = pytest.mark.filterwarnings("ignore:.*`retry_after`:DeprecationWarning")

# -- private chats -------------------------------------------------------------------------------


async def test_new_user_starts_and_subscribes_to_one_category(bot: Bot) -> None:
    ann = bot.fake.user(100, language="en")
    welcome = await bot.say(100, "/start", sender=ann)
    assert welcome.text.startswith("Hi!")
    assert welcome.parse_mode is None
    reply = await bot.say(100, "/subscribe robots", sender=ann)
    assert reply.text == "Subscribed: Robotics."
    sub = await bot.store.get_subscription("telegram", "100")
    assert sub is not None
    assert sub.filter.categories == frozenset({"robotics"})
    assert (sub.kind, sub.language, sub.created_by) == ("private", "en", "100")
    unknown = await bot.say(100, "/subscribe robotics nonsense", sender=ann)
    assert "nonsense" in unknown.text and "Robotics (robotics)" in unknown.text


async def test_chinese_user_gets_chinese_replies(bot: Bot) -> None:
    li = bot.fake.user(101, language="zh-hans")
    reply = await bot.say(101, "/subscribe 机器人 就业市场", sender=li)
    assert reply.text == "已订阅：机器人、就业市场。"


async def test_category_keyboard_toggles_in_place(bot: Bot) -> None:
    ann = bot.fake.user(102, language="en")
    await bot.say(102, "/subscribe robotics", sender=ann)
    picker = await bot.say(102, "/categories", sender=ann)
    labels = [b["text"] for b in picker.buttons()]
    assert labels == ["✅ Robotics", "Jobs", "Tech", "Other", "All", "Done"]
    assert picker.text.endswith("\nNow: Robotics")
    assert all(len(b["callback_data"].encode()) <= 64 for b in picker.buttons())

    answer = await bot.press(picker, "Jobs", sender=ann)
    assert not answer.get("show_alert")
    assert picker.edits == 1
    assert [b["text"] for b in picker.buttons()][:2] == ["✅ Robotics", "✅ Jobs"]
    assert len(bot.fake.sent_to(102)) == 2  # edited in place, nothing new sent

    await bot.press(picker, "✅ Robotics", sender=ann)
    assert [b["text"] for b in picker.buttons()][:2] == ["Robotics", "✅ Jobs"]
    await bot.press(picker, "All", sender=ann)
    assert "✅ All" in [b["text"] for b in picker.buttons()]
    assert picker.text.endswith("\nNow: all categories")  # the edit carries the choice in words
    sub = await bot.store.get_subscription("telegram", "102")
    assert sub is not None and sub.filter.categories == frozenset()

    await bot.press(picker, "Jobs", sender=ann)
    await bot.press(picker, "Done", sender=ann)
    assert picker.reply_markup is None
    assert picker.text == "Categories saved: Jobs."
    sub = await bot.store.get_subscription("telegram", "102")
    assert sub is not None and sub.filter.categories == frozenset({"jobs"})


async def test_settings_commands_round_trip(bot: Bot) -> None:
    ann = bot.fake.user(103, language="en")
    await bot.say(103, "/subscribe", sender=ann)
    assert "Include: ai" in (await bot.say(103, "/keywords +ai -crypto", sender=ann)).text
    assert (
        "Schedule: daily at 08:00"
        in (await bot.say(103, "/schedule at 08:00 Europe/Berlin", sender=ann)).text
    )
    assert "Quiet hours: 22:00-07:00" in (await bot.say(103, "/quiet 22:00-07:00", sender=ann)).text
    assert (await bot.say(103, "/language zh", sender=ann)).text == "语言已设为中文。"
    status = await bot.say(103, "/status", sender=ann)
    assert "状态：正常" in status.text and "Europe/Berlin" in status.text
    refused = (await bot.say(103, "/schedule at 25:99", sender=ann)).text
    assert "用法" in refused and "时间“25:99”无效：小时应为 00-23" in refused and "hour" not in refused


async def test_owner_gets_stats_and_others_do_not(bot: Bot) -> None:
    owner = bot.fake.user(OWNER, language="en")
    stranger = bot.fake.user(104, language="en")
    assert (await bot.say(OWNER, "/stats", sender=owner)).text.startswith("Subscriptions:")
    assert "owners only" in (await bot.say(104, "/stats", sender=stranger)).text


async def test_command_menus_are_scoped_and_bilingual(bot: Bot) -> None:
    menus = bot.fake.commands
    scopes = {key[0] for key in menus}
    assert {'{"type": "all_private_chats"}', '{"type": "all_group_chats"}'} <= scopes
    group = menus[('{"type": "all_group_chats"}', "zh")]
    assert {c["command"] for c in group} == {"latest", "status", "help", "id", "search"}
    admins = menus[('{"type": "all_chat_administrators"}', "en")]
    assert "subscribe" in {c["command"] for c in admins}
    private_zh = {c["command"]: c["description"] for c in menus[('{"type": "all_private_chats"}', "zh")]}
    assert private_zh["subscribe"] == "订阅（可指定分类）"
    assert "stats" not in private_zh
    owner_scope = next(key for key in menus if '"chat"' in key[0])
    assert "stats" in {c["command"] for c in menus[owner_scope]}


# -- digests and sends ---------------------------------------------------------------------------


async def test_latest_sends_every_rendered_part_within_limits(tmp_path: Path) -> None:
    rules = FloodRules()  # Telegram's real limits: the bot must not trip them
    async with FakeTelegram(TOKEN, flood_rules=rules) as fake:
        config = telegram_config(fake, rate_limits=RateLimits(global_per_second=30, per_chat_per_second=4))
        async with running(tmp_path, fake, config) as bot:
            digest = sample_digest()
            await store_digest(bot.store, digest)
            ann = fake.user(400, language="en")
            await bot.say(400, "/subscribe robotics", sender=ann)
            sub = await bot.store.get_subscription("telegram", "400")
            assert sub is not None
            robotics = Digest(
                digest.id,
                digest.title,
                digest.date,
                tuple(i for i in digest.items if "robotics" in i.categories),
            )
            expected = render_telegram(
                robotics, RenderOptions(VOCABULARY, language="en", selected=frozenset({"robotics"}))
            )
            assert len(expected) >= 2
            before = len(fake.sent_to(400))
            fake.push_message(400, "/latest", sender=ann)
            wanted = before + len(expected)
            await fake.wait_for(lambda: len(fake.sent_to(400)) >= wanted, timeout=20)
            parts = fake.sent_to(400)[before:]
            assert [p.text for p in parts] == [p["text"] for p in expected]
            assert all(p.parse_mode == "HTML" for p in parts)
            assert all("Robotics" in p.visible or "robotics" in p.visible for p in parts)
            assert "Item 2:" not in "".join(p.visible for p in parts)  # a jobs item
            assert fake.refused == []


async def test_latest_without_digest_or_matches(bot: Bot) -> None:
    ann = bot.fake.user(401, language="en")
    assert (await bot.say(401, "/latest", sender=ann)).text == "No digest has arrived yet."


async def test_send_outcomes_through_the_wire(bot: Bot) -> None:
    fake, sender = bot.fake, bot.platform.sender
    for chat_id in range(500, 508):
        fake.user(chat_id)
    html = {
        "text": "<b>hi</b> &amp; bye",
        "parse_mode": "HTML",
        "link_preview_options": {"is_disabled": True},
    }

    async def send(chat_id: int, payload: dict[str, Any] = html) -> object:
        return await sender.send(Target("telegram", str(chat_id), None, "private"), payload)

    assert isinstance(await send(500), Sent)
    assert fake.sent_to(500)[0].visible == "hi & bye"
    assert fake.sent_to(500)[0].params["link_preview_options"] == {"is_disabled": True}
    fake.fail(501, blocked)
    assert await send(501) == ChatGone("Forbidden: bot was blocked by the user")
    fake.fail(502, chat_not_found)
    assert isinstance(await send(502), ChatGone)
    fake.fail(503, lambda: flood(7), times=1)
    assert await send(503) == RetryAfter(7.0)
    assert isinstance(await send(503), Sent)
    fake.fail(504, lambda: migrated(-100504))
    assert await send(504) == Migrated("-100504", "supergroup")
    fake.fail(505, server_error, times=1)
    assert isinstance(await send(505), Transient)
    rejected = await send(506, {"text": "<b>broken", "parse_mode": "HTML"})
    assert isinstance(rejected, FormatRejected) and "can't parse entities" in rejected.reason.lower()
    plain = sender.plain({"text": "<b>a &lt; b</b>", "parse_mode": "HTML"})
    assert isinstance(await send(506, plain), Sent)
    assert fake.sent_to(506)[-1].visible == "a < b"
    too_long = await send(507, {"text": "x" * 4097})
    assert isinstance(too_long, FormatRejected) and "too long" in too_long.reason
    assert isinstance(await send(999_999), ChatGone)  # never met: chat not found


async def test_blocked_user_is_paused_by_the_block_update(bot: Bot) -> None:
    ann = bot.fake.user(600, language="en")
    await bot.say(600, "/subscribe", sender=ann)
    bot.fake.fail(600, blocked)
    bot.fake.push_my_chat_member(600, "member", "kicked", by=ann, until_date=0)
    sub = await paused(bot.store, "600")
    assert sub.paused_reason == "bot was blocked by the user"


# -- robustness ----------------------------------------------------------------------------------


async def test_bad_input_never_stops_the_bot(bot: Bot) -> None:
    ann = bot.fake.user(700, language="en")
    too_long = await bot.say(700, "/keywords +" + "x" * 600, sender=ann)
    assert "too long" in too_long.text
    assert "Unknown command /frobnicate" in (await bot.say(700, "/frobnicate now", sender=ann)).text
    bot.fake.push_message(700, "just chatting", sender=ann)
    picker_less = await bot.say(700, "/subscribe", sender=ann)
    fake_message = FakeMessage(picker_less.message_id, 700, None, "x", "x", None, None, 0)
    for data in ("garbage", "c::t:unknown-category", "c:@nobody:a"):
        answer = await bot.press_data(fake_message, data, sender=ann)
        assert answer.get("show_alert") is True
    assert (await bot.say(700, "/help", sender=ann)).text.startswith("Commands:")


async def test_token_never_appears_in_debug_logs(tmp_path: Path) -> None:
    with debug_log() as stream:
        setup_logging("DEBUG", [TOKEN], stream)
        async with (
            FakeTelegram(TOKEN, flood_rules=FloodRules(enabled=False)) as fake,
            running(tmp_path, fake) as bot,
        ):
            ann = fake.user(800, language="en")
            await bot.say(800, "/start", sender=ann)
            fake.fail(801, server_error)
            await bot.platform.sender.send(Target("telegram", "801", None, "private"), {"text": "x"})
    output = stream.getvalue()
    assert "getUpdates" in output and "sendMessage" in output  # the URLs were logged...
    assert TOKEN not in output  # ...without the token
    assert TOKEN.split(":")[1] not in output
    assert REDACTED in output
