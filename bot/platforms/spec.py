"""A chat platform as data: what the rest of the bot needs to know about it, without importing it.

Config loading, rendering, log redaction, rate limiting and the composition root read these fields
instead of naming platforms; only `build` imports the platform's client library, and only when the
platform is enabled. See docs/adding-a-platform.md.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any, Protocol, TextIO

from bot.core.strict import Strict
from bot.delivery.config import RateLimits
from bot.render import Renderer
from bot.render.terminal import Terminal

if TYPE_CHECKING:
    from bot.commands.service import CommandService
    from bot.core.clock import Clock
    from bot.core.lease import LeaseFactory
    from bot.delivery.ratelimit import RateLimiter
    from bot.platforms.base import Platform


class PlatformConfig(Protocol):
    """What every platform's settings model offers besides its own keys."""

    @property
    def enabled(self) -> bool:
        """Configured to run (e.g. its token is set)."""
        ...

    @property
    def rate_limits(self) -> RateLimits | None:
        """Pacing for sends to this platform; None when nothing needs pacing (the console)."""
        ...

    def secrets(self) -> list[str]:
        """Configured secrets (tokens), redacted wherever they would be shown."""
        ...

    @property
    def report_chat(self) -> str | None:
        """The operator's error chat on this platform (problem summaries), if configured."""
        ...


def _system_clock() -> Clock:
    """Imported when a context is built, not with the spec: `preview` reads specs without an event loop."""
    from bot.core.clock import SystemClock

    return SystemClock()


@dataclass(frozen=True, slots=True)
class PlatformContext:
    """What a factory needs to build the running platform; the same limiter paces digests and replies."""

    config: Any  # the spec's own config model
    service: CommandService
    default_language: str
    limiter: RateLimiter
    proxy: str | None = None  # the top-level `proxy:` setting; a platform's own `proxy` overrides it
    stdin: IO[Any] | None = None
    stdout: TextIO | None = None
    on_close: Callable[[], None] = field(default=lambda: None)
    language_configured: bool = True  # False: the config left `language` out (the console asks $LANG)
    clock: Clock = field(default_factory=_system_clock)  # the app's one clock
    # Leases shared with the bot's other processes (PostgreSQL); None: this process is the only one.
    leases: LeaseFactory | None = None


@dataclass(frozen=True, slots=True)
class PlatformSpec:
    """One platform, registered in bot.platforms.registry.

    `config_key` is its section of the YAML file (None: it has none and runs with `config_model()`);
    `render_format` names its renderer for `digestbot preview --platform`; `chat_kinds` are every kind
    its adapters store, `group_kinds` those paced by the per-group rate limit; `broadcast_kind(chat_id)`
    guesses a config broadcast's chat kind before the platform has told us; a match of a
    `secret_patterns` regex is redacted from logs (its group named `keep`, if any, stays);
    `chatty_loggers` are set to WARNING unless the log level is DEBUG; a `fallback` platform runs only
    when no other is enabled; `plain_message(text)` is one message showing `text` exactly, escaped for
    the platform's markup (announcements, error-chat summaries); `readable(payload, terminal)` shows a
    payload as a person would read it (`digestbot preview`; None: it is text already);
    `reader_options` the per-chat options its renderer and sender honour (`format`, `previews`,
    `silent`, `quiet_silent`, `pin`), `pin_kinds` the chat kinds /pin works in.
    `api_body(payload)` is a rendered payload as the platform's API takes it, without what only
    the platform's sender reads (`digestbot preview --json`; None: payloads are sent as rendered).
    tests/test_registry.py checks these against the adapters.
    """

    name: str
    config_model: type[Strict]
    config_key: str | None
    render_format: str
    make_renderer: Callable[[Any], Renderer]
    chat_kinds: frozenset[str]
    group_kinds: frozenset[str]
    broadcast_kind: Callable[[str], str]
    build: Callable[[PlatformContext], Platform]
    plain_message: Callable[[str], dict[str, Any]]
    secret_patterns: tuple[re.Pattern[str], ...] = ()
    chatty_loggers: tuple[str, ...] = ()
    fallback: bool = False
    readable: Callable[[Any, Terminal], str] | None = None
    reader_options: frozenset[str] = frozenset()
    pin_kinds: frozenset[str] = frozenset()
    api_body: Callable[[Any], Any] | None = None
