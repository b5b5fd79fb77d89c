"""PostgreSQL URLs as the config gives them: telling one from a file path, and printing it safely.

Outside bot.store so the config and the log set-up use it without importing the store or asyncpg.
"""

from __future__ import annotations

import re

SCHEMES = ("postgresql://", "postgres://")
MASK = "***"
# The password of a postgres URL's user info: everything between "user:" and the last "@" before
# the host (a password may hold a raw "@" or "/"; the host part never holds an "@").
PASSWORD = re.compile(r"(?P<keep>\bpostgres(?:ql)?://[^\s:/@]*:)\S+(?=@)", re.IGNORECASE)


def is_postgres_url(value: str) -> bool:
    """Whether a `database` setting names a PostgreSQL server rather than a SQLite file."""
    return value.lower().startswith(SCHEMES)


def redact_url(url: str) -> str:
    """The URL for a message or a log line: postgresql://user:***@host:port/db (no password)."""
    return PASSWORD.sub(lambda m: m.group("keep") + MASK, url)
