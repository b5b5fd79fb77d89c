"""End to end against the fake Bot API: start-up errors, webhooks, stopping, and command floods."""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from fake_telegram import FakeTelegram
from fake_telegram_types import FloodRules, flood
from pydantic import SecretStr
from telegram_helpers import (
    OWNER,
    TOKEN,
    VOCABULARY,
    Bot,
    debug_log,
    limiter_for,
    running,
    telegram_config,
)

from bot.commands.config import CommandBudgetConfig
from bot.commands.service import CommandService
from bot.config import Settings
from bot.delivery.config import RateLimits
from bot.logs import REDACTED, setup_logging
from bot.platforms.registry import default_renderers
from bot.platforms.telegram.adapter import TelegramPlatform, TelegramStartError
from bot.platforms.telegram.config import TelegramConfig, TelegramWebhook
from bot.store.db import Store

pytestmark = pytest.mark.filterwarnings("ignore:.*`retry_after`:DeprecationWarning")


# -- lifecycle -----------------------------------------------------------------------------------


async def test_rejected_token_is_a_clear_start_error(tmp_path: Path) -> None:
    async with FakeTelegram("1:other-token") as fake:
        store = await Store.open(tmp_path / "db.sqlite")
        platform = TelegramPlatform(
            telegram_config(fake),
            CommandService(store, VOCABULARY, renderers=default_renderers()),
            default_language="en",
            limiter=limiter_for(telegram_config(fake)),
        )
        with pytest.raises(TelegramStartError, match="token was rejected") as info:
            await platform.start()
        assert TOKEN not in str(info.value)
        await platform.stop()
        await store.close()


async def test_unreachable_server_fails_start_and_stop_is_safe(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    store = await Store.open(tmp_path / "db.sqlite")
    config = TelegramConfig(token=SecretStr(TOKEN), base_url=f"http://127.0.0.1:{port}/bot")
    platform = TelegramPlatform(
        config,
        CommandService(store, VOCABULARY, renderers=default_renderers()),
        default_language="en",
        limiter=limiter_for(config),
    )
    with pytest.raises(TelegramStartError, match="cannot start") as info:
        await platform.start()
    assert TOKEN not in str(info.value)
    await platform.stop()
    await platform.stop()
    await store.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def command_update(update_id: int, chat: dict[str, Any], sender: dict[str, Any], text: str) -> dict[str, Any]:
    """A message update exactly as Telegram posts it to a webhook."""
    command = text.split()[0]
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 0,
            "chat": chat,
            "from": sender,
            "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(command)}],
        },
    }


@pytest.mark.parametrize("configured", [True, False], ids=["configured-secret", "generated-secret"])
async def test_webhook_refuses_updates_without_the_secret(tmp_path: Path, configured: bool) -> None:
    port = free_port()
    async with FakeTelegram(TOKEN, flood_rules=FloodRules(enabled=False)) as fake:
        secret = {"secret_token": SecretStr("s3cret-value")} if configured else {}
        webhook = TelegramWebhook(
            url="https://bot.example.test/hook/abc", listen="127.0.0.1", port=port, **secret
        )
        async with running(tmp_path, fake, telegram_config(fake, webhook=webhook)) as bot:
            assert fake.webhook is not None
            assert fake.webhook["url"] == "https://bot.example.test/hook/abc"
            assert "message" in fake.webhook["allowed_updates"]
            registered = fake.webhook["secret_token"]
            if configured:
                assert registered == "s3cret-value"
            else:
                assert re.fullmatch(r"[A-Za-z0-9_-]{43}", registered)
                assert registered == webhook.secret_token.get_secret_value()
            url = f"http://127.0.0.1:{port}/hook/abc"
            group = fake.add_chat(-2100, "supergroup", title="Readers")
            admin = fake.user(900_100, language="en")
            fake.set_member(-2100, 900_100, "administrator")
            assert await fake.post_webhook(url, command_update(1, group, admin, "/subscribe")) == 200
            await fake.wait_for(lambda: len(fake.sent_to(-2100)) == 1)
            assert fake.sent_to(-2100)[0].text.startswith("Subscribed")

            # The forgery that used to unsubscribe a group: its id, but "private" so nobody is asked.
            private = {"id": -2100, "type": "private", "first_name": "x"}
            forged = command_update(2, private, admin, "/unsubscribe")
            assert await fake.post_webhook(url, forged, secret="") == 403
            assert await fake.post_webhook(url, forged, secret="wrong") == 403
            assert await fake.post_webhook(url, forged, secret=registered + "x") == 403
            assert await fake.post_webhook(url, b"x" * (2 << 20)) == 413
            assert await fake.post_webhook(url, b"not json") == 400
            assert await fake.post_webhook(url, command_update(3, group, admin, "/status")) == 200
            await fake.wait_for(lambda: len(fake.sent_to(-2100)) == 2)
            assert "Status: active" in fake.sent_to(-2100)[1].text
            sub = await bot.store.get_subscription("telegram", "-2100")
            assert sub is not None and sub.status == "active"
            assert fake.calls("getUpdates") == []


async def test_a_generated_webhook_secret_never_reaches_the_logs(tmp_path: Path) -> None:
    port = free_port()
    with debug_log() as stream:
        async with FakeTelegram(TOKEN, flood_rules=FloodRules(enabled=False)) as fake:
            webhook = TelegramWebhook(url="https://bot.example.test/hook", listen="127.0.0.1", port=port)
            settings = Settings(telegram=telegram_config(fake, webhook=webhook))
            setup_logging("DEBUG", settings.secrets(), stream)
            async with running(tmp_path, fake, settings.telegram):
                assert fake.webhook is not None
    output = stream.getvalue()
    assert "setWebhook" in output and "secret_token" in output  # PTB logged the call's parameters...
    assert webhook.secret_token.get_secret_value() not in output  # ...without the secret
    assert REDACTED in output


async def test_a_refused_reply_waits_as_told_and_arrives_once(bot: Bot) -> None:
    ann = bot.fake.user(701, language="en")
    bot.fake.fail(701, lambda: flood(1), times=1)
    started = asyncio.get_running_loop().time()
    reply = await bot.say(701, "/help", sender=ann)
    assert reply.text.startswith("Commands:")
    assert asyncio.get_running_loop().time() - started >= 1.0
    assert len(bot.fake.sent_to(701)) == 1
    assert len([p for p in bot.fake.calls("sendMessage") if p["chat_id"] == 701]) == 2


async def test_an_empty_token_is_refused_up_front(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "db.sqlite")
    with pytest.raises(TelegramStartError, match="token is empty"):
        TelegramPlatform(
            TelegramConfig(),
            CommandService(store, VOCABULARY, renderers=default_renderers()),
            default_language="en",
            limiter=limiter_for(TelegramConfig()),
        )
    await store.close()


async def test_webhook_port_in_use_is_a_clear_start_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        async with FakeTelegram(TOKEN) as fake:
            fake.user(OWNER)
            store = await Store.open(tmp_path / "db.sqlite")
            webhook = TelegramWebhook(url="https://bot.example.test/hook", listen="127.0.0.1", port=port)
            platform = TelegramPlatform(
                telegram_config(fake, webhook=webhook),
                CommandService(store, VOCABULARY, renderers=default_renderers()),
                default_language="en",
                limiter=limiter_for(telegram_config(fake)),
            )
            with pytest.raises(TelegramStartError, match="webhook server cannot listen"):
                await platform.start()
            await platform.stop()
            await store.close()


# -- floods --------------------------------------------------------------------------------------

# Telegram's real pacing, a bit faster per chat so the test stays short; the default command budget.
PACED = RateLimits(global_per_second=30, per_chat_per_second=4, per_group_per_minute=20)


@asynccontextmanager
async def paced_bot(tmp_path: Path) -> AsyncIterator[Bot]:
    rules = FloodRules(per_chat_per_second=4.0)
    async with FakeTelegram(TOKEN, flood_rules=rules) as fake:
        config = telegram_config(fake, rate_limits=PACED, command_budget=CommandBudgetConfig())
        async with running(tmp_path, fake, config) as harness:
            yield harness


async def reply_time(bot: Bot, chat_id: int, sender: dict[str, Any]) -> float:
    """Seconds from a /help in `chat_id` until its answer arrives."""
    clock = asyncio.get_running_loop().time
    started = clock()
    await bot.say(chat_id, "/help", sender=sender)
    return clock() - started


async def test_one_users_flood_neither_delays_others_nor_gets_more_than_one_slow_down(tmp_path: Path) -> None:
    async with paced_bot(tmp_path) as bot:
        flooder = bot.fake.user(950, language="en")
        other = bot.fake.user(951, language="en")
        for _ in range(40):
            bot.fake.push_message(950, "/status", sender=flooder)
        assert await reply_time(bot, 951, other) < 1.0

        await bot.fake.wait_for(lambda: len(bot.fake.sent_to(950)) >= 6)
        await asyncio.sleep(0.6)  # time for a seventh reply, were there one
        replies = [message.text for message in bot.fake.sent_to(950)]
        slow_down = [text for text in replies if text.startswith("Too many commands")]
        assert len(slow_down) == 1 and len(replies) == 6
        assert bot.fake.refused == []  # and Telegram never had to refuse a send


async def test_button_presses_count_against_the_same_budget(tmp_path: Path) -> None:
    async with paced_bot(tmp_path) as bot:
        ann = bot.fake.user(955, language="en")
        await bot.say(955, "/subscribe", sender=ann)
        picker = await bot.say(955, "/categories", sender=ann)  # two commands: three presses left
        data = next(b["callback_data"] for b in picker.buttons() if b["text"] == "Jobs")
        queries = [bot.fake.push_callback(picker, data, sender=ann) for _ in range(6)]
        await bot.fake.wait_for(lambda: len(bot.fake.callback_answers) >= 4)
        await asyncio.sleep(0.3)  # time for a fifth answer, were there one
        answers = {a["callback_query_id"]: a for a in bot.fake.callback_answers}
        assert [q in answers for q in queries] == [True] * 4 + [False] * 2
        assert answers[queries[3]]["text"].startswith("Too many commands")
        assert picker.edits == 3


async def test_a_busy_group_does_not_hold_up_other_chats(tmp_path: Path) -> None:
    async with paced_bot(tmp_path) as bot:
        group = -2200
        bot.fake.add_chat(group, "supergroup", title="Busy")
        for member in range(960, 980):  # twenty members, each well within their own budget
            bot.fake.push_message(group, "/status", sender=bot.fake.user(member, language="en"))
        await bot.fake.wait_for(lambda: len(bot.fake.sent_to(group)) >= 1)
        # The group may get one reply every 3 s (20/min); the others wait for it outside PTB's
        # update slots, so a private chat is answered at once.
        assert await reply_time(bot, 981, bot.fake.user(981, language="en")) < 1.0
        assert len(bot.fake.sent_to(group)) < 20
