"""The one language rule every platform follows, so a user gets the same language everywhere.

The chat's own setting wins; else the user's client language, when it is one we speak; else the
operator's default. A client language we do not speak (fr, de, ...) has no say: it does not pick
English or Chinese for the user, the default does.
"""

from __future__ import annotations

from collections.abc import Mapping

LANGUAGES = ("zh", "en")
# The POSIX locale variables that name the messages' language, strongest first (as gettext reads them).
LOCALE_VARIABLES = ("LC_ALL", "LC_MESSAGES", "LANG")


def client_language(code: str | None) -> str | None:
    """zh-CN, zh-hant, zh -> zh; en-GB, en -> en; anything else (or nothing) -> None."""
    lowered = (code or "").lower()
    return next((language for language in LANGUAGES if lowered.startswith(language)), None)


def choose_language(chat_setting: str | None, client: str | None, default: str) -> str:
    """The reply language: chat setting, else the client language mapped to zh/en, else `default`."""
    return chat_setting or client_language(client) or default


def locale_language(environ: Mapping[str, str]) -> str | None:
    """zh or en from the first locale variable that is set (zh_CN.UTF-8 -> zh); None for C, POSIX,
    other languages or none set, so the caller falls back to its configured default."""
    for name in LOCALE_VARIABLES:
        value = environ.get(name)
        if value:
            return client_language(value)
    return None
