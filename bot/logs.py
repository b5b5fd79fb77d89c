"""Logging set-up that can never print a secret: every formatted line is scrubbed before output.

HTTP clients and platform libraries log request URLs, and some platforms embed a token in them, so
scrubbing happens in the formatter (after exception text is added) instead of trusting each library.
Besides the configured secrets, anything shaped like a token of a registered platform is redacted.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from functools import lru_cache

from bot.net.pg_url import MASK, redact_url
from bot.platforms.registry import chatty_loggers, secret_patterns

REDACTED = "[REDACTED]"
# A password in a URL's user info (a proxy's, as a client library may print it in an error); a
# database URL's was masked already (postgresql://user:***@host/db, as the store prints it).
URL_PASSWORD = re.compile(
    rf"(?P<keep>\b[A-Za-z][A-Za-z0-9+.-]*://[^\s:/@]*:)(?!{re.escape(MASK)}@)[^\s/@]+(?=@)"
)
_TOKEN_SHAPES = (*secret_patterns(), URL_PASSWORD)


class RedactingFormatter(logging.Formatter):
    """Formats as usual, then replaces every known secret and anything shaped like a bot token."""

    def __init__(self, fmt: str, secrets: Iterable[str] = ()) -> None:
        super().__init__(fmt)
        self._secrets = tuple(secrets)

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record), self._secrets)


class JsonFormatter(logging.Formatter):
    """One JSON object per line for log shippers (`log_format: json`), every field scrubbed like a
    text line: a secret inside the message or the exception text never reaches the output."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets = tuple(secrets)

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage(), self._secrets),
        }
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info), self._secrets)
        elif record.exc_text:
            entry["exception"] = redact(record.exc_text, self._secrets)
        return json.dumps(entry, ensure_ascii=False)


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` for a person's eyes (a log line, /status, a CLI error): no secret, no token-shaped run.

    Longer secrets go first, so one that contains another is replaced whole.
    """
    for secret in _longest_first(tuple(secrets)):
        text = text.replace(secret, REDACTED)
    text = redact_url(text)
    for pattern in _TOKEN_SHAPES:
        text = pattern.sub(_redacted_match, text)
    return text


def _redacted_match(match: re.Match[str]) -> str:
    """The match replaced, except its `keep` group (e.g. the URL path before a token)."""
    keep = match.groupdict().get("keep") or ""
    return keep + REDACTED


@lru_cache(maxsize=16)
def _longest_first(secrets: tuple[str, ...]) -> tuple[str, ...]:
    """Sorted once per set of secrets, not once per log line."""
    return tuple(sorted({s for s in secrets if s}, key=len, reverse=True))


def setup_logging(
    level: str, secrets: Iterable[str], stream: object = None, *, json_lines: bool = False
) -> None:
    """Route every logger through one scrubbing handler on stderr (stdout belongs to the console chat);
    `json_lines` writes one JSON object per line instead of text."""
    handler = logging.StreamHandler(stream or sys.stderr)  # type: ignore[arg-type]
    formatter: logging.Formatter = (
        JsonFormatter(secrets)
        if json_lines
        else RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", secrets)
    )
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for chatty in ("markdown_it", "aiosqlite"):
        logging.getLogger(chatty).setLevel(max(root.level, logging.INFO))
    # Below DEBUG the HTTP libraries only speak up for warnings; at DEBUG they say everything, also
    # when an earlier set-up in this process had quietened them.
    quiet = logging.WARNING if level != "DEBUG" else logging.NOTSET
    for noisy in ("httpx", "httpcore", *chatty_loggers()):
        logging.getLogger(noisy).setLevel(quiet)
