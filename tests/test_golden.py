"""Golden files: the bundled sample digest rendered for every platform, byte for byte.

A change in layout, escaping or splitting shows up here as a reviewable diff of tests/golden/*.
After an intended change, regenerate with `UPDATE_GOLDEN=1 python -m pytest tests/test_golden.py`
and review the diff before committing it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from discord_limits import check_create_message
from telegram_html import check_send_message

from bot.config import load_settings
from bot.core.classify import classify
from bot.core.model import Digest
from bot.core.parse import load_digest
from bot.platforms.discord.render import render_discord
from bot.platforms.telegram.render import render_telegram
from bot.render import RenderOptions, render_text

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden"
SAMPLE = ROOT / "digests" / "2025.11.20.20.md"
PART_BREAK = "\n\n=== part break ===\n\n"


@pytest.fixture(scope="module")
def sample() -> tuple[Digest, RenderOptions]:
    vocabulary = load_settings(ROOT / "config.example.yaml").vocabulary()
    digest = classify(load_digest(SAMPLE), vocabulary)
    return digest, RenderOptions(vocabulary, timezone=ZoneInfo("Asia/Shanghai"), language="zh")


def as_json(payloads: list[Any]) -> str:
    return json.dumps(payloads, ensure_ascii=False, indent=2) + "\n"


def compare(name: str, actual: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
        return
    if not path.exists():
        pytest.fail(f"{path} is missing: run the test once with UPDATE_GOLDEN=1 and review the file")
    assert actual == path.read_text(encoding="utf-8"), f"{name} changed: review, then UPDATE_GOLDEN=1"


def test_telegram(sample: tuple[Digest, RenderOptions]) -> None:
    payloads = render_telegram(*sample)
    assert all(check_send_message(p) for p in payloads)
    compare("telegram.json", as_json(payloads))


def test_discord_embeds(sample: tuple[Digest, RenderOptions]) -> None:
    bodies = render_discord(*sample)
    assert all(check_create_message(b) == [] for b in bodies)
    compare("discord.json", as_json(bodies))


def test_discord_markdown(sample: tuple[Digest, RenderOptions]) -> None:
    digest, options = sample
    markdown_options = RenderOptions(options.vocabulary, options.timezone, "en")
    bodies = render_discord(digest, markdown_options, embeds=False)
    assert all(check_create_message(b) == [] for b in bodies)
    compare("discord_markdown.json", as_json(bodies))


def test_text(sample: tuple[Digest, RenderOptions]) -> None:
    compare("text.txt", PART_BREAK.join(render_text(*sample)) + "\n")
