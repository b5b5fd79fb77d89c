"""Page buttons (/search results): their custom_id, and the view that carries them.

Like a confirm button's (see menus.py), the id names the chat, the channel the buttons were shown
in and the member who asked, so the bridge refuses a press from anywhere or anyone else; it also
names the command, the query's token in the store and the page the button leads to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import discord

from bot.commands.model import Pager
from bot.platforms.discord.menus import MAX_CUSTOM_ID, MenuBinding

PAGE_BUTTON = "digest:page:"
PAGE_TIMEOUT = 15 * 60  # the view's own timeout; later presses still arrive through on_interaction
_PAGE = re.compile(r"([a-z]{1,16}):([0-9]{1,18}):([0-9]{1,4}):([0-9]{1,20}):([0-9]{1,20}):([0-9]{1,20})")


@dataclass(frozen=True, slots=True)
class PageBinding:
    """A page button: `/<command> page <token> <page>`, bound like a menu to chat, channel and member."""

    command: str
    token: str
    page: int
    where: MenuBinding

    def args(self) -> tuple[str, ...]:
        return ("page", self.token, str(self.page))

    def custom_id(self) -> str:
        where = self.where
        custom_id = (
            f"{PAGE_BUTTON}{self.command}:{self.token}:{self.page}"
            f":{where.chat_id}:{where.channel_id}:{where.user_id}"
        )
        if len(custom_id) > MAX_CUSTOM_ID:
            raise ValueError(f"page button id exceeds {MAX_CUSTOM_ID} characters")
        return custom_id


def parse_page(custom_id: str) -> PageBinding | None:
    """The page binding a button id carries, or None when it is not one of ours."""
    match = (
        _PAGE.fullmatch(custom_id.removeprefix(PAGE_BUTTON)) if custom_id.startswith(PAGE_BUTTON) else None
    )
    if match is None:
        return None
    command, token, page, *ids = match.groups()
    return PageBinding(command, token, int(page), MenuBinding(*(int(part) for part in ids)))


def page_view(pager: Pager, where: MenuBinding) -> discord.ui.View:
    """A button to the previous page and/or one to the next, for the member who searched (none for
    a page alone)."""
    view = discord.ui.View(timeout=PAGE_TIMEOUT)
    for page, label in zip((pager.previous, pager.next), pager.labels, strict=True):
        if page is None:
            continue
        binding = PageBinding(pager.command, pager.token, page, where)
        button: discord.ui.Button[discord.ui.View] = discord.ui.Button(
            custom_id=binding.custom_id(), label=label[:80], style=discord.ButtonStyle.secondary
        )
        view.add_item(button)
    return view
