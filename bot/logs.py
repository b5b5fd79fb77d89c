"""Logging set-up that can never print a secret: every formatted line is scrubbed before output.

httpx and python-telegram-bot log request URLs, and Telegram URLs embed the bot token, so scrubbing
happens in the formatter (after exception text is added) instead of trusting each library.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable
from functools import lru_cache

_TELEGRAM_TOKEN = re.compile(r"(?<![0-9])[0-9]{5,}:[A-Za-z0-9_-]{30,}")
# Discord interaction and webhook tokens ride in URL paths that discord.py logs at DEBUG.
_DISCORD_URL_TOKEN = re.compile(r"(/(?:interactions|webhooks)/[0-9]+/)[A-Za-z0-9_.-]{20,}")
REDACTED = "[REDACTED]"


class RedactingFormatter(logging.Formatter):
    """Formats as usual, then replaces every known secret and anything shaped like a bot token."""

    def __init__(self, fmt: str, secrets: Iterable[str] = ()) -> None:
        super().__init__(fmt)
        self._secrets = tuple(secrets)

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record), self._secrets)


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` for a person's eyes (a log line, /status, a CLI error): no secret, no token-shaped run.

    Longer secrets go first, so one that contains another is replaced whole.
    """
    for secret in _longest_first(tuple(secrets)):
        text = text.replace(secret, REDACTED)
    text = _DISCORD_URL_TOKEN.sub(rf"\1{REDACTED}", text)
    return _TELEGRAM_TOKEN.sub(REDACTED, text)


@lru_cache(maxsize=16)
def _longest_first(secrets: tuple[str, ...]) -> tuple[str, ...]:
    """Sorted once per set of secrets, not once per log line."""
    return tuple(sorted({s for s in secrets if s}, key=len, reverse=True))


def setup_logging(level: str, secrets: Iterable[str], stream: object = None) -> None:
    """Route every logger through one scrubbing handler on stderr (stdout belongs to the console chat)."""
    handler = logging.StreamHandler(stream or sys.stderr)  # type: ignore[arg-type]
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", secrets))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for chatty in ("markdown_it", "aiosqlite"):
        logging.getLogger(chatty).setLevel(max(root.level, logging.INFO))
    if level != "DEBUG":
        for noisy in ("httpx", "httpcore", "discord.gateway", "discord.client"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
