"""What a new user meets in the first hour, through the command service on a real store: replies
wholly in the chat's language, /subscribe agreeing with /help, "all categories", local times in
/status and a readable /stats."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from ledger_helpers import FakeSender, engine_for, plan

from bot.commands.model import Caller, ChatRef, Command, Reply
from bot.commands.service import CommandService
from bot.config import ConfigError, load_settings, parse_settings
from bot.core.clock import Clock
from bot.core.problems import PROBLEMS, Problem
from bot.core.schedule import QuietHours, parse_schedule, parse_timezone
from bot.platforms.registry import default_renderers
from bot.store.db import Store

ROOT = Path(__file__).resolve().parent.parent
VOCABULARY = load_settings(ROOT / "config.example.yaml").vocabulary()
CHAT = ChatRef("telegram", "42", None, kind="private", title="Ann")
EN = Caller("42", language="en", is_owner=True)
ZH = Caller("42", language="zh-CN", is_owner=True)
LATIN = re.compile(r"[A-Za-z]{3,}")
# Words a Chinese reply may carry: command names, arguments, zone and category ids, units.
COMMAND_WORDS = {"schedule", "instant", "weekly", "quiet", "off", "keywords", "clear"}
ALLOWED_LATIN = COMMAND_WORDS | {"Asia", "Shanghai", "UTC", "IANA"}


@pytest.fixture
async def service(store: Store, clock: Clock) -> AsyncIterator[CommandService]:
    yield CommandService(
        store, VOCABULARY, renderers=default_renderers(), clock=clock, default_timezone="Asia/Shanghai"
    )


async def say(service: CommandService, line: str, caller: Caller = EN, chat: ChatRef = CHAT) -> Reply:
    name, *args = line.split()
    return await service.handle(Command(name, tuple(args), chat, caller))


def english_words(reply: str) -> set[str]:
    """Latin words of a reply, leaving out the user's own input it quotes (“hourly”)."""
    return set(LATIN.findall(re.sub("“[^”]*”", "", reply))) - ALLOWED_LATIN


@pytest.mark.parametrize(
    ("line", "zh", "en"),
    [
        ("schedule at 25:00", "时间“25:00”无效：小时应为 00-23", 'invalid time "25:00": the hour must be'),
        ("schedule at 08:75", "分钟应为 00-59", "the minutes must be 00-59"),
        ("schedule at 8", "时间“8”无效：应为 HH:MM", 'invalid time "8": expected HH:MM'),
        ("schedule hourly", "无法识别的推送时间“hourly”", 'unknown schedule "hourly"'),
        ("schedule at", "推送时间“at”没有写时间", 'the schedule "at" lists no times'),
        ("schedule weekly Funday 09:00", "无法识别的星期“Funday”", 'unknown day "Funday"'),
        ("schedule weekly Mon", "需要写星期几和时间", '"weekly Mon" needs a day and a time'),
        ("schedule at 08:00 Mars/Base", "未知时区“Mars/Base”", 'unknown time zone "Mars/Base"'),
        ("quiet 22:00", "“22:00”应为 HH:MM-HH:MM", 'invalid quiet hours "22:00"'),
        ("quiet 22:00-22:00", "开始和结束是同一时间", "start and end are the same time"),
        ("quiet 22:00-24:00", "免打扰结束时间“24:00”无效", 'invalid quiet hours end "24:00"'),
        ("keywords +", "“+”里没有关键词", "empty keyword in '+'"),
        ("keywords +" + "x" * 51, "关键词超过 50 个字符", "keyword longer than 50 characters"),
        ("keywords +a*b", "* 只能放在末尾", "'*' is only allowed at the end"),
        (" ".join(["keywords", *(f"+w{i}" for i in range(21))]), "最多 20 个关键词", "at most 20 keywords"),
    ],
)
async def test_a_bad_argument_is_explained_wholly_in_the_chats_language(
    service: CommandService, line: str, zh: str, en: str
) -> None:
    await say(service, "subscribe", ZH)
    chinese = await say(service, line, ZH)
    assert chinese.error and zh in chinese.text and "用法" in chinese.text
    assert not english_words(chinese.text), chinese.text
    await say(service, "language en")
    english = await say(service, line, EN)
    assert english.error and en in english.text and "Usage" in english.text


def test_config_errors_keep_their_english_text_and_every_problem_has_both_languages() -> None:
    with pytest.raises(ConfigError) as info:
        broadcast = {"platform": "telegram", "chat": "1", "schedule": "at 25:00"}
        parse_settings({"broadcasts": [broadcast]}, "t", ROOT)
    assert 'invalid time "25:00": the hour must be 00-23' in info.value.problems[0]
    zone = parse_error(lambda: parse_timezone("Nowhere/City"))
    assert str(zone).startswith('unknown time zone "Nowhere/City"')
    assert str(parse_error(lambda: QuietHours.parse("x"))) == (
        'invalid quiet hours "x": expected HH:MM-HH:MM, e.g. 22:00-07:00'
    )
    assert all(set(variants) == {"zh", "en"} for variants in PROBLEMS.values())


def parse_error(call: Callable[[], object]) -> Problem:
    try:
        call()
    except Problem as problem:
        return problem
    raise AssertionError("no Problem raised")


def test_a_problem_renders_in_either_language_and_stays_a_value_error() -> None:
    problem = parse_error(lambda: parse_schedule(""))
    assert isinstance(problem, ValueError)
    assert problem.localized("zh-TW").startswith("推送时间为空：请用 instant")
    assert problem.localized("fr") == str(problem) and str(problem).startswith("the schedule is empty: use")


async def test_subscribe_without_arguments_keeps_the_filter_and_says_so(service: CommandService) -> None:
    assert (await say(service, "subscribe robotics")).text == "Subscribed: Robotics."
    kept = await say(service, "subscribe")
    assert kept.text.startswith("This chat is already subscribed.\nCategories unchanged: Robotics.")
    assert "/subscribe all" in kept.text
    sub = await service.store.get_subscription("telegram", "42")
    assert sub is not None and sub.filter.categories == {"robotics"}
    widened = await say(service, "subscribe all")
    assert widened.text == "Categories: Robotics → all categories."
    sub = await service.store.get_subscription("telegram", "42")
    assert sub is not None and sub.filter.categories == frozenset()
    assert (await say(service, "subscribe robotics jobs")).text == (
        "Categories: all categories → Job Market, Robotics."
    )


async def test_subscribe_in_chinese_names_what_changed_and_what_stayed(service: CommandService) -> None:
    await say(service, "subscribe 机器人", ZH)
    kept = await say(service, "subscribe", ZH)
    assert "分类保持不变：机器人。" in kept.text and "/subscribe all" in kept.text
    await say(service, "unsubscribe", ZH)
    resumed = await say(service, "subscribe 全部", ZH)
    assert resumed.text == "已恢复订阅，关键词、推送时间等其他设置保持不变。\n分类：机器人 → 全部分类。"


async def test_help_says_what_subscribe_does(service: CommandService) -> None:
    english = (await say(service, "help")).text
    line = next(row for row in english.splitlines() if row.startswith("/subscribe"))
    assert "[category...|all]" in line and "all: every category" in line and "current ones kept" in line
    chinese = (await say(service, "help", ZH)).text
    assert "已有订阅保持原分类" in chinese and "all：全部分类" in chinese


@pytest.mark.parametrize("line", ["categories all", "categories 全部", "categories set all"])
async def test_categories_all_reads_as_all_categories(service: CommandService, line: str) -> None:
    await say(service, "subscribe robotics", ZH)
    reply = await say(service, line, ZH)
    assert "全部分类" in reply.text and reply.picker is not None and reply.picker.all_selected
    assert "分类：全部分类" in (await say(service, "status", ZH)).text
    await say(service, "language en", ZH)
    assert "Categories: all categories" in (await say(service, "status", EN)).text


async def test_status_shows_local_times_words_and_the_chat_id(service: CommandService, store: Store) -> None:
    """The store's clock starts at 2025-06-01 08:00 UTC: 16:00 in Shanghai, 04:00 in New York."""
    ids = await plan(store, ["42"], parts=1)
    await store.update_subscription(ids["42"], timezone="Asia/Shanghai")
    await engine_for(store, FakeSender(), store.clock).drain(horizon=0)
    chinese = (await say(service, "status", ZH)).text
    assert "上次送达：2025-06-01 16:00 CST" in chinese
    assert "推送：即时，每期到达即推送（Asia/Shanghai）" in chinese and "语言：中文" in chinese
    assert chinese.endswith("聊天 ID：42")
    await say(service, "schedule at 20:00,08:00 America/New_York", ZH)
    await say(service, "language en", ZH)
    english = (await say(service, "status", EN)).text
    assert "Last delivery: 2025-06-01 04:00 EDT" in english and "Language: English" in english
    assert "Schedule: daily at 08:00, 20:00 (America/New_York)" in english
    await service.chat_gone(CHAT, "bot was blocked by the user")
    paused = (await say(service, "status")).text
    assert "paused (bot was blocked by the user, since 2025-06-01 04:00 EDT)" in paused


async def test_stats_is_labelled_local_and_in_binary_units(service: CommandService, store: Store) -> None:
    ids = await plan(store, ["42", "43"], parts=1)
    await store.update_subscription(ids["42"], timezone="Asia/Shanghai", language="zh")
    await engine_for(store, FakeSender(), store.clock).drain(horizon=0)
    chinese = (await say(service, "stats", ZH)).text
    assert "订阅：\n  telegram / private：正常 2" in chinese
    assert "24 小时投递：已送达 2" in chinese and "待发送（全部）：0" in chinese
    assert "收到于 2025-06-01 16:00 CST" in chinese and "投递：已送达 2，用时 0 秒" in chinese
    assert re.search(r"数据库大小：\d+\.\d (KiB|MiB)", chinese)
    assert "datetime" not in chinese and "{" not in chinese and "=" not in chinese
    await say(service, "language en", ZH)
    english = (await say(service, "stats", EN)).text
    assert "  telegram / private: 2 active" in english and "Deliveries in 24 h: 2 sent" in english


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("https://bot.example.test/hook", None),
        ("https://bot.example.test:8443/hook", None),
        ("https://bot.example.test:88/hook", None),
        ("https://bot.example.test:8080/hook", "only to ports 443, 80, 88 or 8443; this URL uses 8080"),
        ("https://bot.example.test:70000/hook", "the port is not a number from 0 to 65535"),
    ],
)
def test_the_webhook_url_must_use_a_port_telegram_posts_to(url: str, problem: str | None) -> None:
    data = {"telegram": {"token": "1:x", "webhook": {"url": url, "port": 8080}}}
    if problem is None:
        settings = parse_settings(data, "t", ROOT)
        assert settings.telegram.webhook is not None and settings.telegram.webhook.port == 8080
        return
    with pytest.raises(ConfigError) as info:
        parse_settings(data, "t", ROOT)
    assert len(info.value.problems) == 1 and info.value.problems[0].startswith("telegram.webhook.url: ")
    assert problem in info.value.problems[0]


@pytest.mark.parametrize(
    ("reason", "zh"),
    [
        ("Forbidden: bot was blocked by the user", "机器人被用户屏蔽"),
        ("HTTP 403, code 50013: Missing Permissions", "机器人缺少这个频道的权限"),
        ("a reason nobody foresaw", "a reason nobody foresaw"),
    ],
)
async def test_a_pause_reason_is_explained_in_chinese_when_known(
    service: CommandService, reason: str, zh: str
) -> None:
    await say(service, "subscribe", ZH)
    await service.chat_gone(CHAT, reason)
    status = (await say(service, "status", ZH)).text
    assert f"状态：已暂停（{zh}，2025-06-01 16:00 CST）" in status
    await say(service, "language en", ZH)
    assert f"Status: paused ({reason}, since 2025-06-01 16:00 CST)" in (await say(service, "status")).text


async def test_an_unsubscribed_chat_is_told_how_to_resume_not_how_to_start(service: CommandService) -> None:
    assert "Send /subscribe to start" in (await say(service, "keywords +x")).text
    await say(service, "subscribe robotics", ZH)
    await say(service, "unsubscribe", ZH)
    for line in ("unsubscribe", "categories", "keywords +x", "schedule instant", "quiet off"):
        reply = await say(service, line, ZH)
        assert reply.error and reply.text == "这个聊天已取消订阅。发送 /subscribe 恢复，原有设置都还在。", (
            line
        )
