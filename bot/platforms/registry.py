"""The one list of chat platforms; config, cli, app, logs and rendering loop over it.

Adding a platform is one package with a spec plus one entry here (docs/adding-a-platform.md).
"""

from __future__ import annotations

import re

from bot.platforms import console_spec, discord, telegram
from bot.platforms.spec import PlatformSpec
from bot.render import Renderer

PLATFORMS: tuple[PlatformSpec, ...] = (telegram.SPEC, discord.SPEC, console_spec.SPEC)


def get(name: str) -> PlatformSpec:
    """The spec registered under `name`; KeyError for an unknown platform."""
    for spec in PLATFORMS:
        if spec.name == name:
            return spec
    raise KeyError(f"unknown platform {name!r}")


def names() -> tuple[str, ...]:
    return tuple(spec.name for spec in PLATFORMS)


def secret_patterns() -> tuple[re.Pattern[str], ...]:
    """Every platform's token shapes, for log redaction."""
    return tuple(pattern for spec in PLATFORMS for pattern in spec.secret_patterns)


def chatty_loggers() -> tuple[str, ...]:
    """Platform libraries' loggers that say too much below DEBUG."""
    return tuple(name for spec in PLATFORMS for name in spec.chatty_loggers)


def default_renderers() -> dict[str, Renderer]:
    """Each platform's renderer with its default settings (`Settings.renderers()` binds the config's)."""
    return {spec.name: spec.make_renderer(spec.config_model()) for spec in PLATFORMS}


def reader_options() -> dict[str, frozenset[str]]:
    """The per-chat reader options each platform honours (see PlatformSpec)."""
    return {spec.name: spec.reader_options for spec in PLATFORMS}


def pin_kinds() -> dict[str, frozenset[str]]:
    """The chat kinds where each platform can pin a digest's first message."""
    return {spec.name: spec.pin_kinds for spec in PLATFORMS}
