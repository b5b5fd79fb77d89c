"""Replies only the Telegram adapter gives (channel management, buttons, menus), in zh and en."""

from __future__ import annotations

MESSAGES: dict[str, dict[str, str]] = {
    "channel_not_found": {
        "zh": "找不到频道 {channel}。请确认名称或 ID 正确，并且已把我加为该频道的管理员。",
        "en": "Channel {channel} was not found. Check the name or id, and add me to it as an administrator.",
    },
    "not_a_channel": {
        "zh": "{channel} 不是频道。群组请直接在群里发送命令。",
        "en": "{channel} is not a channel. For a group, send the command in the group itself.",
    },
    "bot_not_admin": {
        "zh": "我还不是频道 {channel} 的管理员，或没有“发布消息”权限。"
        "请先在频道设置中把我设为管理员并允许发布消息。",
        "en": "I am not an administrator of {channel} with the right to post messages. "
        "Make me an administrator there with “Post messages” enabled first.",
    },
    "user_not_admin": {
        "zh": "只有频道 {channel} 的管理员可以管理它的订阅。",
        "en": "Only administrators of {channel} can manage its subscription.",
    },
    "rights_unverifiable": {
        "zh": "我已无法确认谁是频道 {channel} 的管理员（我不再是那里的管理员）。"
        "订阅者仍可使用 /status 和 /unsubscribe；要更改其他设置，请先重新把我设为管理员。",
        "en": "I can no longer check who administers {channel} (I am not an administrator there any more). "
        "Whoever subscribed it can still use /status and /unsubscribe; make me an administrator again "
        "to change anything else.",
    },
    "bot_cannot_pin": {
        "zh": "我在这个频道没有置顶消息的权限。请在频道设置中给我“编辑消息”管理员权限，然后再发送 /pin on。",
        "en": "I may not pin messages in this channel. Give me the “Edit messages” administrator right "
        "there, then send /pin on again.",
    },
    "channels_in_private": {
        "zh": "请在与我的私聊中管理频道，例如：/subscribe @频道名 机器人",
        "en": "Manage a channel from a private chat with me, for example: /subscribe @channelname robotics",
    },
    "telegram_failed": {
        "zh": "Telegram 暂时没有响应，请稍后再试。",
        "en": "Telegram did not answer as expected; please try again shortly.",
    },
    "internal_error": {
        "zh": "出错了，请稍后再试。",
        "en": "Something went wrong; please try again shortly.",
    },
    "button_expired": {
        "zh": "这个按钮已失效，请重新发送 /categories。",
        "en": "This button has expired; send /categories again.",
    },
    "all": {"zh": "全部", "en": "All"},
    "done": {"zh": "完成", "en": "Done"},
}


def tr(key: str, language: str, **values: object) -> str:
    """The adapter message `key` in `language` (zh, anything else English)."""
    variants = MESSAGES[key]
    template = variants["zh"] if language.startswith("zh") else variants["en"]
    return template.format(**values) if values else template
