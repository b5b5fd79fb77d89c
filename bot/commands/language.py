"""The one language rule every platform follows, so a user gets the same language everywhere.

The chat's own setting wins; else the user's client language, when it is one we speak; else the
operator's default. A client language we do not speak (fr, de, ...) has no say: it does not pick
English or Chinese for the user, the default does.
"""

from __future__ import annotations

LANGUAGES = ("zh", "en")


def client_language(code: str | None) -> str | None:
    """zh-CN, zh-hant, zh -> zh; en-GB, en -> en; anything else (or nothing) -> None."""
    lowered = (code or "").lower()
    return next((language for language in LANGUAGES if lowered.startswith(language)), None)


def choose_language(chat_setting: str | None, client: str | None, default: str) -> str:
    """The reply language: chat setting, else the client language mapped to zh/en, else `default`."""
    return chat_setting or client_language(client) or default
