"""Command names and descriptions in English (the base) and Chinese, through discord.py's Translator.

The commands' own texts come from the command table; only Discord's extras are written here.

Discord shows `name_localizations`/`description_localizations` in the user's client language. The
base strings are English; zh-CN gets Chinese and en-US gets the English text explicitly, every other
locale falls back to the base. Interactions always carry the base names, so handlers never see a
translated name. Localised names obey Discord's name rule (lower case, no spaces; CJK is allowed).
"""

from __future__ import annotations

from discord import Locale
from discord.app_commands import TranslationContextTypes, Translator, locale_str

from bot.commands.table import COMMANDS

# key -> (English, Chinese): what only Discord has (the /digest group, the channel and public options)
OWN_TEXTS: dict[str, tuple[str, str]] = {
    "digest": ("digest", "摘要"),
    "digest.description": ("Subscribe channels to the AI news digest", "为频道订阅 AI 新闻摘要"),
    "option.channel": ("channel", "频道"),
    "option.channel.description": (
        "Channel, thread or forum (default: this channel)",
        "频道、子区或论坛（默认当前频道）",
    ),
    "option.public": ("public", "公开"),
    "option.public.description": ("Show it to everyone in the channel", "对频道里的所有人可见"),
    "webhook": ("webhook", "webhook"),
    "webhook.description": (
        "Post this channel's digests through a webhook (on) or as the bot (off)",
        "本频道的摘要通过 Webhook 发送（开）或由机器人发送（关）",
    ),
    "option.state": ("state", "状态"),
    "option.state.description": ("on or off", "开或关"),
    "choice.on": ("on", "开"),
    "choice.off": ("off", "关"),
    "mention": ("mention", "提及"),
    "mention.description": (
        "Mention a role on digest messages with a category's items (no role: stop)",
        "含有某分类条目的摘要消息提及一个角色（不选角色：停止）",
    ),
    "option.category": ("category", "分类"),
    "option.category.description": ("Category id or name", "分类 id 或名称"),
    "option.role": ("role", "角色"),
    "option.role.description": ("The role to mention (leave out to stop)", "要提及的角色（不选则停止）"),
}


def table_texts() -> dict[str, tuple[str, str]]:
    """Command and option names and descriptions, generated from the command table."""
    texts: dict[str, tuple[str, str]] = {}
    for spec in COMMANDS:
        texts[spec.name] = (spec.name, spec.zh_name)
        texts[f"{spec.name}.description"] = (spec.description.en, spec.description.zh)
        for arg in spec.args:
            texts[f"option.{arg.name}"] = (arg.name, arg.zh_name)
            texts[f"option.{arg.name}.description"] = (arg.about.en, arg.about.zh)
            texts.update((f"choice.{value}", (label, label)) for value, label in arg.choices)
    return texts


TEXTS: dict[str, tuple[str, str]] = {**OWN_TEXTS, **table_texts()}


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
