"""Platform-neutral command and reply shapes: adapters build a Command and render the Reply."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class ChatRef:
    """The chat a command is about (for a channel managed from a private chat: the channel); `kind`
    is the platform's own chat kind, which only the platform interprets."""

    platform: str
    chat_id: str
    thread_id: str | None
    kind: str
    title: str = ""


@dataclass(frozen=True, slots=True)
class Caller:
    """Who sent the command; the adapter decides `can_manage` from the platform's admin rules.

    `language` is the user's raw client language (zh-TW, en-GB, fr...): only the service's language
    rule (language.py) turns it into a reply language.
    """

    user_id: str
    language: str | None = None
    can_manage: bool = True
    is_owner: bool = False


@dataclass(frozen=True, slots=True)
class Command:
    """`text` is the arguments as typed, line breaks included (for /announce); adapters that have
    only the split words leave it empty and handlers fall back to joining `args`."""

    name: str
    args: tuple[str, ...]
    chat: ChatRef
    caller: Caller
    text: str = ""


@dataclass(frozen=True, slots=True)
class PickerOption:
    id: str
    label: str
    selected: bool


@dataclass(frozen=True, slots=True)
class CategoryPicker:
    """Toggle state for an inline keyboard or select menu; nothing selected means every category."""

    options: tuple[PickerOption, ...]
    done: bool = False
    language: str = "zh"

    @property
    def all_selected(self) -> bool:
        return not any(o.selected for o in self.options)


@dataclass(frozen=True, slots=True)
class Confirm:
    """A confirmation button: pressing it runs `/<command> confirm <token>` as the presser (a chat
    platform's button; the console shows that command to type)."""

    command: str
    token: str
    label: str

    def args(self) -> tuple[str, str]:
        return ("confirm", self.token)


@dataclass(frozen=True, slots=True)
class Pager:
    """The reply is one page of a list of results (links: no preview cards), with buttons to its
    neighbours: pressing one runs `/<command> page <token> <page>` as the presser, in the same chat,
    and its reply replaces the message (the console shows the command to type). `previous`/`next`
    are the pages the buttons lead to (None: no such button)."""

    command: str
    token: str
    previous: int | None
    next: int | None
    labels: tuple[str, str]  # previous, next

    def args(self, page: int) -> tuple[str, str, str]:
        return ("page", self.token, str(page))


@dataclass(frozen=True, slots=True)
class Reply:
    """Plain text (the adapter escapes it), plus optional rendered digest parts or a category picker.

    `parts` are the platform's renderer output (payload dicts, or strings for the console), shared
    with a cache: adapters send them as they are and never modify them.
    """

    text: str
    parts: tuple[Any, ...] = ()
    picker: CategoryPicker | None = None
    error: bool = False
    confirm: Confirm | None = None
    pager: Pager | None = None
