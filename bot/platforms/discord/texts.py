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
