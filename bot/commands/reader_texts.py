"""Replies of the reader options (/format, /previews, /silent, /pin, silent quiet hours) in zh and en;
merged into messages.MESSAGES."""

from __future__ import annotations

READER_MESSAGES: dict[str, dict[str, str]] = {
    "option_unavailable": {
        "zh": "这个平台不支持 /{name}。",
        "en": "/{name} is not available on this platform.",
    },
    "option_show": {"zh": "{option}：{value}。\n{usage}", "en": "{option}: {value}.\n{usage}"},
    "option_pair": {"zh": "{option}：{value}", "en": "{option}: {value}"},
    "option_bad": {"zh": "无法识别“{arg}”。{usage}", "en": "Cannot read “{arg}”. {usage}"},
    "switch_on": {"zh": "开", "en": "on"},
    "switch_off": {"zh": "关", "en": "off"},
    "option_format": {"zh": "格式", "en": "Format"},
    "option_previews": {"zh": "链接预览", "en": "Link previews"},
    "option_silent": {"zh": "静音推送", "en": "Silent messages"},
    "option_pin": {"zh": "置顶最新摘要", "en": "Pin the latest digest"},
    "usage_format": {
        "zh": "用法：/format full（完整：标题、摘要、分类）或 /format compact（简洁：只有带链接的编号标题）",
        "en": "Usage: /format full (titles, summaries, categories) or /format compact "
        "(numbered linked titles only)",
    },
    "usage_previews": {
        "zh": "用法：/previews on 或 /previews off（摘要消息下是否显示链接预览）",
        "en": "Usage: /previews on or /previews off (link previews under digest messages)",
    },
    "usage_silent": {
        "zh": "用法：/silent on 或 /silent off（推送时不发通知）",
        "en": "Usage: /silent on or /silent off (digests arrive without a notification)",
    },
    "usage_pin": {
        "zh": "用法：/pin on 或 /pin off（置顶每期摘要的第一条消息，并取消上一期的置顶）",
        "en": "Usage: /pin on or /pin off (pin each digest's first message, unpinning the previous one)",
    },
    "format_full": {"zh": "完整", "en": "full"},
    "format_compact": {"zh": "简洁", "en": "compact"},
    "format_set": {
        "zh": "格式已设为：{value}。从下一期摘要开始生效。",
        "en": "Format set to {value}, from the next digest on.",
    },
    "previews_default": {"zh": "按机器人的默认设置", "en": "the bot's default"},
    "previews_set": {
        "zh": "链接预览：{value}。从下一期摘要开始生效。",
        "en": "Link previews: {value}, from the next digest on.",
    },
    "silent_set": {
        "zh": "静音推送：{value}。从下一期摘要开始生效。",
        "en": "Silent messages: {value}, from the next digest on.",
    },
    "pin_set": {
        "zh": "置顶最新摘要：{value}。",
        "en": "Pin the latest digest: {value}.",
    },
    "pin_not_here": {
        "zh": "置顶只用于频道。请在私聊中发送 /pin @频道名 on。",
        "en": "Pinning works in channels only: send /pin @channelname on in a private chat with me.",
    },
    "quiet_set_silent": {
        "zh": "免打扰：{quiet}。这段时间内的消息照常发出，但不发通知。",
        "en": "Quiet hours: {quiet}. Messages then still go out, without a notification.",
    },
    "quiet_silent_unavailable": {
        "zh": "这个平台不支持静音免打扰。请用 /quiet HH:MM-HH:MM（期间暂停发送）。",
        "en": "Silent quiet hours are not available on this platform; "
        "use /quiet HH:MM-HH:MM (holds messages).",
    },
}
