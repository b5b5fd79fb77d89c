"""PostgreSQL URLs as the config gives them: telling one from a file path, and printing it safely.

Outside bot.store so the config and the log set-up use it without importing the store or asyncpg.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, unquote, urlsplit

SCHEMES = ("postgresql://", "postgres://")
MASK = "***"
# The password of a postgres URL's user info: from "user:" to the last "@" of its run of non-spaces
# (a password may hold a raw "@" or "/"; the host part never holds an "@"), words before it included
# when the password holds spaces.
PASSWORD = re.compile(r"(?P<keep>\bpostgres(?:ql)?://[^\s:/@]*:)(?:\S+ )*?\S+(?=@)", re.IGNORECASE)
# libpq also takes the password as a query parameter: ...?password=secret&sslmode=require
QUERY_PASSWORD = re.compile(r"(?P<keep>[?&]password=)[^&\s]*", re.IGNORECASE)


def is_postgres_url(value: str) -> bool:
    """Whether a `database` setting names a PostgreSQL server rather than a SQLite file."""
    return value.lower().startswith(SCHEMES)


def redact_url(url: str) -> str:
    """The URL for a message or a log line: postgresql://user:***@host:port/db (no password)."""
    hidden = PASSWORD.sub(lambda m: m.group("keep") + MASK, url)
    return QUERY_PASSWORD.sub(lambda m: m.group("keep") + MASK, hidden)


def url_secrets(url: str) -> list[str]:
    """The passwords a URL holds (user info and `password=`), raw and decoded, for the log filter:
    a library may echo them in a form the URL pattern above does not recognise."""
    parts = urlsplit(url)
    userinfo, found, _ = parts.netloc.rpartition("@")
    passwords = [userinfo.partition(":")[2]] if found else []
    passwords += [value for key, value in parse_qsl(parts.query) if key.lower() == "password"]
    return sorted({form for password in passwords if password for form in (password, unquote(password))})
