"""Renderers: pure functions from a selected, classified digest to exact platform payloads.

`RENDERERS[name](digest, options)` returns the list of payloads for that platform: sendMessage
parameters for "telegram", Create Message bodies for "discord", plain-text parts for "text".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from bot.core.model import Digest
from bot.render.discord import plain_discord, render_discord
from bot.render.options import RenderOptions
from bot.render.telegram import plain_telegram, render_telegram
from bot.render.text import render_text

Renderer = Callable[[Digest, RenderOptions], list[Any]]

RENDERERS: dict[str, Renderer] = {
    "telegram": render_telegram,
    "discord": render_discord,
    "text": render_text,
}


def with_preferences(renderer: Renderer, **preferences: Any) -> Renderer:
    """A renderer that applies operator-wide choices (link previews, embeds) to every reader's options."""
    if not preferences:
        return renderer

    def render(digest: Digest, options: RenderOptions) -> list[Any]:
        return renderer(digest, replace(options, **preferences))

    return render


__all__ = [
    "RENDERERS",
    "RenderOptions",
    "Renderer",
    "plain_discord",
    "plain_telegram",
    "render_discord",
    "render_telegram",
    "render_text",
    "with_preferences",
]
