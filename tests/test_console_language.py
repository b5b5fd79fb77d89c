"""The console speaks the terminal's language when the config does not choose one, says the same in
its welcome line as in /help, and answers plain text with a hint instead of "unknown command"."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml
from app_helpers import config_data, example_categories
from process_helpers import bot_process
from waiting import wait_for

from bot.commands.language import locale_language
from bot.commands.service import CommandService
from bot.config import parse_settings
from bot.core.clock import SystemClock
from bot.delivery.ratelimit import RateLimiter
from bot.platforms.console import ConsolePlatform
from bot.platforms.console_spec import ConsoleConfig, console_language
from bot.platforms.registry import default_renderers
from bot.platforms.spec import PlatformContext
from bot.store.db import Store

VOCABULARY_CONFIG = {"categories": example_categories()}
WELCOME = {
    "zh": "digestbot 控制台：输入 /help 查看命令，/subscribe 开始订阅。",
    "en": "digestbot console: type /help for commands, /subscribe to start.",
}
HINT = {
    "zh": "命令以 / 开头，例如 /help 或 /subscribe。",
    "en": "Commands start with /, e.g. /help or /subscribe.",
}
HELP = {"zh": "命令：", "en": "Commands:"}
# What a new user types in the first minutes, and what the console must answer, in each language.
TYPED = ("hello", "/subscribe robotics", "/subscribe", "/schedule at 25:00", "/categories all", "/status")
FIRST_MINUTES = "\n".join((*TYPED, "/help", ""))
ANSWERS = {
    "zh": [
        "分类保持不变：机器人。",
        "推送时间有误：时间“25:00”无效：小时应为 00-23。",
        "当前：全部分类",
        "分类：全部分类\n",
        "推送：即时，每期到达即推送",
    ],
    "en": [
        "Categories unchanged: Robotics.",
        'Bad schedule: invalid time "25:00": the hour must be 00-23.',
        "Now: all categories",
        "Categories: all categories\n",
        "Schedule: instant, each digest as it arrives",
    ],
}


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"LANG": "zh_CN.UTF-8"}, "zh"),
        ({"LANG": "zh_TW.Big5"}, "zh"),
        ({"LANG": "en_GB.UTF-8"}, "en"),
        ({"LANG": "zh_CN.UTF-8", "LC_MESSAGES": "en_US.UTF-8"}, "en"),
        ({"LANG": "en_US.UTF-8", "LC_ALL": "zh_CN.UTF-8"}, "zh"),
        ({"LANG": "de_DE.UTF-8"}, None),
        ({"LANG": "C.UTF-8"}, None),
        ({"LC_ALL": "", "LANG": "en_US"}, "en"),
        ({}, None),
    ],
)
def test_the_locale_names_the_language(environ: dict[str, str], expected: str | None) -> None:
    assert locale_language(environ) == expected


@pytest.fixture
async def service(store: Store) -> AsyncIterator[CommandService]:
    vocabulary = parse_settings(VOCABULARY_CONFIG, "test", Path(".")).vocabulary()
    yield CommandService(store, vocabulary, renderers=default_renderers(), default_language="zh")


def context(service: CommandService, *, configured: bool, default: str = "zh") -> PlatformContext:
    return PlatformContext(
        config=ConsoleConfig(),
        service=service,
        default_language=default,
        limiter=RateLimiter({}, SystemClock()),
        language_configured=configured,
    )


async def test_a_configured_language_wins_over_the_locale(service: CommandService) -> None:
    english = {"LANG": "en_US.UTF-8"}
    assert console_language(context(service, configured=True), english) == "zh"
    assert console_language(context(service, configured=False), english) == "en"
    assert console_language(context(service, configured=False), {"LANG": "C"}) == "zh"
    assert console_language(context(service, configured=False, default="en"), {}) == "en"


@pytest.mark.parametrize("language", ["zh", "en"])
async def test_welcome_hint_and_help_agree(service: CommandService, language: str) -> None:
    out = io.StringIO()
    console = ConsolePlatform(service, language=language, stdin=None, out=out)
    await console.start()
    hint = await console.handle_line("hello")
    help_reply = await console.handle_line("/help")
    assert hint is not None and hint.error and hint.text == HINT[language]
    assert help_reply is not None and help_reply.text.startswith(HELP[language])
    assert out.getvalue().startswith(WELCOME[language] + "\n" + HINT[language] + "\n" + HELP[language])
    assert (await console.handle_line("/hello")) is not None  # a slash still means a command
    assert "/hello" in out.getvalue().splitlines()[-1]


async def test_the_chats_own_language_outranks_the_locale(service: CommandService) -> None:
    out = io.StringIO()
    console = ConsolePlatform(service, language="en", stdin=None, out=out)
    await console.handle_line("/subscribe")
    await console.handle_line("/language zh")
    await console.start()
    await console.handle_line("hi there")
    assert out.getvalue().splitlines()[-2:] == [WELCOME["zh"], HINT["zh"]]


@pytest.mark.parametrize(
    ("locale", "configured", "expected"),
    [("en_US.UTF-8", None, "en"), ("en_US.UTF-8", "zh", "zh")],
)
async def test_the_console_process_follows_lang_unless_the_config_sets_language(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, locale: str, configured: str | None, expected: str
) -> None:
    data = config_data(tmp_path, categories=example_categories())
    data.pop("language")
    if configured:
        data["language"] = configured
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    script = tmp_path / "typed.txt"
    script.write_text(FIRST_MINUTES, encoding="utf-8")
    for name in ("LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", locale)
    with script.open("rb") as typed:
        async with bot_process(config, tmp_path / "bot.log", stdin=typed.fileno()) as bot:
            await wait_for(lambda: HELP[expected] in bot.stderr(), 20, "the /help reply")
            output = bot.stderr()
            assert WELCOME[expected] in output and HINT[expected] in output
            assert "未知命令" not in output and "Unknown command" not in output
            assert all(answer in output for answer in ANSWERS[expected]), output
            assert await bot.terminate() == 0
