"""Discord as registry data: config, embed/markdown renderer, chat kinds, pacing and the lazy factory.

The renderer, the readable view (markdown-it) and the API body are imported when first called, not
with the spec: the registry loads every spec, and `digestbot preview --platform text` must not pay
for this one's modules.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from bot.core.model import Digest
from bot.net import proxy as proxies
from bot.platforms.base import Platform
from bot.platforms.discord.config import DiscordConfig
from bot.platforms.spec import PlatformContext, PlatformSpec
from bot.render import Renderer
from bot.render.options import RenderOptions
from bot.render.terminal import Terminal

PLATFORM = "discord"
GUILD_CHANNEL, FORUM, DM = "guild_channel", "forum", "dm"
# Interaction and webhook tokens ride in URL paths that discord.py logs at DEBUG.
URL_TOKEN = re.compile(r"(?P<keep>/(?:interactions|webhooks)/[0-9]+/)[A-Za-z0-9_.-]{20,}")
# A channel webhook's token as Discord returns it (Create Webhook's JSON, a repr of our stored setting).
WEBHOOK_TOKEN = re.compile(r"""(?P<keep>['"]token['"]:\s*['"])[A-Za-z0-9_.-]{20,}""")


def make_renderer(config: DiscordConfig) -> Renderer:
    """Embeds or markdown (`discord.embeds`) with the operator's link-preview choice for every reader."""
    embeds, previews = config.embeds, config.link_previews

    def render(digest: Digest, options: RenderOptions) -> list[Any]:
        from bot.platforms.discord.render import render_discord

        return render_discord(digest, replace(options, link_previews=previews), embeds=embeds, tagged=True)

    return render


def plain_message(text: str) -> dict[str, Any]:
    """`text` as one message, markdown escaped (bot.platforms.discord.render, imported on first use)."""
    from bot.platforms.discord.render import plain_message as message

    return message(text)


def readable(payload: Any, terminal: Terminal) -> str:
    """A payload as a person reads it (bot.platforms.discord.readable, imported on first use)."""
    from bot.platforms.discord.readable import readable as show

    return show(payload, terminal)


def api_body(payload: Any) -> Any:
    """A payload as Discord's API takes it (bot.platforms.discord.parts, imported on first use)."""
    from bot.platforms.discord.parts import api_body as body

    return body(payload)


def broadcast_kind(chat_id: str) -> str:
    """A configured channel id is taken as a text channel until Discord says otherwise."""
    return GUILD_CHANNEL


def build(context: PlatformContext) -> Platform:
    from bot.platforms.discord.client import DiscordPlatform

    config: DiscordConfig = context.config
    return DiscordPlatform(
        config,
        context.service,
        default_language=context.default_language,
        proxy=proxies.resolve(proxies.choose(config.proxy, context.proxy), config.api_base),
    )


SPEC = PlatformSpec(
    name=PLATFORM,
    config_model=DiscordConfig,
    config_key="discord",
    render_format="discord",
    make_renderer=make_renderer,
    chat_kinds=frozenset({GUILD_CHANNEL, FORUM, DM}),
    group_kinds=frozenset(),
    broadcast_kind=broadcast_kind,
    build=build,
    plain_message=plain_message,
    secret_patterns=(URL_TOKEN, WEBHOOK_TOKEN),
    chatty_loggers=("discord.gateway", "discord.client"),
    readable=readable,
    api_body=api_body,
)
