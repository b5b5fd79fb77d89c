"""/search through the command service: zh and en replies, the chat's categories, pages, bad input."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from app_helpers import console_settings
from clocks import ManualClock
from search_helpers import archive_digest, store_digest

from bot.app import App
from bot.commands.model import Caller, ChatRef, Command, Reply
from bot.commands.search import MAX_PAGE, PAGE_SIZE
from bot.commands.service import CommandService
from bot.config import load_settings
from bot.core.classify import classify
from bot.core.parse import load_digest
from bot.core.search_query import MAX_QUERY_CHARS
from bot.platforms.console import ConsolePlatform
from bot.platforms.registry import default_renderers
from bot.sources.base import Incoming
from bot.store.db import Store

ROOT = Path(__file__).resolve().parent.parent
VOCABULARY = load_settings(ROOT / "config.example.yaml").vocabulary()
PRIVATE = ChatRef("telegram", "42", None, kind="private", title="Ann")
GROUP = ChatRef("telegram", "-100", None, kind="supergroup", title="Readers")
ENGLISH = Caller("42", language="en")
CHINESE = Caller("43", language="zh-hans", can_manage=False)


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[CommandService]:
    clock = ManualClock(datetime(2025, 11, 21, tzinfo=UTC))
    async with await Store.open(tmp_path / "bot.db", clock=clock) as store:
        sample = classify(load_digest(ROOT / "digests" / "2025.11.20.20.md"), VOCABULARY)
        await store.record_incoming(Incoming("posts", "sample.md", "h1", sample))
        yield CommandService(
            store, VOCABULARY, default_timezone="Asia/Shanghai", renderers=default_renderers()
        )


async def search(
    service: CommandService, *args: str, chat: ChatRef = PRIVATE, caller: Caller = ENGLISH, text: str = ""
) -> Reply:
    return await service.handle(Command("search", args, chat, caller, text=text))


async def test_english_hit_with_date_number_title_link_through_the_chats_categories(
    service: CommandService,
) -> None:
    await service.handle(Command("subscribe", ("robotics",), PRIVATE, ENGLISH))
    reply = await search(service, "人形机器人", text="人形机器人")
    assert not reply.error and reply.pager is not None
    assert (reply.pager.previous, reply.pager.next) == (None, None)  # one page: no buttons
    assert reply.text.splitlines()[:3] == [
        "Search “人形机器人”, page 1 (newest first):",
        "1. 2025-11-20 20:00 CST item 1: 某车企工厂引入人形机器人执行夜班搬运任务",
        "https://example.com/robotics/humanoid-night-shift",
    ]
    assert reply.text.endswith("Only this chat's categories: Robotics.")
    wider = await search(service, "机器人")  # newest first: one digest, so by item, last first
    assert [line.split(":")[0] for line in wider.text.splitlines() if line[:1].isdigit()] == [
        "1. 2025-11-20 20",
        "2. 2025-11-20 20",
    ]
    assert wider.text.index("item 6") < wider.text.index("item 1")
    jobs_only = await service.handle(Command("subscribe", ("jobs",), PRIVATE, ENGLISH))
    assert not jobs_only.error
    assert (await search(service, "人形机器人")).text.startswith("Nothing found for “人形机器人”.")


async def test_the_chats_keywords_filter_the_hits_as_they_filter_its_digests(service: CommandService) -> None:
    await service.handle(Command("subscribe", ("robotics",), PRIVATE, ENGLISH))
    both = await search(service, "机器人")
    assert "item 1" in both.text and "item 6" in both.text
    excluded = await service.handle(Command("keywords", ("-夜班",), PRIVATE, ENGLISH))
    assert not excluded.error, excluded.text
    reply = await search(service, "机器人")
    assert "item 6" in reply.text and "item 1" not in reply.text  # item 1 is the night-shift story
    assert reply.text.endswith(
        "Only items this chat's keywords let through (among the newest 2,000 matches)."
    )
    await service.handle(Command("keywords", ("clear",), PRIVATE, ENGLISH))
    await service.handle(Command("keywords", ("+夜班",), PRIVATE, ENGLISH))
    only = await search(service, "机器人")
    assert "item 1" in only.text and "item 6" not in only.text


async def test_chinese_reply_for_a_group_without_subscription_searches_everything(
    service: CommandService,
) -> None:
    reply = await search(service, "Apache", "2.0", chat=GROUP, caller=CHINESE)
    assert reply.text.splitlines()[:2] == [
        "搜索“Apache 2.0”，第 1 页（最新的在前）：",
        "1. 2025-11-20 20:00 CST 第 5 条：开源社区发布32B参数多语言模型，权重以Apache 2.0许可开放",
    ]
    short = await search(service, "融资", chat=GROUP, caller=CHINESE)
    assert "第 6 条" in short.text and "少于 3 个字的词只搜索最近 30 天" in short.text


async def test_pages_through_buttons_and_typed_page_commands(service: CommandService) -> None:
    for n in range(3):
        await store_digest(service.store, archive_digest(f"2025.11.20.0{n}"))
    first = await search(service, "编辑部")  # 12 items
    assert first.pager is not None and (first.pager.previous, first.pager.next) == (None, 2)
    assert first.pager.labels == ("◀ Previous", "Next ▶")
    assert "\n1. " in first.text and f"\n{PAGE_SIZE}. " in first.text
    second = await search(service, *first.pager.args(2))
    assert second.pager is not None and (second.pager.previous, second.pager.next) == (1, 3)
    assert "page 2" in second.text and f"\n{PAGE_SIZE + 1}. " in second.text
    third = await search(service, *second.pager.args(3), caller=CHINESE, chat=GROUP)
    assert third.pager is not None and (third.pager.previous, third.pager.next) == (2, None)
    assert "第 3 页" in third.text and "\n11. " in third.text and "\n12. " in third.text
    assert third.pager.labels == ("◀ 上一页", "下一页 ▶")
    beyond = await search(service, "page", first.pager.token, "9")
    assert beyond.text.startswith("No more results for “编辑部” (page 9).")
    assert beyond.pager is not None and beyond.pager.previous == 8


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((), "Usage: /search words... (e.g. /search humanoid robot). nothing to search for"),
        (("x" * (MAX_QUERY_CHARS + 1),), f"Arguments are too long (at most {MAX_QUERY_CHARS} characters)."),
        (
            tuple(f"w{n}" for n in range(9)),
            "Usage: /search words... (e.g. /search humanoid robot). at most 8 words",
        ),
        (("page", "1", "0"), f"The page must be a number from 1 to {MAX_PAGE}."),
        (("page", "1", "x"), f"The page must be a number from 1 to {MAX_PAGE}."),
        (("page", "1", "²"), f"The page must be a number from 1 to {MAX_PAGE}."),
        (("page", "²", "1"), "This search has expired; send /search again."),
        (("page", "1", str(MAX_PAGE + 1)), f"The page must be a number from 1 to {MAX_PAGE}."),
        (("page", "999", "1"), "This search has expired; send /search again."),
        (("page", "-1", "1"), "This search has expired; send /search again."),
    ],
)
async def test_bad_arguments_are_answered_clearly(
    service: CommandService, args: tuple[str, ...], expected: str
) -> None:
    reply = await search(service, *args)
    assert reply.error and reply.text.startswith(expected), reply.text


async def test_bad_arguments_in_chinese(service: CommandService) -> None:
    reply = await search(service, caller=CHINESE, chat=GROUP)
    assert reply.error and reply.text == "用法：/search 词...（例如 /search 人形机器人）。没有要搜索的内容"


async def test_hostile_query_is_searched_literally(service: CommandService) -> None:
    for typed in ('"*" NEAR(a b) OR', "'); DROP TABLE search_items; --", "%%", "title:^机器人"):
        reply = await search(service, *typed.split(), text=typed)
        assert not reply.error and reply.text.startswith(f"Nothing found for “{typed}”"), reply.text
    assert "item 1" in (await search(service, "人形机器人")).text


async def test_console_shows_the_page_commands_to_type(tmp_path: Path) -> None:
    out = io.StringIO()
    app = App(console_settings(tmp_path), stdin=io.StringIO(""), stdout=out)
    await app.start()
    try:
        assert app.store is not None
        for n in range(3):
            await store_digest(app.store, archive_digest(f"2025.11.20.0{n}"))
        console = app.platforms[0]
        assert isinstance(console, ConsolePlatform)
        first = await console.handle_line("/search 编辑部")
        assert first is not None and first.pager is not None
        token = first.pager.token
        assert f"/search page {token} 2" in out.getvalue()
        second = await console.handle_line(f"/search page {token} 2")
        assert second is not None and f"/search page {token} 1 | /search page {token} 3" in out.getvalue()
    finally:
        await app.stop()
