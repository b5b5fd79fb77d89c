"""End to end: the real PTB Application of the bot against the fake Bot API server on loopback."""

from __future__ import annotations

import asyncio
import io
import logging
import re
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fake_telegram import (
    BOT_USERNAME,
    ApiError,
    FakeMessage,
    FakeTelegram,
    FloodRules,
    blocked,
    chat_not_found,
    flood,
    migrated,
    server_error,
)
from pydantic import SecretStr
from telegram_helpers import (
    OWNER,
    TOKEN,
    VOCABULARY,
    Bot,
    limiter_for,
    running,
    store_digest,
    telegram_config,
)

from bot.commands.config import CommandBudgetConfig
from bot.commands.service import CommandService
from bot.config import Settings
from bot.core.model import Digest, Item, Span
from bot.delivery.config import RateLimits
from bot.delivery.outcome import ChatGone, FormatRejected, Migrated, RetryAfter, Sent, Target, Transient
from bot.logs import REDACTED, setup_logging
from bot.platforms.registry import default_renderers
from bot.platforms.telegram.adapter import TelegramPlatform, TelegramStartError
from bot.platforms.telegram.config import TelegramConfig, TelegramWebhook
from bot.platforms.telegram.render import render_telegram
from bot.render.options import RenderOptions
from bot.store.db import Store
from bot.store.subscriptions import Subscription

pytestmark = pytest.mark.filterwarnings("ignore:.*`retry_after`:DeprecationWarning")


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[Bot]:
    async with FakeTelegram(TOKEN, flood_rules=FloodRules(enabled=False)) as fake:
        fake.user(OWNER, language="en")
        async with running(tmp_path, fake) as harness:
            yield harness


def sample_digest() -> Digest:
    """Enough items with long summaries to need several messages; text with <, > and & on purpose."""
    items = []
    for number in range(1, 25):
        category = ("robotics", "jobs", "tech")[number % 3]
        summary = (
            (Span(f"第 {number} 条：机器人 & 自动化 <进展> 的摘要。"), Span("重点", bold=True)),
            (Span("Details: a < b && c > d. " * 30),),
        )
        items.append(
            Item(
                number=number,
                title=f"Item {number}: {category} news <{number}>",
                url=f"https://example.com/{number}?a=1&b=2",
                summary=summary,
                categories=(category,),
            )
        )
    return Digest(
        id="2025-11-20-20",
        title="AI 日报 2025.11.20",
        date=datetime(2025, 11, 20, 20, tzinfo=UTC),
        items=tuple(items),
    )


async def paused(store: Store, chat_id: str, timeout: float = 5.0) -> Subscription:
    """The chat's subscription once it is paused (updates are handled in the background)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        sub = await store.get_subscription("telegram", chat_id)
        if sub is not None and sub.status == "paused":
            return sub
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"chat {chat_id} was not paused: {sub}")
        await asyncio.sleep(0.02)


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
    assert "Schedule: at 08:00" in (await bot.say(103, "/schedule at 08:00 Europe/Berlin", sender=ann)).text
    assert "Quiet hours: 22:00-07:00" in (await bot.say(103, "/quiet 22:00-07:00", sender=ann)).text
    assert (await bot.say(103, "/language zh", sender=ann)).text == "语言已设为中文。"
    status = await bot.say(103, "/status", sender=ann)
    assert "状态：正常" in status.text and "Europe/Berlin" in status.text
    assert "用法" in (await bot.say(103, "/schedule at 25:99", sender=ann)).text


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
    assert {c["command"] for c in group} == {"latest", "status", "help"}
    admins = menus[('{"type": "all_chat_administrators"}', "en")]
    assert "subscribe" in {c["command"] for c in admins}
    private_zh = {c["command"]: c["description"] for c in menus[('{"type": "all_private_chats"}', "zh")]}
    assert private_zh["subscribe"] == "订阅（可指定分类）"
    assert "stats" not in private_zh
    owner_scope = next(key for key in menus if '"chat"' in key[0])
    assert "stats" in {c["command"] for c in menus[owner_scope]}


# -- groups, topics, channels --------------------------------------------------------------------


async def test_group_members_may_read_but_only_admins_change(bot: Bot) -> None:
    group = -2001
    bot.fake.add_chat(group, "supergroup", title="Readers")
    member = bot.fake.user(200, language="en")
    admin = bot.fake.user(201, language="en")
    bot.fake.set_member(group, 200, "member")
    bot.fake.set_member(group, 201, "administrator")

    refused = await bot.say(group, f"/subscribe@{BOT_USERNAME} robotics", sender=member)
    assert refused.text.startswith("Sorry, only this chat's administrators")
    assert refused.params["reply_parameters"]["message_id"] > 0
    assert await bot.store.get_subscription("telegram", str(group)) is None

    ok = await bot.say(group, "/subscribe robotics", sender=admin)
    assert ok.text == "Subscribed: Robotics."
    assert "Status: active" in (await bot.say(group, "/status", sender=member)).text

    picker = await bot.say(group, "/categories", sender=admin)
    answer = await bot.press(picker, "Jobs", sender=member)
    assert answer["show_alert"] is True and "administrators" in answer["text"]
    assert picker.edits == 0

    anonymous = await bot.say(group, "/unsubscribe", sender=None, sender_chat=bot.fake.chats[group])
    assert anonymous.text.startswith("Unsubscribed")


@pytest.mark.parametrize(
    ("language", "expected"),
    [("fr", "命令："), ("zh-TW", "命令："), ("en-GB", "Commands:"), (None, "命令：")],
)
async def test_reply_language_follows_the_shared_rule(bot: Bot, language: str | None, expected: str) -> None:
    """The bot's default is zh: a client language it does not speak (fr) or none gets the default."""
    user = bot.fake.user(303, language=language)
    reply = await bot.say(303, "/help", sender=user)
    assert reply.text.startswith(expected)


async def test_other_bots_commands_are_ignored_in_groups(bot: Bot) -> None:
    group = -2002
    bot.fake.add_chat(group, "group", title="Shared")
    someone = bot.fake.user(202, language="en")
    bot.fake.push_message(group, "/weather@other_bot", sender=someone)
    bot.fake.push_message(group, "/weather", sender=someone)
    reply = await bot.say(group, "/help", sender=someone)
    assert reply.text.startswith("Commands:")
    assert len(bot.fake.sent_to(group)) == 1


async def test_subscription_in_a_forum_topic_posts_into_that_topic(bot: Bot) -> None:
    forum = -2003
    bot.fake.add_chat(forum, "supergroup", title="Forum", is_forum=True)
    admin = bot.fake.user(203, language="en")
    bot.fake.set_member(forum, 203, "creator")
    reply = await bot.say(forum, "/subscribe tech", sender=admin, thread_id=77)
    assert reply.thread_id == 77
    sub = await bot.store.get_subscription("telegram", str(forum), "77")
    assert sub is not None and sub.kind == "supergroup"
    assert await bot.store.get_subscription("telegram", str(forum)) is None
    outcome = await bot.platform.sender.send(
        Target("telegram", str(forum), "77", "supergroup"), {"text": "<b>hello</b>", "parse_mode": "HTML"}
    )
    assert isinstance(outcome, Sent)
    assert bot.fake.sent_to(forum)[-1].thread_id == 77


async def test_channel_is_subscribed_and_managed_from_private_chat(bot: Bot) -> None:
    channel = -1001000005001
    bot.fake.add_chat(channel, "channel", title="AI News", username="ai_news")
    bot.fake.set_bot_admin(channel)
    owner = bot.fake.user(300, language="en")
    bot.fake.set_member(channel, 300, "creator")

    reply = await bot.say(300, "/subscribe @ai_news robotics", sender=owner)
    assert reply.text == "Subscribed: Robotics."
    sub = await bot.store.get_subscription("telegram", str(channel))
    assert sub is not None
    assert (sub.kind, sub.title, sub.created_by) == ("channel", "AI News", "300")
    assert await bot.store.get_subscription("telegram", "300") is None

    status = await bot.say(300, f"/status {channel}", sender=owner)
    assert "Categories: Robotics" in status.text
    picker = await bot.say(300, "/categories @ai_news", sender=owner)
    assert picker.buttons()[0]["callback_data"] == f"c:{channel}:t:robotics"
    await bot.press(picker, "Tech", sender=owner)
    sub = await bot.store.get_subscription("telegram", str(channel))
    assert sub is not None and sub.filter.categories == frozenset({"robotics", "tech"})
    assert (await bot.say(300, "/unsubscribe @ai_news", sender=owner)).text.startswith("Unsubscribed")
    assert bot.fake.sent_to(channel) == []


async def test_channel_refusals_are_clear(bot: Bot) -> None:
    user = bot.fake.user(301, language="en")
    bot.fake.add_chat(-1005002, "channel", title="Not mine", username="not_mine")
    bot.fake.set_bot_admin(-1005002)
    bot.fake.add_chat(-1005003, "channel", title="No bot", username="no_bot_here")
    bot.fake.set_member(-1005003, 301, "creator")
    bot.fake.add_chat(-1005004, "channel", title="Read only", username="read_only")
    bot.fake.set_bot_admin(-1005004, can_post_messages=False)
    bot.fake.set_member(-1005004, 301, "administrator")
    bot.fake.add_chat(-2004, "supergroup", title="A group", username="a_group")

    cases = {
        "/subscribe @missing_channel": "was not found",
        "/subscribe @not_mine": "Only administrators of @not_mine",
        "/subscribe @no_bot_here": "I am not an administrator of @no_bot_here",
        "/subscribe @read_only": "right to post messages",
        "/subscribe @a_group": "is not a channel",
        "/status -1009999999999": "was not found",
    }
    for text, expected in cases.items():
        assert expected in (await bot.say(301, text, sender=user)).text, text
    group_admin = bot.fake.user(302, language="en")
    bot.fake.set_member(-2004, 302, "administrator")
    hint = await bot.say(-2004, "/subscribe @ai_news", sender=group_admin)
    assert "private chat" in hint.text


async def subscribed_channel(bot: Bot, channel: int, creator: dict[str, Any]) -> None:
    """A channel subscribed (robotics only) by `creator` while the bot could still verify it."""
    bot.fake.add_chat(channel, "channel", title="Lost", username=f"lost{-channel % 10_000}")
    bot.fake.set_bot_admin(channel)
    bot.fake.set_member(channel, creator["id"], "creator")
    assert (await bot.say(creator["id"], f"/subscribe {channel} robotics", sender=creator)).text.startswith(
        "Subscribed"
    )


@pytest.mark.parametrize(
    ("methods", "error", "refusal"),
    [
        (("getChat", "getChatMember"), chat_not_found, "was not found"),
        (("getChatMember",), lambda: ApiError(400, "Bad Request: member list is inaccessible"), "no longer"),
        (
            ("getChatMember",),
            lambda: ApiError(403, "Forbidden: bot is not a member of the channel chat"),
            "no longer",
        ),
    ],
    ids=["removed", "demoted-400", "demoted-403"],
)
async def test_a_lost_channel_allows_its_creator_only_status_and_unsubscribe(
    bot: Bot, methods: tuple[str, ...], error: Callable[[], ApiError], refusal: str
) -> None:
    channel = -1001000005100
    creator = bot.fake.user(310, language="en")
    await subscribed_channel(bot, channel, creator)
    picker = await bot.say(310, f"/categories {channel}", sender=creator)
    bot.fake.fail_lookups(channel, error, methods)

    for command in (f"/keywords {channel} +ai", f"/schedule {channel} at 08:00", f"/categories {channel}"):
        assert refusal in (await bot.say(310, command, sender=creator)).text, command
    answer = await bot.press(picker, "Tech", sender=creator)
    assert answer["show_alert"] is True and refusal in answer["text"]
    sub = await bot.store.get_subscription("telegram", str(channel))
    assert sub is not None and sub.filter.categories == {"robotics"} and sub.filter.include == ()
    assert sub.schedule == "instant"

    stranger = bot.fake.user(311, language="en")
    assert refusal in (await bot.say(311, f"/status {channel}", sender=stranger)).text
    assert "Status: active" in (await bot.say(310, f"/status {channel}", sender=creator)).text
    assert (await bot.say(310, f"/unsubscribe {channel}", sender=creator)).text.startswith("Unsubscribed")


async def test_a_demoted_creator_is_refused_even_status_when_telegram_says_so(bot: Bot) -> None:
    channel = -1001000005101
    creator = bot.fake.user(312, language="en")
    await subscribed_channel(bot, channel, creator)
    bot.fake.set_member(channel, 312, "member")
    for command in (f"/status {channel}", f"/unsubscribe {channel}", f"/keywords {channel} +ai"):
        assert "Only administrators" in (await bot.say(312, command, sender=creator)).text, command
    sub = await bot.store.get_subscription("telegram", str(channel))
    assert sub is not None and sub.status == "active" and sub.filter.include == ()


async def test_removed_bot_pauses_and_resubscribe_resumes(bot: Bot) -> None:
    group = -2005
    bot.fake.add_chat(group, "supergroup", title="Leavers")
    admin = bot.fake.user(204, language="en")
    bot.fake.set_member(group, 204, "administrator")
    await bot.say(group, "/subscribe jobs", sender=admin)
    await bot.say(group, "/keywords +hiring", sender=admin)

    bot.fake.push_my_chat_member(group, "member", "kicked", by=admin, until_date=0)
    sub = await paused(bot.store, str(group))
    assert sub.paused_reason == "bot was removed from the chat"

    bot.fake.push_my_chat_member(group, "left", "member", by=admin)
    resumed = await bot.say(group, "/subscribe", sender=admin)
    assert resumed.text.startswith("Subscription resumed")
    sub = await bot.store.get_subscription("telegram", str(group))
    assert sub is not None and sub.status == "active"
    assert sub.filter.categories == frozenset({"jobs"}) and sub.filter.include == ("hiring",)


async def test_group_migration_moves_the_subscription(bot: Bot) -> None:
    old, new = -2006, -1002006
    bot.fake.add_chat(old, "group", title="Small")
    admin = bot.fake.user(205, language="en")
    bot.fake.set_member(old, 205, "creator")
    await bot.say(old, "/subscribe", sender=admin)
    bot.fake.push_migration(old, new, sender=admin)
    bot.fake.set_member(new, 205, "creator")
    reply = await bot.say(new, "/status", sender=admin)
    assert "Status: active" in reply.text
    assert await bot.store.get_subscription("telegram", str(old)) is None


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


@contextmanager
def debug_log() -> Iterator[io.StringIO]:
    """Everything logged meanwhile, through the real scrubbing setup; the root logger is restored."""
    stream = io.StringIO()
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    try:
        yield stream
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])


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
