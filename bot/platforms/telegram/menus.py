"""The command menus Telegram shows, in Chinese and English, scoped to what each reader may use.

Private chats list everything; in groups, members see the read-only commands and administrators
also the managing ones; the bot's owners get /stats in their private chat with the bot.
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

log = logging.getLogger(__name__)

DESCRIPTIONS: dict[str, tuple[str, str]] = {
    "start": ("开始使用", "Start here"),
    "help": ("全部命令", "All commands"),
    "subscribe": ("订阅（可指定分类）", "Subscribe (optionally to some categories)"),
    "unsubscribe": ("取消订阅", "Stop deliveries"),
    "categories": ("选择分类", "Pick categories"),
    "keywords": ("关键词筛选 +词 -词", "Keyword filter +word -word"),
    "schedule": ("推送时间 instant | at HH:MM", "Delivery time: instant | at HH:MM"),
    "quiet": ("免打扰时段 HH:MM-HH:MM | off", "Quiet hours HH:MM-HH:MM | off"),
    "latest": ("最新一期摘要", "The latest digest"),
    "status": ("订阅状态", "Subscription status"),
    "language": ("语言 zh | en", "Language zh | en"),
    "stats": ("运行统计（机器人管理员）", "Bot statistics (owners)"),
}
READ_ONLY = ("latest", "status", "help")
MANAGING = ("subscribe", "unsubscribe", "categories", "keywords", "schedule", "quiet", "language")
PRIVATE = ("start", *MANAGING, *READ_ONLY)
GROUP_ADMINS = (*MANAGING, *READ_ONLY)
OWNERS = (*PRIVATE, "stats")


def commands(names: Iterable[str], language: str) -> list[BotCommand]:
    """BotCommands for `names` with descriptions in `language`."""
    index = 0 if language.startswith("zh") else 1
    return [BotCommand(name, DESCRIPTIONS[name][index]) for name in names]


def menu_plan(default_language: str) -> list[tuple[BotCommandScope, Sequence[str], str | None, str]]:
    """(scope, command names, language_code, description language) for every setMyCommands call.

    The entry without a language_code is what users whose language we have no menu for see.
    """
    scopes: list[tuple[BotCommandScope, Sequence[str]]] = [
        (BotCommandScopeAllPrivateChats(), PRIVATE),
        (BotCommandScopeAllGroupChats(), READ_ONLY),
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
