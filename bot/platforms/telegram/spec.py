"""Telegram as registry data: config, HTML renderer, chat kinds, pacing and the lazy factory.

The renderer and the readable view are imported when first called, not with the spec: the registry
loads every spec, and `digestbot preview --platform text` must not pay for this one's modules.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from bot.core.model import Digest
from bot.net import proxy as proxies
from bot.platforms.base import Platform
from bot.platforms.spec import PlatformContext, PlatformSpec
from bot.platforms.telegram.config import TelegramConfig
from bot.render import Renderer
from bot.render.options import RenderOptions
from bot.render.terminal import Terminal

PLATFORM = "telegram"
CHAT_KINDS = frozenset({"private", "group", "supergroup", "channel"})
# Telegram allows about 20 messages a minute into one group or channel, whatever the global pace.
GROUP_KINDS = frozenset({"group", "supergroup", "channel"})
BOT_TOKEN = re.compile(r"(?<![0-9])[0-9]{5,}:[A-Za-z0-9_-]{30,}")


def make_renderer(config: TelegramConfig) -> Renderer:
    """HTML messages with the operator's link-preview choice applied to every reader."""
    previews = config.link_previews

    def render(digest: Digest, options: RenderOptions) -> list[Any]:
        from bot.platforms.telegram.render import render_telegram

        return render_telegram(digest, replace(options, link_previews=previews))

    return render


def plain_message(text: str) -> dict[str, Any]:
    """`text` as one HTML message, escaped (bot.platforms.telegram.render, imported on first use)."""
    from bot.platforms.telegram.render import plain_message as message

    return message(text)


def readable(payload: Any, terminal: Terminal) -> str:
    """A payload as a person reads it (bot.platforms.telegram.readable, imported on first use)."""
    from bot.platforms.telegram.readable import readable as show

    return show(payload, terminal)


def broadcast_kind(chat_id: str) -> str:
    """Private chats have positive ids; anything else may be a group, where the stricter per-group
    rate limit must apply, so the guess errs on that side (the first update corrects it)."""
    return "private" if chat_id.isdigit() else "group"


def build(context: PlatformContext) -> Platform:
    from bot.platforms.telegram.adapter import TelegramPlatform

    config: TelegramConfig = context.config
    return TelegramPlatform(
        config,
        context.service,
        default_language=context.default_language,
        limiter=context.limiter,
        proxy=proxies.resolve(proxies.choose(config.proxy, context.proxy), config.base_url),
        clock=context.clock,
        leases=context.leases,
    )


SPEC = PlatformSpec(
    name=PLATFORM,
    config_model=TelegramConfig,
    config_key="telegram",
    render_format="telegram",
    make_renderer=make_renderer,
    chat_kinds=CHAT_KINDS,
    group_kinds=GROUP_KINDS,
    broadcast_kind=broadcast_kind,
    build=build,
    plain_message=plain_message,
    secret_patterns=(BOT_TOKEN,),
    readable=readable,
    reader_options=frozenset({"format", "previews", "silent", "quiet_silent", "pin"}),
    pin_kinds=frozenset({"channel"}),
)
