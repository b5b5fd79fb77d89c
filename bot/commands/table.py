"""Every command, declared once: its name, descriptions, who may use it, its arguments, its handler.

The service's dispatch and access check, /help, and each platform's command menus (names,
descriptions, localisations, options) are all generated from `COMMANDS`, so adding a command is
one entry here plus its handler method in handlers.py.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bot.commands.args import MAX_ARGS_CHARS
from bot.commands.handlers import CommandHandlers
from bot.commands.model import Command, Reply
from bot.commands.operator import MAX_ANNOUNCEMENT, OperatorHandlers
from bot.commands.reader import ReaderHandlers
from bot.commands.search import SearchHandlers
from bot.core.search_query import MAX_QUERY_CHARS
from bot.store.subscriptions import Subscription

Handler = Callable[[Any, Command, Subscription | None, str], Awaitable[Reply]]


class Access(enum.Enum):
    """Who may use a command: anyone in the chat, the chat's managers, or the bot's owners."""

    ANYONE = "anyone"
    MANAGERS = "managers"
    OWNERS = "owners"


class ArgKind(enum.Enum):
    """How an argument's text becomes arguments: split on spaces, a category list, or one choice."""

    WORDS = "words"
    CATEGORIES = "categories"
    CHOICE = "choice"


@dataclass(frozen=True, slots=True)
class Text:
    """One string in both languages the bot speaks."""

    zh: str
    en: str

    def __call__(self, language: str) -> str:
        return self.zh if language.startswith("zh") else self.en


@dataclass(frozen=True, slots=True)
class Arg:
    """A command argument: `name`/`zh_name` for platforms with named options, `syntax` for /help,
    `about` for an option's description; `choices` are (value, label) pairs for a CHOICE."""

    name: str
    zh_name: str
    syntax: Text
    about: Text
    kind: ArgKind = ArgKind.WORDS
    required: bool = False
    choices: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class CommandSpec:
    """One command. `zh_name` is its name where a platform allows non-ASCII names; `help` is its
    /help explanation (None: not listed there)."""

    name: str
    zh_name: str
    description: Text
    access: Access
    handler: Handler
    args: tuple[Arg, ...] = ()
    help: Text | None = None
    max_chars: int = MAX_ARGS_CHARS
    option: str | None = None  # the reader option it sets: listed only where the platform has it

    def help_line(self, language: str) -> str | None:
        """`/name syntax explanation` in `language`, or None for a command /help does not list."""
        if self.help is None:
            return None
        words = [f"/{self.name}", *(arg.syntax(language) for arg in self.args), self.help(language)]
        return " ".join(words)


CATEGORIES = Arg(
    "categories",
    "分类",
    Text("[分类...|all]", "[category...|all]"),
    Text(
        "分类 id 或名称，用逗号或空格分隔；all 为全部；留空则保持现有分类",
        "Category ids or names, comma or space separated; all = every one; empty keeps the current ones",
    ),
    ArgKind.CATEGORIES,
)
WORDS = Arg(
    "words",
    "关键词",
    Text("+词 -词", "+word -word"),
    Text("+词 只看，-词 屏蔽，clear 清空", "+word to include, -word to exclude, clear to reset"),
)
WHEN = Arg(
    "when",
    "时间",
    Text(
        "instant | at HH:MM[,HH:MM] | weekly 周一 HH:MM [时区]",
        "instant | at HH:MM[,HH:MM] | weekly Mon HH:MM [Area/City]",
    ),
    Text(
        "instant，或 at 08:00,20:00 Asia/Shanghai，或 weekly 周一 09:00（一周回顾）",
        "instant, or at 08:00,20:00 Asia/Shanghai, or weekly Mon 09:00 (a weekly roundup)",
    ),
    required=True,
)
HOURS = Arg(
    "hours",
    "时段",
    Text("HH:MM-HH:MM [silent] | off", "HH:MM-HH:MM [silent] | off"),
    Text(
        "22:00-07:00，或 off；加 silent 则照常发送但不通知",
        "22:00-07:00, or off; add silent to send without notifying",
    ),
    required=True,
)
LANGUAGE = Arg(
    "language",
    "语言",
    Text("zh|en", "zh|en"),
    Text("zh 或 en", "zh or en"),
    ArgKind.CHOICE,
    required=True,
    choices=(("zh", "中文"), ("en", "English")),
)

ANNOUNCEMENT = Arg(
    "text",
    "内容",
    Text("内容", "text"),
    Text("公告内容（先预览，确认后发送）", "The announcement (previewed; sent once you confirm)"),
    required=True,
)

QUERY = Arg(
    "query",
    "搜索词",
    Text("词...", "words..."),
    Text(
        "要找的词，全部包含才算；少于 3 个字的词只搜最近 30 天",
        "Words an item must all contain; words under 3 characters search the last 30 days",
    ),
    required=True,
)

H = CommandHandlers
Op = OperatorHandlers
COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec("start", "开始", Text("开始使用", "Start here"), Access.ANYONE, H.start),
    CommandSpec("help", "帮助", Text("全部命令", "All commands"), Access.ANYONE, H.help),
    CommandSpec(
        "subscribe",
        "订阅",
        Text("订阅（可指定分类）", "Subscribe (optionally to some categories)"),
        Access.MANAGERS,
        H.subscribe,
        (CATEGORIES,),
        Text(
            "订阅（all：全部分类；不带参数：新订阅为全部分类，已有订阅保持原分类）",
            "subscribe (all: every category; no argument: every category for a new subscription, "
            "the current ones kept otherwise)",
        ),
    ),
    CommandSpec(
        "unsubscribe",
        "取消订阅",
        Text("取消订阅", "Stop deliveries"),
        Access.MANAGERS,
        H.unsubscribe,
        help=Text("取消订阅", "stop deliveries"),
    ),
    CommandSpec(
        "categories",
        "分类",
        Text("选择分类", "Pick categories"),
        Access.MANAGERS,
        H.categories,
        help=Text("选择分类", "pick categories"),
    ),
    CommandSpec(
        "keywords",
        "关键词",
        Text("关键词筛选 +词 -词", "Keyword filter +word -word"),
        Access.MANAGERS,
        H.keywords,
        (WORDS,),
        Text("只看/屏蔽包含关键词的条目（clear 清空）", "only/never items with these words (clear to reset)"),
    ),
    CommandSpec(
        "schedule",
        "推送时间",
        Text(
            "推送时间 instant | at HH:MM | weekly 周一 HH:MM",
            "Delivery: instant | at HH:MM | weekly Mon HH:MM",
        ),
        Access.MANAGERS,
        H.schedule,
        (WHEN,),
        Text("推送时间", "when to deliver"),
    ),
    CommandSpec(
        "quiet",
        "免打扰",
        Text("免打扰时段 HH:MM-HH:MM | off", "Quiet hours HH:MM-HH:MM | off"),
        Access.MANAGERS,
        H.quiet,
        (HOURS,),
        Text(
            "免打扰时段：期间什么都不发（定时推送、重试也一样），结束后再发；加 silent 则照常发送但不通知",
            "quiet hours: nothing is sent then, scheduled posts and retries included; "
            "it goes out when they end (with silent: it goes out without a notification)",
        ),
    ),
    CommandSpec(
        "latest",
        "最新",
        Text("最新一期摘要", "The latest digest"),
        Access.ANYONE,
        H.latest,
        help=Text("最新一期摘要（按本聊天的筛选）", "the latest digest through this chat's filter"),
    ),
    CommandSpec(
        "status",
        "状态",
        Text("订阅状态", "Subscription status"),
        Access.ANYONE,
        H.status,
        help=Text("订阅状态", "this chat's subscription"),
    ),
    CommandSpec(
        "language",
        "语言",
        Text("语言 zh | en", "Language zh | en"),
        Access.MANAGERS,
        H.language,
        (LANGUAGE,),
        Text("语言", "reply language"),
    ),
    CommandSpec(
        "stats", "统计", Text("运行统计（机器人管理员）", "Bot statistics (owners)"), Access.OWNERS, H.stats
    ),
    CommandSpec(
        "id",
        "编号",
        Text("本聊天和你的 id", "This chat's id and yours"),
        Access.ANYONE,
        Op.id,
        help=Text("本聊天的 id 和你的用户 id", "this chat's id and your user id"),
    ),
    CommandSpec(
        "announce",
        "公告",
        Text("向所有订阅发公告（机器人管理员）", "Announce to every subscriber (owners)"),
        Access.OWNERS,
        Op.announce,
        (ANNOUNCEMENT,),
        max_chars=MAX_ANNOUNCEMENT,
    ),
    CommandSpec(
        "forget",
        "删除数据",
        Text("删除本聊天的全部数据", "Delete everything stored about this chat"),
        Access.MANAGERS,
        Op.forget,
        help=Text("删除本聊天的全部数据（需确认）", "delete everything stored about this chat (asks first)"),
    ),
    CommandSpec(
        "search",
        "搜索",
        Text("搜索往期摘要", "Search past digests"),
        Access.ANYONE,
        SearchHandlers.search,
        (QUERY,),
        Text(
            "在往期摘要中搜索（按本聊天的分类和关键词，最新的在前，可翻页）",
            "search past digests through this chat's categories and keywords, newest first, page by page",
        ),
        max_chars=MAX_QUERY_CHARS,
    ),
)
R = ReaderHandlers
SWITCH = (("on", "on"), ("off", "off"))


def _switch(name: str, zh_name: str, description: Text, about: Text) -> CommandSpec:
    """A reader option taking on|off (no argument: show it)."""
    arg = Arg("value", "开关", Text("[on|off]", "[on|off]"), about, ArgKind.CHOICE, choices=SWITCH)
    return CommandSpec(
        name, zh_name, description, Access.MANAGERS, getattr(R, name), (arg,), about, option=name
    )


COMMANDS += (
    CommandSpec(
        "format",
        "格式",
        Text("摘要格式 full | compact", "Digest format full | compact"),
        Access.MANAGERS,
        R.format,
        (
            Arg(
                "format",
                "格式",
                Text("[full|compact]", "[full|compact]"),
                Text("full 完整，compact 只有带链接的标题", "full, or compact: linked titles only"),
                ArgKind.CHOICE,
                choices=(("full", "full"), ("compact", "compact")),
            ),
        ),
        Text("摘要格式：完整，或只有带链接的标题", "digest format: full, or linked titles only"),
        option="format",
    ),
    _switch(
        "previews",
        "链接预览",
        Text("链接预览 on | off", "Link previews on | off"),
        Text("摘要消息下的链接预览", "link previews under digest messages"),
    ),
    _switch(
        "silent",
        "静音",
        Text("静音推送 on | off", "Silent digests on | off"),
        Text("推送摘要时不发通知", "digests arrive without a notification"),
    ),
    _switch(
        "pin",
        "置顶",
        Text("频道置顶最新摘要 on | off", "Pin the latest digest (channels) on | off"),
        Text("频道：置顶每期摘要，取消上一期的置顶", "channels: pin each digest, unpinning the previous one"),
    ),
)
BY_NAME: dict[str, CommandSpec] = {spec.name: spec for spec in COMMANDS}


def command_names(*access: Access) -> tuple[str, ...]:
    """Command names with one of the given access levels, in table order."""
    return tuple(spec.name for spec in COMMANDS if spec.access in access)
