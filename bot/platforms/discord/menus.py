"""The category menu's custom_id: the chat it changes, and the channel and user it belongs to.

Discord hands a component's custom_id back verbatim, and a modified client can submit any custom_id
it likes, so the id cannot be trusted to say which chat to change. It therefore also names the
channel (or thread: a thread has its own channel id) the menu was opened in and the member who
opened it; the bridge refuses a submission from anywhere else or by anyone else, and checks the
member's right to manage the chat again when the choice arrives.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CATEGORY_MENU = "digest:categories:"
MAX_CUSTOM_ID = 100
# Snowflakes are unsigned 64-bit integers: at most 20 digits, so an id is at most 80 characters.
_BOUND = re.compile(r"([0-9]{1,20}):([0-9]{1,20}):([0-9]{1,20})")


@dataclass(frozen=True, slots=True)
class MenuBinding:
    """Chat whose filter the menu sets; channel it was opened in; member who opened it."""

    chat_id: int
    channel_id: int
    user_id: int

    def custom_id(self) -> str:
        return f"{CATEGORY_MENU}{self.chat_id}:{self.channel_id}:{self.user_id}"


CONFIRM_BUTTON = "digest:confirm:"
_CONFIRM = re.compile(r"([a-z]{1,16}):([0-9]{1,18}):([0-9]{1,20}):([0-9]{1,20}):([0-9]{1,20})")


@dataclass(frozen=True, slots=True)
class ConfirmBinding:
    """A confirm button (/announce, /forget): the command and token it confirms, bound like a menu
    to the chat, the channel it was shown in and the member who asked."""

    command: str
    token: str
    where: MenuBinding

    def custom_id(self) -> str:
        where = self.where
        custom_id = (
            f"{CONFIRM_BUTTON}{self.command}:{self.token}:{where.chat_id}:{where.channel_id}:{where.user_id}"
        )
        if len(custom_id) > MAX_CUSTOM_ID:
            raise ValueError(f"confirm button id exceeds {MAX_CUSTOM_ID} characters")
        return custom_id


def parse_confirm(custom_id: str) -> ConfirmBinding | None:
    """The confirm binding a button id carries, or None when it is not one of ours."""
    if not custom_id.startswith(CONFIRM_BUTTON):
        return None
    match = _CONFIRM.fullmatch(custom_id.removeprefix(CONFIRM_BUTTON))
    if match is None:
        return None
    command, token, *ids = match.groups()
    return ConfirmBinding(command, token, MenuBinding(*(int(part) for part in ids)))


def is_menu(custom_id: str) -> bool:
    """Whether a component id is one of our category menus (possibly from an older release)."""
    return custom_id.startswith(CATEGORY_MENU)


def parse_menu(custom_id: str) -> MenuBinding | None:
    """The binding a menu id carries, or None when it is not in the current form."""
    match = _BOUND.fullmatch(custom_id.removeprefix(CATEGORY_MENU)) if is_menu(custom_id) else None
    if match is None:
        return None
    return MenuBinding(*(int(part) for part in match.groups()))
