"""Replies only the Discord adapter gives (permissions, channel types), in Chinese and English.

Everything about subscriptions comes from the command service; these are the Discord-specific
refusals that happen before a Command is built.
"""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    # key -> (English, Chinese)
    "missing_permissions": (
        "I can't deliver to {channel}: I'm missing {permissions} there. "
        "Give me these permissions in the channel settings, then subscribe again.",
        "我无法向 {channel} 推送：我在那里缺少权限：{permissions}。请在频道设置中授予这些权限后再订阅。",
    ),
    "unsupported_channel": (
        "{channel} can't receive digests: use a text, announcement or forum channel, a thread, "
        "or a DM with me.",
        "{channel} 无法接收摘要：请使用文字频道、公告频道、论坛频道、子区，或与我的私信。",
    ),
    "menu_prompt": (
        "Pick the categories this channel should receive (none = all); "
        "the choice is saved when you close the menu.",
        "选择这个频道要接收的分类（都不选 = 全部），关闭菜单时保存。",
    ),
    "menu_not_yours": (
        "This menu belongs to another member or channel; nothing was changed. "
        "Open your own with /digest categories.",
        "这个菜单属于其他成员或频道，未做任何更改。请用 /摘要 分类 打开你自己的菜单。",
    ),
    "menu_expired": (
        "This menu has expired; nothing was changed. Open it again with /digest categories.",
        "这个菜单已失效，未做任何更改。请重新用 /摘要 分类 打开。",
    ),
    "button_not_yours": (
        "This button belongs to another member or channel; nothing was done.",
        "这个按钮属于其他成员或频道，未执行任何操作。",
    ),
    "categories_placeholder": ("Categories (none selected = all)", "分类（都不选 = 全部）"),
    "failed": (
        "Something went wrong while handling that command; please try again.",
        "处理命令时出错，请稍后再试。",
    ),
    "not_manager": (
        "Only members with Manage Channels in {channel} may change this.",
        "只有在 {channel} 拥有“管理频道”权限的成员才能更改此设置。",
    ),
    "not_subscribed": (
        "{channel} has no subscription yet: use /digest subscribe there first.",
        "{channel} 还没有订阅：请先在那里使用 /摘要 订阅。",
    ),
    "webhook_channel": (
        "Webhook delivery works in text and announcement channels only, not in {channel}.",
        "Webhook 推送只能用于文字频道和公告频道，{channel} 不行。",
    ),
    "webhook_permission": (
        "I can't create a webhook in {channel}: I'm missing Manage Webhooks there. "
        "Give me that permission in the channel settings, then try again.",
        "我无法在 {channel} 创建 Webhook：我在那里缺少“管理 Webhook”权限。请在频道设置中授予后再试。",
    ),
    "webhook_refused": (
        "Discord refused to create a webhook in {channel} ({reason}); digests keep coming from me.",
        "Discord 拒绝在 {channel} 创建 Webhook（{reason}），摘要仍由我直接发送。",
    ),
    "webhook_on": (
        "Digests in {channel} now come through a webhook named “{name}”.",
        "{channel} 的摘要现在通过名为“{name}”的 Webhook 发送。",
    ),
    "webhook_off": (
        "Digests in {channel} come from me again; the webhook was removed.",
        "{channel} 的摘要重新由我直接发送，Webhook 已删除。",
    ),
    "server_only": (
        "Webhook delivery and role mentions work in server channels only.",
        "Webhook 推送和角色提及只能用于服务器频道。",
    ),
    "mention_unknown": (
        "Unknown category “{name}”. Valid categories: {valid}",
        "未知分类“{name}”。可用分类：{valid}",
    ),
    "mention_everyone": (
        "I never mention @everyone or @here: pick a role.",
        "我从不提及 @everyone 或 @here：请选择一个角色。",
    ),
    "mention_on": (
        "Digest messages with {category} items now mention {role} at the top.",
        "含有“{category}”条目的摘要消息现在会在开头提及 {role}。",
    ),
    "mention_off": (
        "Digest messages with {category} items no longer mention a role.",
        "含有“{category}”条目的摘要消息不再提及任何角色。",
    ),
    "mention_silent": (
        " Note: {role} is not mentionable and I lack Mention @everyone, so Discord will show the "
        "mention without notifying anyone.",
        " 注意：{role} 不允许被提及，而我没有“提及 @everyone”权限，Discord 会显示提及但不会通知任何人。",
    ),
    "forum_needs_tag": (
        "{channel} requires a tag on every post, and none of its tags ({tags}) is named like these "
        "categories or the configured discord.forum_tag. Add a tag named like a category, then "
        "subscribe again.",
        "{channel} 要求每个帖子都带标签，但它的标签（{tags}）没有一个与这些分类或配置的 discord.forum_tag "
        "同名。请添加一个与分类同名的标签后再订阅。",
    ),
    "status_webhook": ("Webhook delivery: on, as “{name}”", "Webhook 推送：已开启，名称“{name}”"),
    "status_webhook_fallback": (
        "Webhook delivery: off since {reason}; digests come from me (/digest webhook on tries again)",
        "Webhook 推送：已停用（{reason}），摘要由我直接发送（/摘要 webhook 开 可重试）",
    ),
    "status_mentions": ("Role mentions: {mentions}", "角色提及：{mentions}"),
}

# Why a channel's webhook delivery went back to the bot's own messages (WebhookSetting.fallback).
FALLBACKS: dict[str, tuple[str, str]] = {
    "recreate_failed": (
        "the webhook was deleted and could not be created again ({detail})",
        "Webhook 被删除且无法重新创建（{detail}）",
    ),
    "deleted_twice": ("the webhook was deleted twice", "Webhook 被删除了两次"),
}

PERMISSION_NAMES: dict[str, tuple[str, str]] = {
    "view_channel": ("View Channel", "查看频道"),
    "send_messages": ("Send Messages", "发送消息"),
    "send_messages_in_threads": ("Send Messages in Threads", "在子区中发送消息"),
    "embed_links": ("Embed Links", "嵌入链接"),
}


def text(key: str, language: str, **values: object) -> str:
    english, chinese = MESSAGES[key]
    return (chinese if language == "zh" else english).format(**values)


def permission_names(names: list[str], language: str) -> str:
    index = 1 if language == "zh" else 0
    return ("、" if language == "zh" else ", ").join(PERMISSION_NAMES[name][index] for name in names)


def fallback_reason(key: str, detail: str, language: str) -> str:
    """A webhook fall-back's reason in `language` (an unknown key, from a later release: as stored)."""
    english, chinese = FALLBACKS.get(key, (key, key))
    return (chinese if language == "zh" else english).format(detail=detail)
