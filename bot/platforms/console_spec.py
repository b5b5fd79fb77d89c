"""The console as registry data: no config section, plain-text rendering, started only as a fallback."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from bot.commands.language import locale_language
from bot.core.strict import Strict
from bot.delivery.config import RateLimits
from bot.platforms.base import Platform
from bot.platforms.spec import PlatformContext, PlatformSpec
from bot.render import Renderer
from bot.render.text import render_text

PLATFORM = "console"
CONSOLE_KIND = "console"


class ConsoleConfig(Strict):
    """The console has no settings: it runs when no other platform is enabled and needs no pacing."""

    @property
    def enabled(self) -> bool:
        return False

    @property
    def rate_limits(self) -> RateLimits | None:
        return None

    def secrets(self) -> list[str]:
        return []

    @property
    def report_chat(self) -> str | None:
        """The console has no error chat: problems are in the log."""
        return None


def make_renderer(config: ConsoleConfig) -> Renderer:
    return render_text


def plain_message(text: str) -> dict[str, Any]:
    """The console prints text as it is."""
    return {"text": text}


def broadcast_kind(chat_id: str) -> str:
    return CONSOLE_KIND


def console_language(context: PlatformContext, environ: Mapping[str, str]) -> str:
    """The console user's language: the config's `language` when it sets one, else the terminal's
    locale ($LC_ALL, $LC_MESSAGES, $LANG), else the default; like a client language on a chat app."""
    if context.language_configured:
        return context.default_language
    return locale_language(environ) or context.default_language


def build(context: PlatformContext) -> Platform:
    from bot.platforms.console import ConsolePlatform

    return ConsolePlatform(
        context.service,
        language=console_language(context, os.environ),
        stdin=context.stdin,
        out=context.stdout,
        on_close=context.on_close,
    )


SPEC = PlatformSpec(
    name=PLATFORM,
    config_model=ConsoleConfig,
    config_key=None,
    render_format="text",
    make_renderer=make_renderer,
    chat_kinds=frozenset({CONSOLE_KIND}),
    group_kinds=frozenset(),
    broadcast_kind=broadcast_kind,
    build=build,
    plain_message=plain_message,
    fallback=True,
)
