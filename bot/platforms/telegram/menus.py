"""The command menus Telegram shows, in Chinese and English, scoped to what each reader may use.

Generated from the command table: private chats list every command but the owners' ones; in
groups, members see the commands anyone may use and administrators also the managing ones; the
bot's owners get every command (/stats too) in their private chat with the bot.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

from telegram import (
    Bot,
    BotCommand,
    BotCommandScope,
    BotCommandScopeAllChatAdministrators,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
)
from telegram.error import BadRequest, Forbidden

from bot.commands.table import BY_NAME, Access, command_names

log = logging.getLogger(__name__)
# Telegram's Start button opens a private chat with /start; elsewhere it means nothing.
PRIVATE_ONLY = frozenset({"start"})
PRIVATE = command_names(Access.ANYONE, Access.MANAGERS)
GROUP_MEMBERS = tuple(name for name in command_names(Access.ANYONE) if name not in PRIVATE_ONLY)
GROUP_ADMINS = tuple(name for name in PRIVATE if name not in PRIVATE_ONLY)
OWNERS = command_names(*Access)


def commands(menu: Iterable[str], language: str) -> list[BotCommand]:
    """BotCommands for the names in `menu` with the table's descriptions in `language`."""
    return [BotCommand(name, BY_NAME[name].description(language)) for name in menu]


def menu_plan(default_language: str) -> list[tuple[BotCommandScope, Sequence[str], str | None, str]]:
    """(scope, command names, language_code, description language) for every setMyCommands call.

    The entry without a language_code is what users whose language we have no menu for see.
    """
    scopes: list[tuple[BotCommandScope, Sequence[str]]] = [
        (BotCommandScopeAllPrivateChats(), PRIVATE),
        (BotCommandScopeAllGroupChats(), GROUP_MEMBERS),
        (BotCommandScopeAllChatAdministrators(), GROUP_ADMINS),
    ]
    plan: list[tuple[BotCommandScope, Sequence[str], str | None, str]] = []
    for scope, names in scopes:
        plan.append((scope, names, None, default_language))
        plan.extend((scope, names, code, code) for code in ("zh", "en"))
    return plan


async def register_menus(bot: Bot, owners: Iterable[int], default_language: str) -> None:
    """Install every menu; an owner who never opened a chat with the bot is skipped with a warning."""
    for scope, names, code, language in menu_plan(default_language):
        await bot.set_my_commands(commands(names, language), scope=scope, language_code=code)
    for owner in owners:
        try:
            await bot.set_my_commands(commands(OWNERS, default_language), scope=BotCommandScopeChat(owner))
        except (BadRequest, Forbidden) as exc:
            log.warning("telegram: no /stats menu for owner %s: %s", owner, exc.message)
