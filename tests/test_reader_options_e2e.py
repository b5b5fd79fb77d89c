"""End to end on the fake Bot API: /format, /previews, /silent and /quiet ... silent change what the
real planner and engine send through the real Telegram adapter, answered in zh and en, with bad
arguments refused clearly. /pin is in test_pin_e2e.py."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fake_telegram import FakeTelegram
from fake_telegram_types import FakeMessage, FloodRules
from telegram_helpers import (
    OWNER,
    TOKEN,
    VOCABULARY,
    Bot,
    running,
    sample_digest,
    store_digest,
    telegram_config,
)

from bot.core.model import Digest
from bot.delivery.config import DeliveryConfig
from bot.delivery.engine import DeliveryEngine
from bot.delivery.expander import fan_out
from bot.platforms import telegram
from bot.platforms.registry import default_renderers
from bot.platforms.telegram.config import TelegramConfig

pytestmark = pytest.mark.filterwarnings("ignore:.*`retry_after`:DeprecationWarning")


async def deliver(bot: Bot, digest: Digest, config: TelegramConfig | None = None) -> None:
    """Store, plan and send one digest to every subscribed chat, as the app does (with the renderer
    `config` binds: its link-preview default)."""
    renderers = default_renderers()
    if config is not None:
        renderers["telegram"] = telegram.SPEC.make_renderer(config)
    await store_digest(bot.store, digest)
    await fan_out(bot.store, VOCABULARY, renderers=renderers)
    engine = DeliveryEngine(bot.store, {"telegram": bot.platform.sender}, bot.limiter, DeliveryConfig())
    await engine.drain()


def flag(message: FakeMessage, name: str) -> bool:
    return message.params.get(name) in (True, "true", "True")


def previews_shown(message: FakeMessage) -> bool:
    return not (message.params.get("link_preview_options") or {}).get("is_disabled", False)


async def test_format_commands_in_english_and_chinese(bot: Bot) -> None:
    ann = bot.fake.user(200, language="en")
    li = bot.fake.user(201, language="zh-hans")
    assert "subscribe" in (await bot.say(200, "/format compact", sender=ann)).text  # not subscribed yet
    await bot.say(200, "/subscribe", sender=ann)
    await bot.say(201, "/subscribe", sender=li)

    shown = (await bot.say(200, "/format", sender=ann)).text
    assert shown.startswith("Format: full.\nUsage: /format full")
    assert (await bot.say(200, "/format compact", sender=ann)).text == (
        "Format set to compact, from the next digest on."
    )
    assert (await bot.say(200, "/format", sender=ann)).text.startswith("Format: compact.")
    bad = (await bot.say(200, "/format tiny", sender=ann)).text
    assert bad.startswith("Cannot read “tiny”. Usage: /format full")
    assert (await bot.say(200, "/format full compact", sender=ann)).text.startswith("Cannot read")

    assert (await bot.say(201, "/format 简洁", sender=li)).text == "格式已设为：简洁。从下一期摘要开始生效。"
    assert (await bot.say(201, "/format", sender=li)).text.startswith("格式：简洁。\n用法：")
    assert (await bot.say(201, "/format 很短", sender=li)).text.startswith("无法识别“很短”。用法：")
    sub = await bot.store.get_subscription("telegram", "201")
    assert sub is not None and sub.format == "compact"
    assert (await bot.say(201, "/status", sender=li)).text.endswith(
        "\n格式：简洁；链接预览：按机器人的默认设置；静音推送：关\n聊天 ID：201"
    )
    assert (await bot.say(200, "/status", sender=ann)).text.endswith(
        "\nFormat: compact; Link previews: the bot's default; Silent messages: off\nChat id: 200"
    )


async def test_compact_chat_gets_one_message_of_linked_titles(bot: Bot) -> None:
    ann = bot.fake.user(210, language="en")
    bob = bot.fake.user(211, language="en")
    await bot.say(210, "/subscribe", sender=ann)
    await bot.say(211, "/subscribe", sender=bob)
    await bot.say(210, "/format compact", sender=ann)
    before = {chat: len(bot.fake.sent_to(chat)) for chat in (210, 211)}
    await deliver(bot, sample_digest())

    full = bot.fake.sent_to(211)[before[211] :]
    compact = bot.fake.sent_to(210)[before[210] :]
    assert len(full) > 1 and len(compact) == 1
    text = compact[0].text
    assert '1. <a href="https://example.com/1?a=1&amp;b=2"><b>Item 1: jobs news &lt;1&gt;</b></a>' in text
    assert "\n24. <a " in text and "Details:" not in text and "#" not in text
    assert "Details:" in full[0].visible


async def test_previews_and_silent_per_chat(tmp_path: Path) -> None:
    async with FakeTelegram(TOKEN, flood_rules=FloodRules(enabled=False)) as fake:
        fake.user(OWNER, language="en")
        config = telegram_config(fake, link_previews=True)
        async with running(tmp_path, fake, config) as bot:
            ann, li, eve = fake.user(220, language="en"), fake.user(221, language="zh"), fake.user(222)
            for chat, user in ((220, ann), (221, li), (222, eve)):
                await bot.say(chat, "/subscribe", sender=user)
            assert (await bot.say(220, "/previews", sender=ann)).text.startswith(
                "Link previews: the bot's default."
            )
            assert (await bot.say(220, "/previews off", sender=ann)).text == (
                "Link previews: off, from the next digest on."
            )
            assert (await bot.say(220, "/silent on", sender=ann)).text == (
                "Silent messages: on, from the next digest on."
            )
            assert (await bot.say(220, "/silent", sender=ann)).text.startswith("Silent messages: on.")
            assert (await bot.say(220, "/silent loud", sender=ann)).text.startswith(
                "Cannot read “loud”. Usage: /silent on"
            )
            assert (
                await bot.say(221, "/silent 开", sender=li)
            ).text == "静音推送：开。从下一期摘要开始生效。"
            assert (
                await bot.say(221, "/previews 关", sender=li)
            ).text == "链接预览：关。从下一期摘要开始生效。"
            assert (await bot.say(221, "/previews 也许", sender=li)).text.startswith("无法识别“也许”。用法：")
            before = {chat: len(fake.sent_to(chat)) for chat in (220, 221, 222)}
            await deliver(bot, sample_digest(), config)

            for chat in (220, 221):
                sent = fake.sent_to(chat)[before[chat] :]
                assert sent and all(flag(m, "disable_notification") for m in sent)
                assert not any(previews_shown(m) for m in sent)
            default = fake.sent_to(222)[before[222] :]
            assert default and all(previews_shown(m) for m in default)
            assert not any(flag(m, "disable_notification") for m in default)


def hours_around(now: datetime) -> str:
    """Quiet hours from an hour ago to an hour from now (UTC wall clock)."""
    return f"{now - timedelta(hours=1):%H:%M}-{now + timedelta(hours=1):%H:%M}"


async def test_silent_quiet_hours_send_without_notification(bot: Bot) -> None:
    ann = bot.fake.user(230, language="en")
    li = bot.fake.user(231, language="zh")
    held = bot.fake.user(232, language="en")
    quiet = hours_around(datetime.now(UTC))
    for chat, user in ((230, ann), (231, li), (232, held)):
        await bot.say(chat, "/subscribe", sender=user)
    assert (await bot.say(230, f"/quiet {quiet} silent", sender=ann)).text == (
        f"Quiet hours: {quiet} silent. Messages then still go out, without a notification."
    )
    assert (await bot.say(231, f"/quiet {quiet} 静音", sender=li)).text == (
        f"免打扰：{quiet} silent。这段时间内的消息照常发出，但不发通知。"
    )
    assert "Bad quiet hours" in (await bot.say(230, f"/quiet {quiet} loudly", sender=ann)).text
    await bot.say(232, f"/quiet {quiet}", sender=held)
    assert "Quiet hours: " + quiet in (await bot.say(230, "/status", sender=ann)).text
    before = {chat: len(bot.fake.sent_to(chat)) for chat in (230, 231, 232)}
    await deliver(bot, replace(sample_digest(), id="2025-11-20-21"))

    for chat in (230, 231):
        sent = bot.fake.sent_to(chat)[before[chat] :]
        assert len(sent) > 1 and all(flag(m, "disable_notification") for m in sent)
    assert bot.fake.sent_to(232)[before[232] :] == []  # plain quiet hours still hold
