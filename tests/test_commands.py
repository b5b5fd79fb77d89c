"""The platform-neutral command service against a real SQLite store: every command, every refusal."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.commands.model import Caller, ChatRef, Command
from bot.commands.reports import human_bytes
from bot.commands.service import CommandService
from bot.commands.table import BY_NAME, COMMANDS
from bot.config import load_settings, parse_settings
from bot.core.classify import classify
from bot.core.parse import load_digest
from bot.platforms.registry import default_renderers
from bot.sources.base import Incoming
from bot.store.db import Store

ROOT = Path(__file__).resolve().parent.parent
VOCABULARY = load_settings(ROOT / "config.example.yaml").vocabulary()
PRIVATE = ChatRef("telegram", "42", None, kind="private", title="Ann")
GROUP = ChatRef("telegram", "-100", None, kind="supergroup", title="Readers")
ADMIN = Caller("42", language="en")
MEMBER = Caller("43", language="zh-hans", can_manage=False)


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[CommandService]:
    store = await Store.open(tmp_path / "bot.db")
    changes: list[int] = []
    service = CommandService(
        store,
        VOCABULARY,
        default_timezone="Asia/Shanghai",
        on_change=lambda: changes.append(1),
        renderers=default_renderers(),
    )
    yield service
    await store.close()


async def cmd(service: CommandService, line: str, chat: ChatRef = PRIVATE, caller: Caller = ADMIN):
    name, *args = line.split()
    return await service.handle(Command(name, tuple(args), chat, caller))


async def test_subscribe_by_id_and_display_names_case_insensitively(service: CommandService) -> None:
    reply = await cmd(service, "subscribe ROBOTICS 就业市场,Open-Source")
    assert not reply.error
    assert "Robotics" in reply.text and "Job Market" in reply.text
    sub = await service.store.get_subscription("telegram", "42")
    assert sub is not None and sub.filter.categories == {"robotics", "jobs", "open-source"}
    assert sub.language == "en" and sub.timezone == "Asia/Shanghai"


async def test_unknown_category_lists_valid_ones(service: CommandService) -> None:
    reply = await cmd(service, "subscribe robotics unicorns")
    assert reply.error and "unicorns" in reply.text and "robotics" in reply.text
    assert await service.store.get_subscription("telegram", "42") is None


async def test_group_member_refused_but_may_read(service: CommandService) -> None:
    await cmd(service, "subscribe", chat=GROUP)
    for line in (
        "subscribe robotics",
        "unsubscribe",
        "categories",
        "keywords +x",
        "schedule instant",
        "quiet off",
    ):
        reply = await cmd(service, line, chat=GROUP, caller=MEMBER)
        assert reply.error and "administrators" in reply.text, line
    for line in ("status", "latest", "help"):
        assert not (await cmd(service, line, chat=GROUP, caller=MEMBER)).error, line


async def test_commands_before_subscribing_explain_how(service: CommandService) -> None:
    for line in ("unsubscribe", "categories", "keywords +x", "schedule instant", "quiet off"):
        reply = await cmd(service, line)
        assert reply.error and "/subscribe" in reply.text, line


async def test_unsubscribe_keeps_settings_and_resubscribe_resumes(service: CommandService) -> None:
    await cmd(service, "subscribe robotics")
    await cmd(service, "keywords +humanoid")
    assert not (await cmd(service, "unsubscribe")).error
    reply = await cmd(service, "subscribe")
    assert "settings are unchanged" in reply.text
    sub = await service.store.get_subscription("telegram", "42")
    assert sub is not None and sub.status == "active"
    assert sub.filter.categories == {"robotics"} and sub.filter.include == ("humanoid",)


async def test_chat_gone_pauses_and_subscribe_resumes(service: CommandService) -> None:
    await cmd(service, "subscribe", chat=GROUP)
    await service.chat_gone(GROUP, "bot was kicked from the group chat")
    status = await cmd(service, "status", chat=GROUP)
    assert "kicked" in status.text
    reply = await cmd(service, "subscribe", chat=GROUP)
    assert "settings are unchanged" in reply.text


async def test_chat_gone_pauses_every_topic_of_the_chat(service: CommandService) -> None:
    topic = ChatRef("telegram", "-100", thread_id="7", kind="supergroup")
    await cmd(service, "subscribe", chat=GROUP)
    await cmd(service, "subscribe robotics", chat=topic)
    await service.chat_gone(GROUP, "bot was kicked from the group chat")
    for chat in (GROUP, topic):
        sub = await service.store.get_subscription("telegram", "-100", chat.thread_id)
        assert sub is not None and sub.status == "paused" and "kicked" in (sub.paused_reason or "")


async def test_category_picker_toggles_all_and_done(service: CommandService) -> None:
    await cmd(service, "subscribe")
    picker = (await cmd(service, "categories")).picker
    assert picker is not None and picker.all_selected and len(picker.options) == len(VOCABULARY)
    picker = (await cmd(service, "categories toggle robotics")).picker
    assert picker is not None and [o.id for o in picker.options if o.selected] == ["robotics"]
    picker = (await cmd(service, "categories toggle robotics")).picker
    assert picker is not None and picker.all_selected
    await cmd(service, "categories set jobs safety")
    reply = await cmd(service, "categories done")
    assert reply.picker is not None and reply.picker.done and "Job Market" in reply.text
    assert (await cmd(service, "categories toggle dragons")).error


async def test_keywords_validation(service: CommandService) -> None:
    await cmd(service, "subscribe")
    assert "宇树" in (await cmd(service, "keywords +宇树 -广告")).text
    assert (await cmd(service, "keywords +ro*bot")).error
    assert (await cmd(service, "keywords -")).error
    assert (await cmd(service, "keywords +" + "x" * 60)).error
    many = " ".join(f"+w{i}" for i in range(25))
    assert (await cmd(service, f"keywords {many}")).error
    reply = await cmd(service, "keywords clear")
    sub = await service.store.get_subscription("telegram", "42")
    assert sub is not None and sub.filter.include == () and sub.filter.exclude == () and not reply.error


async def test_schedule_and_quiet(service: CommandService) -> None:
    await cmd(service, "subscribe")
    reply = await cmd(service, "schedule at 08:00,20:30 Europe/Berlin")
    assert not reply.error and "Europe/Berlin" in reply.text
    sub = await service.store.get_subscription("telegram", "42")
    assert sub is not None and sub.schedule == "at 08:00,20:30" and sub.next_due_at is not None
    assert (await cmd(service, "schedule at 25:00")).error
    assert (await cmd(service, "schedule at 08:00 Mars/Base")).error
    assert (await cmd(service, "schedule sometimes")).error
    assert not (await cmd(service, "schedule instant")).error
    assert "22:00-07:00" in (await cmd(service, "quiet 22:00-07:00")).text
    assert (await cmd(service, "quiet 22:00")).error
    assert not (await cmd(service, "quiet off")).error


async def test_language_unknown_command_and_too_long(service: CommandService) -> None:
    await cmd(service, "subscribe")
    assert "中文" in (await cmd(service, "language zh")).text
    assert "状态" in (await cmd(service, "status")).text
    assert (await cmd(service, "language fr")).error
    assert (await cmd(service, "frobnicate")).error
    assert (await cmd(service, "subscribe " + "a" * 600)).error


async def test_latest_filters_through_subscription(service: CommandService) -> None:
    assert "No digest" in (await cmd(service, "latest")).text
    digest = classify(load_digest(ROOT / "digests" / "2025.11.20.20.md"), VOCABULARY)
    await service.store.record_incoming(Incoming("posts", "sample.md", "h1", digest))
    await cmd(service, "subscribe robotics")
    reply = await cmd(service, "latest")
    shown = "".join(part["text"] for part in reply.parts)
    robotics = [item for item in digest.items if "robotics" in item.categories]
    assert robotics and all(item.title in shown for item in robotics)
    assert all(item.title not in shown for item in digest.items if item not in robotics)


async def test_stats_for_owners_only(service: CommandService) -> None:
    assert (await cmd(service, "stats")).error
    owner = Caller("1", language="en", is_owner=True)
    assert not (await cmd(service, "stats", caller=owner)).error


async def test_latest_carries_the_platforms_render_preferences(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "prefs.db")
    try:
        prefs = parse_settings({"telegram": {"link_previews": True}}, "c", ROOT)
        service = CommandService(store, VOCABULARY, renderers=prefs.renderers())
        digest = classify(load_digest(ROOT / "digests" / "2025.11.20.20.md"), VOCABULARY)
        await store.record_incoming(Incoming("posts", "sample.md", "h1", digest))
        reply = await cmd(service, "latest")
        assert reply.parts and all("link_preview_options" not in part for part in reply.parts)
        unset = CommandService(store, VOCABULARY, renderers=default_renderers())
        reply = await cmd(unset, "latest")
        assert reply.parts and all(part["link_preview_options"]["is_disabled"] for part in reply.parts)
    finally:
        await store.close()


async def test_stats_show_the_database_size_in_both_languages(service: CommandService) -> None:
    owner = Caller("1", language="en", is_owner=True)
    english = await cmd(service, "stats", caller=owner)
    assert re.search(r"^Database size: \d+\.\d (KiB|MiB)$", english.text, re.MULTILINE)
    chinese = await cmd(service, "stats", caller=Caller("1", language="zh-CN", is_owner=True))
    assert re.search(r"^数据库大小：\d+\.\d (KiB|MiB)$", chinese.text, re.MULTILINE)


@pytest.mark.parametrize(
    ("size", "shown"),
    [(0, "0 B"), (1023, "1023 B"), (1536, "1.5 KiB"), (5 * 1024**3, "5.0 GiB"), (2**50, "1024.0 TiB")],
)
def test_sizes_read_like_ls_h(size: int, shown: str) -> None:
    assert human_bytes(size) == shown


@pytest.mark.parametrize(
    ("client", "default", "expected"),
    [
        ("fr", "zh", "zh"),
        ("fr", "en", "en"),
        ("zh-TW", "en", "zh"),
        ("en-GB", "zh", "en"),
        (None, "zh", "zh"),
        (None, "en", "en"),
    ],
)
async def test_one_language_rule_for_every_platform(
    tmp_path: Path, client: str | None, default: str, expected: str
) -> None:
    """No chat setting: the client language when it is zh* or en*, else the configured default."""
    store = await Store.open(tmp_path / "bot.db")
    try:
        service = CommandService(store, VOCABULARY, default_language=default, renderers=default_renderers())
        for chat in (PRIVATE, ChatRef("discord", "5", None, "guild_channel")):
            reply = await service.handle(Command("help", (), chat, Caller("42", language=client)))
            assert reply.text.startswith("命令：" if expected == "zh" else "Commands:"), (chat, reply.text)
    finally:
        await store.close()


async def test_the_command_table_drives_dispatch_access_and_help(service: CommandService) -> None:
    assert {spec.name for spec in COMMANDS} == set(BY_NAME)
    assert all(getattr(CommandService, spec.name) is spec.handler for spec in COMMANDS)
    refused = await cmd(service, "stats")
    assert refused.error and "owners only" in refused.text
    help_text = (await cmd(service, "help")).text
    for spec in COMMANDS:
        assert (f"/{spec.name} " in help_text) == (spec.help is not None), spec.name
