"""End to end on the fake Bot API: /pin in channels. The first message of each new digest is pinned
without a notification and the previous digest's pin removed; /pin on says when the bot lacks the
right; a pin refused at send time is logged once and the digest stays; zh and en."""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest
from telegram.error import BadRequest
from telegram_helpers import VOCABULARY, Bot, small_digest, store_digest

from bot.core.model import Digest
from bot.delivery.config import DeliveryConfig
from bot.delivery.engine import DeliveryEngine
from bot.delivery.expander import fan_out
from bot.platforms.registry import default_renderers

pytestmark = pytest.mark.filterwarnings("ignore:.*`retry_after`:DeprecationWarning")
CHANNEL = -1001000007001


async def deliver(bot: Bot, number: int) -> list[int]:
    """Digest `number` stored, planned and sent; the ids of the messages it put in the channel."""
    before = len(bot.fake.sent_to(CHANNEL))
    digest: Digest = replace(small_digest(), id=f"pin-{number}", title=f"Digest {number}")
    await store_digest(bot.store, digest)
    await fan_out(bot.store, VOCABULARY, renderers=default_renderers())
    engine = DeliveryEngine(bot.store, {"telegram": bot.platform.sender}, bot.limiter, DeliveryConfig())
    await engine.drain()
    return [m.message_id for m in bot.fake.sent_to(CHANNEL)[before:]]


def pin_calls(bot: Bot, method: str) -> list[dict[str, object]]:
    return [params for name, params in bot.fake.requests if name == method]


async def test_pin_refused_without_the_right_then_pins_each_digest(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    bot.fake.add_chat(CHANNEL, "channel", title="AI News", username="ai_pins")
    bot.fake.set_bot_admin(CHANNEL)  # may post, may not pin
    ann = bot.fake.user(400, language="en")
    li = bot.fake.user(401, language="zh")
    for user in (ann, li):
        bot.fake.set_member(CHANNEL, user["id"], "administrator")
    await bot.say(400, "/subscribe @ai_pins", sender=ann)

    refused = (await bot.say(400, "/pin @ai_pins on", sender=ann)).text
    assert refused.startswith("I may not pin messages in this channel.") and "Edit messages" in refused
    assert "编辑消息" in (await bot.say(401, "/pin @ai_pins on", sender=li)).text
    assert (await bot.say(400, "/pin @ai_pins maybe", sender=ann)).text.startswith(
        "Cannot read “maybe”. Usage: /pin on"
    )
    bot.fake.set_bot_admin(CHANNEL, can_edit_messages=True)
    assert (await bot.say(400, "/pin @ai_pins on", sender=ann)).text == "Pin the latest digest: on."
    await bot.say(401, "/language @ai_pins zh", sender=li)  # the channel's language now answers
    assert (await bot.say(401, "/pin @ai_pins", sender=li)).text.startswith("置顶最新摘要：开。\n用法：")
    assert (
        f"；置顶最新摘要：开\n聊天 ID：{CHANNEL}" in (await bot.say(401, "/status @ai_pins", sender=li)).text
    )

    first = await deliver(bot, 1)
    assert bot.fake.pinned[CHANNEL] == [first[0]]
    pinned = pin_calls(bot, "pinchatmessage")
    assert len(pinned) == 1 and pinned[0]["disable_notification"] is True
    second = await deliver(bot, 2)
    assert bot.fake.pinned[CHANNEL] == [second[0]]  # the previous digest's pin is gone
    assert [c["message_id"] for c in pin_calls(bot, "unpinchatmessage")] == [first[0]]
    sub = await bot.store.get_subscription("telegram", str(CHANNEL))
    assert sub is not None and sub.pinned_message_id == str(second[0])

    bot.fake.set_bot_admin(CHANNEL)  # the right taken away: digests still go out, one warning
    with caplog.at_level(logging.WARNING, logger="bot.platforms.telegram.pins"):
        third, fourth = await deliver(bot, 3), await deliver(bot, 4)
    assert third and fourth and bot.fake.pinned[CHANNEL] == [second[0]]
    warnings = [r.getMessage() for r in caplog.records if r.name == "bot.platforms.telegram.pins"]
    assert len(warnings) == 1 and "Not enough rights to manage pinned" in warnings[0]
    assert bot.fake.token not in warnings[0]

    assert (await bot.say(401, "/pin @ai_pins 关", sender=li)).text == "置顶最新摘要：关。"
    bot.fake.set_bot_admin(CHANNEL, can_edit_messages=True)
    calls = len(pin_calls(bot, "pinchatmessage"))
    assert await deliver(bot, 5)
    assert len(pin_calls(bot, "pinchatmessage")) == calls  # off: nothing pinned


async def test_pin_is_for_channels_only(bot: Bot) -> None:
    ann = bot.fake.user(410, language="en")
    li = bot.fake.user(411, language="zh")
    await bot.say(410, "/subscribe", sender=ann)
    assert (await bot.say(410, "/pin on", sender=ann)).text.startswith("Pinning works in channels only")
    assert (await bot.say(411, "/pin on", sender=li)).text.startswith("置顶只用于频道")
    assert pin_calls(bot, "getchatmember") == []  # refused before asking Telegram anything


async def test_fake_server_pin_rules(bot: Bot) -> None:
    """The fake enforces Telegram's rules: rights in channels, the message must exist."""
    bot.fake.add_chat(CHANNEL, "channel", title="AI News")
    bot.fake.set_bot_admin(CHANNEL, can_edit_messages=True)
    tg = bot.platform.application.bot
    sent = await tg.send_message(CHANNEL, "hello")
    with pytest.raises(BadRequest, match="Message to pin not found"):
        await tg.pin_chat_message(CHANNEL, sent.message_id + 5)
    assert await tg.pin_chat_message(CHANNEL, sent.message_id)
    assert await tg.unpin_chat_message(CHANNEL, message_id=sent.message_id)
    bot.fake.set_bot_admin(CHANNEL)
    with pytest.raises(BadRequest, match="Not enough rights"):
        await tg.pin_chat_message(CHANNEL, sent.message_id)
