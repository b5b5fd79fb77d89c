"""Command names and descriptions in English (the base) and Chinese, through discord.py's Translator.

Discord shows `name_localizations`/`description_localizations` in the user's client language. The
base strings are English; zh-CN gets Chinese and en-US gets the English text explicitly, every other
locale falls back to the base. Interactions always carry the base names, so handlers never see a
translated name. Localised names obey Discord's name rule (lower case, no spaces; CJK is allowed).
"""

from __future__ import annotations

from discord import Locale
from discord.app_commands import TranslationContextTypes, Translator, locale_str

# key -> (English, Chinese)
TEXTS: dict[str, tuple[str, str]] = {
    "digest": ("digest", "摘要"),
    "digest.description": ("Subscribe channels to the AI news digest", "为频道订阅 AI 新闻摘要"),
    "subscribe": ("subscribe", "订阅"),
    "subscribe.description": (
        "Subscribe a channel (default: this one) to some or all categories",
        "为频道（默认当前频道）订阅部分或全部分类",
    ),
    "unsubscribe": ("unsubscribe", "取消订阅"),
    "unsubscribe.description": (
        "Stop deliveries to a channel (settings are kept)",
        "停止向频道推送（保留设置）",
    ),
    "categories": ("categories", "分类"),
    "categories.description": ("Choose categories from a menu", "从菜单中选择分类"),
    "keywords": ("keywords", "关键词"),
    "keywords.description": (
        "Only or never items with words: +word -word, or clear",
        "只看或屏蔽含关键词的条目：+词 -词，或 clear",
    ),
    "schedule": ("schedule", "推送时间"),
    "schedule.description": (
        "When to deliver: instant, or at HH:MM[,HH:MM] [Area/City]",
        "推送时间：instant，或 at HH:MM[,HH:MM] [时区]",
    ),
    "quiet": ("quiet", "免打扰"),
    "quiet.description": ("Quiet hours HH:MM-HH:MM, or off", "免打扰时段 HH:MM-HH:MM，或 off"),
    "latest": ("latest", "最新"),
    "latest.description": (
        "Show the latest digest through the channel's filter",
        "按频道的筛选查看最新一期摘要",
    ),
    "status": ("status", "状态"),
    "status.description": ("Show a channel's subscription", "查看频道的订阅状态"),
    "language": ("language", "语言"),
    "language.description": ("Reply and digest language", "回复和摘要的语言"),
    "stats": ("stats", "统计"),
    "stats.description": ("Delivery statistics (bot owners only)", "投递统计（仅限机器人管理员）"),
    "option.channel": ("channel", "频道"),
    "option.channel.description": (
        "Channel, thread or forum (default: this channel)",
        "频道、子区或论坛（默认当前频道）",
    ),
    "option.categories": ("categories", "分类"),
    "option.categories.description": (
        "Category ids or names, separated by commas or spaces (empty: all)",
        "分类 id 或名称，用逗号或空格分隔（留空为全部）",
    ),
    "option.words": ("words", "关键词"),
    "option.words.description": (
        "+word to include, -word to exclude, clear to reset",
        "+词 只看，-词 屏蔽，clear 清空",
    ),
    "option.when": ("when", "时间"),
    "option.when.description": (
        "instant, or at 08:00,20:00 Asia/Shanghai",
        "instant，或 at 08:00,20:00 Asia/Shanghai",
    ),
    "option.hours": ("hours", "时段"),
    "option.hours.description": ("22:00-07:00, or off", "22:00-07:00，或 off"),
    "option.language": ("language", "语言"),
    "option.language.description": ("zh or en", "zh 或 en"),
    "option.public": ("public", "公开"),
    "option.public.description": ("Show it to everyone in the channel", "对频道里的所有人可见"),
    "choice.zh": ("中文", "中文"),
    "choice.en": ("English", "English"),
}


def ls(key: str) -> locale_str:
    """The English base string for `key`, tagged with the key the translator looks up."""
    return locale_str(TEXTS[key][0], key=key)


class DigestTranslator(Translator):
    """Looks strings up by their `key`; returns None (use the base) for locales it does not know."""

    async def translate(
        self, string: locale_str, locale: Locale, context: TranslationContextTypes
    ) -> str | None:
        key = string.extras.get("key")
        if key not in TEXTS:
            return None
        english, chinese = TEXTS[key]
        if locale is Locale.chinese:
            return chinese
        if locale is Locale.american_english:
            return english
        return None
