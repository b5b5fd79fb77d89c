"""Operator-wide render preferences from the config reach every payload the planner renders."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bot.config import parse_settings
from bot.core.model import Category, Digest, Item, Span, Vocabulary
from bot.render.options import RenderOptions

VOCABULARY = Vocabulary([Category("other", "其他", "Other")])
DIGEST = Digest(
    id="d",
    title="T",
    date=datetime(2025, 1, 1, tzinfo=UTC),
    items=(Item(1, "A", url="https://example.com/a", summary=((Span("x"),),), categories=("other",)),),
)
OPTIONS = RenderOptions(VOCABULARY)


def test_defaults_keep_previews_off_and_embeds_on() -> None:
    settings = parse_settings({}, "c", Path("/"))
    renderers = settings.renderers()
    telegram, discord = renderers["telegram"], renderers["discord"]
    assert telegram(DIGEST, OPTIONS)[0]["link_preview_options"] == {"is_disabled": True}
    assert any(body.get("embeds") for body in discord(DIGEST, OPTIONS))


def test_config_turns_previews_on_and_embeds_off() -> None:
    data = {"telegram": {"link_previews": True}, "discord": {"embeds": False}}
    settings = parse_settings(data, "c", Path("/"))
    renderers = settings.renderers()
    telegram, discord = renderers["telegram"], renderers["discord"]
    assert telegram(DIGEST, OPTIONS)[0].get("link_preview_options", {}).get("is_disabled") is not True
    assert all(not body.get("embeds") for body in discord(DIGEST, OPTIONS))
