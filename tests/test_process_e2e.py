"""The real bot process (`python -m bot run --config ...`) against fake Telegram and Discord servers.

Nothing is imported from the bot's runtime here except to compute expectations: the bot is a child
process that reads a YAML config with `${TELEGRAM_TOKEN}` / `${DISCORD_TOKEN}` from its environment,
talks HTTP and websockets to the fakes on 127.0.0.1 (which enforce the platforms' rules), logs at
DEBUG to a file we read, and is stopped with SIGTERM like a service manager would stop it.
"""

from __future__ import annotations

import asyncio
import html
import re
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from app_helpers import (
    SAMPLE,
    DiscordScene,
    config_data,
    discord_scene,
    drop_digest,
    embed_urls,
    example_categories,
    links_for,
)
from discord_limits import check_create_message
from fake_discord import FakeDiscord
from fake_telegram import FakeTelegram
from fake_telegram_types import FakeMessage
from process_helpers import DISCORD_TOKEN, TELEGRAM_TOKEN, BotProcess, bot_process
from telegram_html import check_send_message
from waiting import ledger_settled, wait_for

from bot.config import parse_settings

USER = 4242
HOSTILE_ID = "2025.12.01.08"
RUN = "长" * 10_000 + "x" * 10_000  # 20k characters without a space or a line break
EMOJI = "🤖" * 3_000  # 6,000 UTF-16 units: a splitter counting code points would overflow Telegram
HOSTILE = f"""---
title: "{HOSTILE_ID} <script>alert(1)</script> & 机器人 **速报"
date: 2025-12-01T08:00:00+08:00
categories: ["机器人"]
---

1.  [<script>alert('x')</script> Robot arms & "grippers" <b>bold</b> - 作者 A&B](https://example.com/robots/1?a=1&b=<2>)

    **unbalanced bold and `unclosed code, a <tag> & an &amp; entity, @everyone 🤖🦾 机器人 ✨

    Categories: robotics

2.  [Click me, robot 机器人](javascript:alert(document.cookie))

    A robot story linking [inner js](javascript:alert(1)) and [data](data:text/html,<b>x</b>).

    Categories: robotics

3.  [Endless robot 机器人 run](https://example.com/robots/run)

    {RUN}

    Categories: robotics

4.  [表情与 CJK 机器人 👩‍👩‍👧‍👦🇨🇳 ＡＢＣ](https://example.com/robots/emoji)

    ***triple*** _under_ ~~strike~~ `code` ``double `tick`` \\*escaped\\* 𝒳 😀 a lone < and > and &.

    {EMOJI}

    Categories: robotics
"""
BROKEN = """---
title: "A digest whose quote never closes
date: 2025-12-01T09:00:00+08:00
---

1.  [Robots everywhere](https://example.com/robots/broken)
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# -- the process -------------------------------------------------------------------------------------


def write_config(tmp_path: Path, telegram_base_url: str, discord: FakeDiscord | None = None) -> Path:
    """config.yaml as an operator writes it: tokens from the environment, DEBUG logging."""
    sections: dict[str, Any] = {
        "telegram": {"token": "${TELEGRAM_TOKEN}", "base_url": telegram_base_url},
    }
    if discord is not None:
        sections["discord"] = {
            "token": "${DISCORD_TOKEN}",
            "api_base": discord.api_base,
            "gateway_url": discord.gateway_url,
        }
    data = config_data(
        tmp_path, categories=example_categories(), poll_interval=0.1, log_level="DEBUG", **sections
    )
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


# -- what arrived ------------------------------------------------------------------------------------

_HREF = re.compile(r'<a href="([^"]*)"')


def hrefs(messages: list[FakeMessage]) -> list[str]:
    return [html.unescape(url) for m in messages for url in _HREF.findall(m.text)]


def shown_text(messages: list[FakeMessage]) -> str:
    """What the Telegram user sees, all parts together."""
    return "".join(m.visible for m in messages)


def posted_text(bodies: list[dict[str, Any]]) -> str:
    """The visible text of Discord messages: content, embed titles and descriptions."""
    texts = [str(body.get("content") or "") for body in bodies]
    for body in bodies:
        texts += [f"{e.get('title') or ''}{e.get('description') or ''}" for e in body.get("embeds") or ()]
    return "".join(texts)


def assert_no_refused_telegram_send(fake: FakeTelegram) -> None:
    """Every sendMessage the bot made was accepted: valid HTML, 1-4096 UTF-16 units, no 429."""
    calls = fake.calls("sendMessage")
    accepted = sum(len(messages) for messages in fake.messages.values())
    assert len(calls) == accepted, "a sendMessage was refused"
    assert fake.refused == []
    for params in calls:
        check_send_message(params)


@dataclass
class World:
    tmp_path: Path
    telegram: FakeTelegram
    user: dict[str, Any]
    scene: DiscordScene
    config: Path
    log: Path
    robotics: list[str]  # links of the sample's robotics items, in order
    robotics_or_jobs: list[str]

    def drop(self, text: str, name: str) -> None:
        (self.tmp_path / name).write_text(text, encoding="utf-8")
        drop_digest(self.tmp_path, self.tmp_path / name)

    @property
    def database(self) -> Path:
        """The bot's database, where `config_data` puts it; read through a connection of its own."""
        return self.tmp_path / "db.sqlite"

    def telegram_since(self, count: int) -> list[FakeMessage]:
        return self.telegram.sent_to(USER)[count:]


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    vocabulary = parse_settings({"categories": example_categories()}, "test", tmp_path).vocabulary()
    async with FakeTelegram(TELEGRAM_TOKEN) as telegram:
        user = telegram.user(USER, language="en")
        discord = FakeDiscord(DISCORD_TOKEN)
        await discord.start()
        try:
            yield World(
                tmp_path,
                telegram,
                user,
                discord_scene(discord),
                write_config(tmp_path, telegram.base_url, discord),
                tmp_path / "bot.log",
                links_for(SAMPLE, vocabulary, ["robotics"]),
                links_for(SAMPLE, vocabulary, ["robotics", "jobs"]),
            )
        finally:
            await discord.stop()


async def say(fake: FakeTelegram, user: dict[str, Any], text: str) -> FakeMessage:
    """The user writes to the bot; the bot's first answer."""
    before = len(fake.sent_to(user["id"]))
    fake.push_message(user["id"], text, sender=user)
    await fake.wait_for(lambda: len(fake.sent_to(user["id"])) > before)
    return fake.sent_to(user["id"])[before]


# -- the scenarios -------------------------------------------------------------------------------


async def test_the_bot_process_end_to_end(world: World) -> None:
    async with bot_process(world.config, world.log) as bot:
        await bot.running()
        await subscribe_on_both_platforms(world)
        await the_sample_reaches_both_platforms(world)
        sent_before_hostile = len(world.telegram.sent_to(USER)), len(world.scene.posts())
        await a_broken_file_is_reported_and_hostile_content_sent(world, bot)
        assert await bot.terminate() == 0  # (c) SIGTERM in the middle of a broadcast: clean and prompt

    # (e) the same database after a restart: the broadcast is finished, nothing is sent twice.
    async with bot_process(world.config, world.log) as bot:
        await bot.running()
        await the_hostile_digest_is_complete_and_nothing_was_sent_twice(world, *sent_before_hostile)
        assert await bot.terminate() == 0

    # (d) the DEBUG logs of both runs never show a token.
    output = world.log.read_text(encoding="utf-8")
    assert " DEBUG " in output
    for secret in (TELEGRAM_TOKEN, TELEGRAM_TOKEN.split(":")[1], DISCORD_TOKEN):
        assert secret not in output


async def subscribe_on_both_platforms(world: World) -> None:
    """(a) a Telegram user subscribes to robotics; (b) a Discord admin subscribes #news."""
    assert (await say(world.telegram, world.user, "/start")).visible.strip()
    assert (await say(world.telegram, world.user, "/subscribe robotics")).visible == "Subscribed: Robotics."
    answer = await world.scene.subscribe("robotics, jobs")
    assert answer.text() == "Subscribed: Job Market, Robotics."


async def the_sample_reaches_both_platforms(world: World) -> None:
    telegram, scene = world.telegram, world.scene
    replies = len(telegram.sent_to(USER))
    drop_digest(world.tmp_path, SAMPLE)
    await wait_for(lambda: bool(world.telegram_since(replies)), message="the sample on Telegram")
    await wait_for(
        lambda: len(embed_urls(scene.posts())) >= len(world.robotics_or_jobs), message="the sample on Discord"
    )
    # Nothing left to plan or send: a wrongly addressed or repeated message has arrived by now.
    await wait_for(lambda: ledger_settled(world.database), message="every delivery in a final state")
    delivered = world.telegram_since(replies)
    assert "2025.11.20.20" in delivered[0].visible
    assert hrefs(delivered) == world.robotics
    assert embed_urls(scene.posts()) == world.robotics_or_jobs


async def a_broken_file_is_reported_and_hostile_content_sent(world: World, bot: BotProcess) -> None:
    """A file with broken front matter and a hostile digest arrive together; the first is reported
    with its file and line, the second starts going out (Telegram paces it at one message a second)."""
    before = len(world.telegram.sent_to(USER))
    (world.tmp_path / "digests" / "2025.12.01.09.md").write_text(BROKEN, encoding="utf-8")
    world.drop(HOSTILE, f"{HOSTILE_ID}.md")
    reported = re.compile(r"2025\.12\.01\.09\.md:\d+: .*front matter")
    await wait_for(lambda: bool(reported.search(bot.stderr())), message="the broken file reported")
    await wait_for(lambda: len(world.telegram_since(before)) >= 2, message="the hostile digest under way")
    assert len(world.telegram_since(before)) < 5, "the broadcast must still be running for the SIGTERM"


async def the_hostile_digest_is_complete_and_nothing_was_sent_twice(
    world: World, telegram_before: int, discord_before: int
) -> None:
    telegram, scene = world.telegram, world.scene
    await wait_for(
        lambda: shown_text(world.telegram_since(telegram_before)).count("🤖") > len(EMOJI),
        timeout=15,
        message="every part of the hostile digest on Telegram",
    )
    await wait_for(
        lambda: posted_text(scene.posts()[discord_before:]).count("🤖") > len(EMOJI),
        message="every part of the hostile digest on Discord",
    )
    await wait_for(lambda: ledger_settled(world.database), message="every delivery in a final state")

    hostile = world.telegram_since(telegram_before)
    assert HOSTILE_ID in hostile[0].visible
    shown = shown_text(hostile)  # exact counts below: a part sent twice would show
    assert shown.count(HOSTILE_ID) == 1
    assert "<script>alert('x')</script>" in shown and "A&B" in shown and "@everyone" in shown
    assert shown.count("长") == RUN.count("长") and shown.count("x" * 1000) == 10
    assert shown.count("🤖") == len(EMOJI) + 1
    assert "Click me, robot" in shown and "inner js" in shown and "a lone < and > and &" in shown
    assert hrefs(hostile) == [
        "https://example.com/robots/1?a=1&b=%3C2%3E",
        "https://example.com/robots/run",
        "https://example.com/robots/emoji",
    ]
    earlier = telegram.sent_to(USER)[:telegram_before]
    assert len(earlier) == 3 and hrefs(earlier) == world.robotics  # two replies and the sample, once
    assert_no_refused_telegram_send(telegram)

    posts = scene.posts()[discord_before:]
    posted = posted_text(posts)
    assert "<script>" in posted and posted.count("长") == RUN.count("长")
    assert posted.count("🤖") == len(EMOJI) + 1
    assert embed_urls(posts) == hrefs(hostile)
    assert embed_urls(scene.posts()[:discord_before]) == world.robotics_or_jobs
    assert all(check_create_message(body) == [] for body in scene.posts())
    assert all(body.get("allowed_mentions") == {"parse": []} for body in posts)
    assert set(scene.post_statuses()) == {200}


async def test_a_telegram_server_that_comes_up_after_the_bot(tmp_path: Path) -> None:
    """Started before its Bot API server is reachable, the bot keeps trying and then works."""
    port = free_port()
    config = write_config(tmp_path, f"http://127.0.0.1:{port}/bot")
    async with bot_process(config, tmp_path / "bot.log") as bot:
        await bot.running()
        assert "telegram (still starting)" in bot.stderr()
        async with FakeTelegram(TELEGRAM_TOKEN, port=port) as telegram:
            user = telegram.user(USER, language="en")
            assert (await say(telegram, user, "/subscribe robotics")).visible == "Subscribed: Robotics."
            drop_digest(tmp_path, SAMPLE)
            await telegram.wait_for(lambda: len(telegram.sent_to(USER)) == 2)
            assert "2025.11.20.20" in telegram.sent_to(USER)[1].visible
            assert await bot.terminate() == 0
    assert TELEGRAM_TOKEN.split(":")[1] not in bot.stderr()


async def test_a_rejected_token_is_fatal_at_once(tmp_path: Path) -> None:
    """A token Telegram refuses will not get better by retrying: exit 1 with a clear line."""
    async with FakeTelegram("7512345679:AAH-someOTHERtokenSOMEotherTOKENxx") as telegram:
        config = write_config(tmp_path, telegram.base_url)
        async with bot_process(config, tmp_path / "bot.log") as bot:
            status = await asyncio.wait_for(bot.process.wait(), 15)
    assert status == 1
    assert "telegram: the bot token was rejected" in bot.stderr()
    assert TELEGRAM_TOKEN.split(":")[1] not in bot.stderr()
