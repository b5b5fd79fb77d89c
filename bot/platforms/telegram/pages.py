"""Page buttons (/search results) as an inline keyboard, and the callback data they carry.

Callback data is at most 64 bytes: `p:<command>:<token>:<page>[:<target>]`, where the token is the
store's id of the query (at most 18 digits), the page at most 4 digits and the target a channel id
when a channel is managed from a private chat; the longest form still fits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.commands.model import Pager
from bot.platforms.telegram.keyboards import MAX_CALLBACK_BYTES

_PREFIX = "p"
_TOKEN = re.compile(r"[0-9]{1,18}")
_PAGE = re.compile(r"[0-9]{1,4}")


@dataclass(frozen=True, slots=True)
class PagePress:
    """A decoded page button: the command to run as `page <token> <page>`, and the chat it is about."""

    command: str
    token: str
    page: int
    target: str | None = None

    def args(self) -> tuple[str, ...]:
        return ("page", self.token, str(self.page))


def pager_keyboard(pager: Pager, target: str | None = None) -> InlineKeyboardMarkup | None:
    """One row: a button to the previous page and/or one to the next (None: a page alone)."""
    row = [
        InlineKeyboardButton(label, callback_data=_encode(pager, page, target))
        for page, label in zip((pager.previous, pager.next), pager.labels, strict=True)
        if page is not None
    ]
    return InlineKeyboardMarkup([row]) if row else None


def _encode(pager: Pager, page: int, target: str | None) -> str:
    data = ":".join([_PREFIX, pager.command, pager.token, str(page), *([target] if target else [])])
    if len(data.encode()) > MAX_CALLBACK_BYTES:
        raise ValueError(f"page callback data exceeds {MAX_CALLBACK_BYTES} bytes")
    return data


def decode_page(data: str | None) -> PagePress | None:
    """The page press a button's data describes, or None when it is not one of ours."""
    parts = (data or "").split(":", 4)
    if len(parts) < 4 or parts[0] != _PREFIX or not parts[1].isalpha():
        return None
    if not (_TOKEN.fullmatch(parts[2]) and _PAGE.fullmatch(parts[3])):
        return None
    target = parts[4] if len(parts) == 5 and parts[4] else None
    return PagePress(parts[1], parts[2], int(parts[3]), target)
