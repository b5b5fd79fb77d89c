"""`digestbot preview` without --json: each message as a person reads it, part boundaries marked."""

from __future__ import annotations

import json

import pytest
from app_helpers import SAMPLE
from cli_helpers import run_cli

from bot.platforms import registry
from bot.render.terminal import Terminal

LINK = "<https://example.com/robotics/humanoid-night-shift>"


@pytest.mark.parametrize("platform", ["telegram", "discord", "text"])
def test_preview_shows_text_not_markup_nor_json(platform: str) -> None:
    result = run_cli("preview", str(SAMPLE), "--platform", platform)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith(f"══ {SAMPLE} · ") and "── message 1/" in out
    assert "人形机器人" in out and "\\n" not in out and '"text"' not in out and "\x1b[" not in out
    for markup in ("<b>", "</a>", "**", "\\.", "\\("):
        assert markup not in out, markup
    if platform != "text":
        assert f"某车企工厂引入人形机器人执行夜班搬运任务 {LINK}" in out


def test_discord_embeds_are_framed_blocks() -> None:
    out = run_cli("preview", str(SAMPLE), "--platform", "discord", "--categories", "robotics").stdout
    assert f"│ 1. 某车企工厂引入人形机器人执行夜班搬运任务 {LINK}\n│ 林知远\n" in out
    assert "│ — 机器人" in out


def test_each_part_of_a_long_digest_is_numbered() -> None:
    payloads = json.loads(run_cli("preview", str(SAMPLE), "--platform", "discord", "--json").stdout)
    out = run_cli("preview", str(SAMPLE), "--platform", "discord").stdout
    count = len(payloads)
    assert f"· {count} message{'s' if count > 1 else ''} ══" in out
    assert [f"── message {i}/{count} ──" in out for i in range(1, count + 1)] == [True] * count


def test_a_terminal_gets_bold_italic_and_readable_links() -> None:
    terminal = Terminal(ansi=True)
    show = registry.get("telegram").readable
    assert show is not None
    html = {"text": '<b>B</b> <i>I</i> <a href="https://x.test/">site</a> &lt;tag&gt;', "parse_mode": "HTML"}
    assert show(html, terminal) == "\x1b[1mB\x1b[0m \x1b[3mI\x1b[0m site <https://x.test/> <tag>"
    assert show({"text": "<b>as sent</b>"}, terminal) == "<b>as sent</b>"  # a plain-text resend
    show = registry.get("discord").readable
    assert show is not None
    body = {"content": "**B** *I* [site](<https://x.test/>) 1\\. \\*", "embeds": []}
    assert show(body, terminal) == "\x1b[1mB\x1b[0m \x1b[3mI\x1b[0m site <https://x.test/> 1. *"
