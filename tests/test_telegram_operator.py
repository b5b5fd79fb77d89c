"""/id, /announce and /forget on Telegram: the real PTB application against the fake Bot API."""

from __future__ import annotations

import asyncio

import pytest
from telegram_helpers import OWNER, Bot
from waiting import ledger_settled, wait_for

from bot.delivery.config import DeliveryConfig
from bot.delivery.engine import DeliveryEngine

pytestmark = pytest.mark.filterwarnings("ignore:.*`retry_after`:DeprecationWarning")
READERS = (301, 302, 303)
TEXT = "Maintenance <tonight> & *no* markup\nSecond line: https://example.com/x"


async def subscribe(bot: Bot, chat: int) -> None:
    user = bot.fake.user(chat, language="en")
    await bot.say(chat, "/subscribe", sender=user)


async def test_id_replies_with_chat_and_user_ids(bot: Bot) -> None:
    user = bot.fake.user(310, language="zh-hans")
    reply = await bot.say(310, "/id", sender=user)
    assert reply.text == "聊天 id：310\n你的用户 id：310"


async def test_announce_previews_exactly_then_sends_once_on_confirm(bot: Bot) -> None:
    for chat in READERS:
        await subscribe(bot, chat)
    owner = bot.fake.user(OWNER, language="en")
    before = len(bot.fake.sent_to(OWNER))
    bot.fake.push_message(OWNER, f"/announce {TEXT}", sender=owner)
    await bot.fake.wait_for(lambda: len(bot.fake.sent_to(OWNER)) >= before + 2)
    preview, question = bot.fake.sent_to(OWNER)[before : before + 2]
    assert preview.visible == TEXT and preview.parse_mode == "HTML"  # escaped: shows exactly as typed
    assert "goes to 3 active chats" in question.text
    [button] = question.buttons()
    assert button["text"] == "Send to 3 chats"
    assert all(bot.fake.sent_to(chat)[-1].visible != TEXT for chat in READERS)  # nothing sent yet

    answer = await bot.press(question, "Send to 3 chats", sender=owner)
    assert not answer.get("show_alert")
    assert question.text.startswith("Announcement #") and "queued for 3 chats" in question.text
    assert question.reply_markup is None
    again = await bot.press_data(question, button["callback_data"], sender=owner)  # a second click
    assert not again.get("show_alert") and "already sent (3 chats)" in question.text

    engine = DeliveryEngine(bot.store, {"telegram": bot.platform.sender}, bot.limiter, DeliveryConfig())
    running_engine = asyncio.create_task(engine.run())
    try:
        await bot.fake.wait_for(lambda: all(bot.fake.sent_to(c)[-1].visible == TEXT for c in READERS))
        await wait_for(lambda: ledger_settled(bot.store.path, 3), 10, "the announcement rows settled")
    finally:
        await engine.stop(grace=1)
        await running_engine
    for chat in READERS:
        assert [m.visible for m in bot.fake.sent_to(chat)].count(TEXT) == 1


async def test_announce_is_for_owners_and_checks_its_arguments(bot: Bot) -> None:
    stranger = bot.fake.user(320, language="en")
    assert "owners only" in (await bot.say(320, "/announce hi", sender=stranger)).text
    owner = bot.fake.user(OWNER, language="en")
    assert (await bot.say(OWNER, "/announce", sender=owner)).text.startswith("Usage: /announce")
    assert "at most 1000" in (await bot.say(OWNER, "/announce " + "y" * 1001, sender=owner)).text
    assert "no announcement draft #77" in (await bot.say(OWNER, "/announce confirm 77", sender=owner)).text


async def test_a_stranger_pressing_the_confirm_button_is_refused(bot: Bot) -> None:
    owner = bot.fake.user(OWNER, language="en")
    before = len(bot.fake.sent_to(OWNER))
    bot.fake.push_message(OWNER, "/announce hello", sender=owner)
    await bot.fake.wait_for(lambda: len(bot.fake.sent_to(OWNER)) >= before + 2)
    question = bot.fake.sent_to(OWNER)[before + 1]
    stranger = bot.fake.user(321, language="en")
    answer = await bot.press(question, question.buttons()[0]["text"], sender=stranger)
    assert answer.get("show_alert") and "owners only" in answer["text"]
    assert question.reply_markup is not None  # still waiting for its owner


async def test_forget_asks_then_deletes_the_chat(bot: Bot) -> None:
    await subscribe(bot, 330)
    user = bot.fake.user(330, language="en")
    ask = await bot.say(330, "/forget", sender=user)
    assert "cannot be undone" in ask.text
    assert await bot.store.get_subscription("telegram", "330") is not None
    await bot.press(ask, "Delete everything", sender=user)
    assert ask.text.startswith("Deleted this chat's subscription") and ask.reply_markup is None
    assert await bot.store.get_subscription("telegram", "330") is None
    assert (await bot.say(330, "/forget", sender=user)).text == "Nothing is stored about this chat."
