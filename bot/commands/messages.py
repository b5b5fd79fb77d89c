"""Every user-facing reply in Chinese and English, so the command service never hard-codes a language."""

from __future__ import annotations

from bot.commands.reader_texts import READER_MESSAGES

MESSAGES: dict[str, dict[str, str]] = {
    "welcome": {
        "zh": "你好！我会把 AI 新闻摘要推送到这个聊天，只推送你选择的分类。\n"
        "发送 /subscribe 订阅全部分类，或 /subscribe 机器人 就业市场 只订阅部分分类。\n"
        "/categories 选择分类，/schedule 选择推送时间，/help 查看全部命令。",
        "en": "Hi! I push AI news digests to this chat, only the categories you choose.\n"
        "Send /subscribe for every category, or /subscribe robotics jobs for some of them.\n"
        "/categories picks categories, /schedule picks delivery times, /help lists every command.",
    },
    "help": {
        "zh": "命令：\n{commands}\n分类：{categories}",
        "en": "Commands:\n{commands}\nCategories: {categories}",
    },
    "help_console": {
        "zh": "\nCtrl-D（在终端中）结束对话并停止机器人。",
        "en": "\nCtrl-D (in a terminal) ends the chat and stops the bot.",
    },
    "subscribed": {"zh": "已订阅：{categories}。", "en": "Subscribed: {categories}."},
    "resubscribed": {
        "zh": "已恢复订阅，关键词、推送时间等其他设置保持不变。\n{change}",
        "en": "Subscription resumed; keywords, schedule and other settings are unchanged.\n{change}",
    },
    "already_subscribed": {
        "zh": "这个聊天已经订阅了。\n{change}",
        "en": "This chat is already subscribed.\n{change}",
    },
    "categories_changed": {
        "zh": "分类：{before} → {after}。",
        "en": "Categories: {before} → {after}.",
    },
    "categories_kept": {
        "zh": "分类保持不变：{categories}。",
        "en": "Categories unchanged: {categories}.",
    },
    "categories_all_hint": {
        "zh": "\n发送 /subscribe all 改为全部分类，或 /subscribe 分类... 重新选择。",
        "en": "\nSend /subscribe all for every category, or /subscribe category... to choose again.",
    },
    "unsubscribed": {
        "zh": "已取消订阅。设置已保留，再次 /subscribe 即可恢复。",
        "en": "Unsubscribed. Your settings are kept; /subscribe again to resume.",
    },
    "not_subscribed": {
        "zh": "这个聊天还没有订阅。发送 /subscribe 开始。",
        "en": "This chat is not subscribed. Send /subscribe to start.",
    },
    "was_unsubscribed": {
        "zh": "这个聊天已取消订阅。发送 /subscribe 恢复，原有设置都还在。",
        "en": "This chat is unsubscribed. Send /subscribe to resume; its settings are kept.",
    },
    "unknown_categories": {
        "zh": "未知分类：{unknown}。可用分类：{valid}",
        "en": "Unknown categories: {unknown}. Valid categories: {valid}",
    },
    "all_categories": {"zh": "全部分类", "en": "all categories"},
    "picker": {
        "zh": "点选要接收的分类（都不选 = 全部），完成后点“完成”。\n当前：{categories}",
        "en": "Tap the categories you want (none = all), then “Done”.\nNow: {categories}",
    },
    "picker_done": {"zh": "分类已保存：{categories}。", "en": "Categories saved: {categories}."},
    "keywords_show": {
        "zh": "包含：{include}\n排除：{exclude}\n用法：/keywords +词 -词，或 /keywords clear",
        "en": "Include: {include}\nExclude: {exclude}\nUsage: /keywords +word -word, or /keywords clear",
    },
    "none": {"zh": "无", "en": "none"},
    "keywords_bad": {
        "zh": "关键词有误：{reason}。用法：/keywords +词 -词，或 /keywords clear",
        "en": "Bad keywords: {reason}. Usage: /keywords +word -word, or /keywords clear",
    },
    "schedule_set": {
        "zh": "推送时间：{schedule}（{timezone}）。",
        "en": "Schedule: {schedule} ({timezone}).",
    },
    "schedule_bad": {
        "zh": "推送时间有误：{reason}。用法：/schedule instant、/schedule at 08:00,20:00 Asia/Shanghai"
        " 或 /schedule weekly 周一 09:00",
        "en": "Bad schedule: {reason}. Usage: /schedule instant, /schedule at 08:00,20:00 Europe/Berlin"
        " or /schedule weekly Mon 09:00",
    },
    "quiet_set": {
        "zh": "免打扰：{quiet}。这段时间内到期的消息（包括定时推送）在结束后发出。",
        "en": "Quiet hours: {quiet}. Messages due then, scheduled posts included, go out when they end.",
    },
    "quiet_off": {"zh": "已关闭免打扰。", "en": "Quiet hours off."},
    "quiet_bad": {
        "zh": "免打扰时段有误：{reason}。用法：/quiet 22:00-07:00 或 /quiet off",
        "en": "Bad quiet hours: {reason}. Usage: /quiet 22:00-07:00 or /quiet off",
    },
    "language_set": {"zh": "语言已设为中文。", "en": "Language set to English."},
    "language_bad": {"zh": "用法：/language zh 或 /language en", "en": "Usage: /language zh or /language en"},
    "no_digest": {"zh": "还没有任何摘要。", "en": "No digest has arrived yet."},
    "latest_empty": {
        "zh": "最新一期（{title}）没有符合本聊天筛选的条目。",
        "en": "The latest digest ({title}) has no items matching this chat's filter.",
    },
    "latest": {"zh": "最新一期：{title}", "en": "Latest digest: {title}"},
    "status": {
        "zh": "状态：{status}\n分类：{categories}\n关键词：包含 {include}；排除 {exclude}\n"
        "推送：{schedule}（{timezone}）\n免打扰：{quiet}\n语言：{language}\n"
        "上次送达：{last_sent}\n待发送：{pending}{last_error}{reader}\n聊天 ID：{chat}",
        "en": "Status: {status}\nCategories: {categories}\nKeywords: include {include}; exclude {exclude}\n"
        "Schedule: {schedule} ({timezone})\nQuiet hours: {quiet}\nLanguage: {language}\n"
        "Last delivery: {last_sent}\nPending: {pending}{last_error}{reader}\nChat id: {chat}",
    },
    "status_active": {"zh": "正常", "en": "active"},
    "status_paused": {"zh": "已暂停（{reason}，{since}）", "en": "paused ({reason}, since {since})"},
    "status_unsubscribed": {"zh": "已取消订阅", "en": "unsubscribed"},
    "last_error": {"zh": "\n最近错误：{error}", "en": "\nLast error: {error}"},
    "never": {"zh": "尚无", "en": "never"},
    "not_allowed": {
        "zh": "抱歉，只有本聊天的管理员可以更改订阅。/latest、/status 和 /help 所有人都可以用。",
        "en": "Sorry, only this chat's administrators can change its subscription. "
        "Anyone may use /latest, /status and /help.",
    },
    "owner_only": {
        "zh": "这个命令只对机器人管理员开放。",
        "en": "This command is for the bot's owners only.",
    },
    "unknown_command": {
        "zh": "未知命令 /{name}。发送 /help 查看全部命令。",
        "en": "Unknown command /{name}. Send /help for the list.",
    },
    "too_long": {
        "zh": "参数太长（最多 {limit} 个字符）。",
        "en": "Arguments are too long (at most {limit} characters).",
    },
    "line_too_long": {
        "zh": "这一行超过 {limit} 字节，已忽略。",
        "en": "Line ignored: longer than {limit} bytes.",
    },
    "unavailable": {
        "zh": "暂时无法处理，请几分钟后再试。",
        "en": "Temporarily unavailable; please try again in a few minutes.",
    },
    "stats": {
        "zh": "订阅：\n{subscriptions}\n24 小时投递：{deliveries}\n{pending}\n最新摘要：{last_digest}\n"
        "数据库大小：{database}",
        "en": "Subscriptions:\n{subscriptions}\nDeliveries in 24 h: {deliveries}\n{pending}\n"
        "Last digest: {last_digest}\nDatabase size: {database}",
    },
    "console_welcome": {
        "zh": "digestbot 控制台：输入 /help 查看命令，/subscribe 开始订阅。",
        "en": "digestbot console: type /help for commands, /subscribe to start.",
    },
    "plain_text": {
        "zh": "命令以 / 开头，例如 /help 或 /subscribe。",
        "en": "Commands start with /, e.g. /help or /subscribe.",
    },
    "schedule_instant": {"zh": "即时，每期到达即推送", "en": "instant, each digest as it arrives"},
    "schedule_at": {"zh": "每天 {times}", "en": "daily at {times}"},
    "schedule_weekly": {
        "zh": "每{day} {time}，一周回顾",
        "en": "weekly roundup every {day} at {time}",
    },
    "weekdays": {
        "zh": "周一,周二,周三,周四,周五,周六,周日",
        "en": "Monday,Tuesday,Wednesday,Thursday,Friday,Saturday,Sunday",
    },
    "language_name": {"zh": "中文", "en": "English"},
    "stats_subscriptions": {"zh": "{platform} / {kind}：{counts}", "en": "{platform} / {kind}: {counts}"},
    "stats_last_digest": {
        "zh": "{title}（{source}/{id}），收到于 {stored}\n  投递：{deliveries}{took}",
        "en": "{title} ({source}/{id}), received {stored}\n  deliveries: {deliveries}{took}",
    },
    "stats_took": {"zh": "，用时 {seconds}", "en": ", took {seconds}"},
    "stats_pending": {"zh": "待发送（全部）：{count}", "en": "Waiting to be sent (all chats): {count}"},
    "paid_on": {
        "zh": "付费广播（{platform}）：开启，最多每秒 {rate:g} 条",
        "en": "Paid broadcasts ({platform}): on, up to {rate:g} messages/s",
    },
    "paid_off": {"zh": "付费广播（{platform}）：关闭", "en": "Paid broadcasts ({platform}): off"},
    "paid_fell_back": {
        "zh": "付费广播（{platform}）：已于 {at} 退回免费速率：{reason}",
        "en": "Paid broadcasts ({platform}): fell back to the free pace at {at}: {reason}",
    },
    "count": {"zh": "{label} {count}", "en": "{count} {label}"},
    "state_active": {"zh": "正常", "en": "active"},
    "state_paused": {"zh": "已暂停", "en": "paused"},
    "state_unsubscribed": {"zh": "已取消", "en": "unsubscribed"},
    "state_pending": {"zh": "待发送", "en": "pending"},
    "state_sending": {"zh": "发送中", "en": "sending"},
    "state_sent": {"zh": "已送达", "en": "sent"},
    "state_failed": {"zh": "失败", "en": "failed"},
    "state_skipped": {"zh": "跳过", "en": "skipped"},
    "state_interrupted": {"zh": "中断（可能已送达）", "en": "interrupted (may have arrived)"},
    "state_uncertain": {"zh": "结果未知（可能已送达）", "en": "uncertain (may have arrived)"},
    "state_expired": {"zh": "过期未发", "en": "expired"},
    "state_unexpanded": {"zh": "尚未排队（聊天）", "en": "chats not queued yet"},
    "seconds": {"zh": "{value:g} 秒", "en": "{value:g} s"},
    "slow_down": {
        "zh": "命令太频繁了：最多连续 {burst} 条，之后每 {seconds:g} 秒 1 条。"
        "请稍等片刻，期间的命令会被忽略。",
        "en": "Too many commands: at most {burst} in a row, then one every {seconds:g} s. "
        "Please wait a moment; commands sent meanwhile are ignored.",
    },
    "id": {
        "zh": "聊天 id：{chat}{topic}\n你的用户 id：{user}",
        "en": "Chat id: {chat}{topic}\nYour user id: {user}",
    },
    "id_topic": {"zh": "（话题 {thread}）", "en": " (topic {thread})"},
    "announce_usage": {
        "zh": "用法：/announce 公告内容（最多 1000 个字符）。先预览，确认后才发送。",
        "en": "Usage: /announce your message (at most 1000 characters). You get a preview; "
        "nothing is sent until you confirm.",
    },
    "announce_confirm_usage": {
        "zh": "用法：/announce confirm 编号（编号见预览消息）",
        "en": "Usage: /announce confirm ID (the ID is in the preview message)",
    },
    "announce_preview": {
        "zh": "公告 #{id} 预览见上。确认后将发给本平台 {count} 个正常订阅的聊天。",
        "en": "Announcement #{id}, previewed above, goes to {count} active chats on this platform "
        "once you confirm.",
    },
    "announce_button": {"zh": "发送给 {count} 个聊天", "en": "Send to {count} chats"},
    "announce_queued": {
        "zh": "公告 #{id} 已排队，发给 {count} 个聊天。",
        "en": "Announcement #{id} queued for {count} chats.",
    },
    "announce_already": {
        "zh": "公告 #{id} 已经发送过（{count} 个聊天），不会重复发送。",
        "en": "Announcement #{id} was already sent ({count} chats); it is not sent twice.",
    },
    "announce_unknown": {
        "zh": "没有编号为 #{id} 的公告草稿。",
        "en": "There is no announcement draft #{id}.",
    },
    "confirm_console": {"zh": "确认请发送：{command}", "en": "To confirm, send: {command}"},
    "forget_nothing": {
        "zh": "这个聊天没有任何存储的数据。",
        "en": "Nothing is stored about this chat.",
    },
    "forget_config": {
        "zh": "这个聊天是由机器人配置（broadcasts）订阅的，请让运营者从配置中删除。",
        "en": "This chat is subscribed by the bot's config (broadcasts); "
        "ask the operator to remove it there.",
    },
    "forget_usage": {
        "zh": "用法：/forget（会先请你确认）",
        "en": "Usage: /forget (you are asked to confirm first)",
    },
    "forget_ask": {
        "zh": "这将删除本聊天的全部数据：订阅及其设置（分类、关键词、推送时间、免打扰、语言）、"
        "投递记录和待发送的消息。无法撤销。确定吗？",
        "en": "This deletes everything stored about this chat: its subscription and settings (categories, "
        "keywords, schedule, quiet hours, language), its delivery history and queued messages. "
        "It cannot be undone. Are you sure?",
    },
    "forget_button": {"zh": "全部删除", "en": "Delete everything"},
    "forget_stale": {
        "zh": "这个确认已过期（订阅已变化）。请重新发送 /forget。",
        "en": "This confirmation has expired (the subscription changed). Send /forget again.",
    },
    "forgotten": {
        "zh": "已删除本聊天的订阅及设置、{deliveries} 条投递记录和 {payloads} 条仅属于它的消息内容。",
        "en": "Deleted this chat's subscription and settings, {deliveries} delivery records and "
        "{payloads} message bodies no other chat used.",
    },
    "search_usage": {
        "zh": "用法：/search 词...（例如 /search 人形机器人）。{reason}",
        "en": "Usage: /search words... (e.g. /search humanoid robot). {reason}",
    },
    "search_page_bad": {
        "zh": "页码应为 1 到 {limit} 之间的数字。",
        "en": "The page must be a number from 1 to {limit}.",
    },
    "search_expired": {
        "zh": "这次搜索已过期，请重新发送 /search。",
        "en": "This search has expired; send /search again.",
    },
    "search_results": {
        "zh": "搜索“{query}”，第 {page} 页（最新的在前）：\n{hits}",
        "en": "Search “{query}”, page {page} (newest first):\n{hits}",
    },
    "search_hit": {
        "zh": "{n}. {date} 第 {number} 条：{title}\n{link}",
        "en": "{n}. {date} item {number}: {title}\n{link}",
    },
    "search_none": {"zh": "没有找到“{query}”。", "en": "Nothing found for “{query}”."},
    "search_no_more": {
        "zh": "“{query}”没有更多结果了（第 {page} 页）。",
        "en": "No more results for “{query}” (page {page}).",
    },
    "search_recent": {
        "zh": "\n（少于 3 个字的词只搜索最近 {days} 天）",
        "en": "\n(words under 3 characters search only the last {days} days)",
    },
    "search_filtered": {
        "zh": "\n只包括本聊天订阅的分类：{categories}。",
        "en": "\nOnly this chat's categories: {categories}.",
    },
    "search_keywords": {
        "zh": "\n只包括本聊天的关键词筛选留下的条目（在最新的 {scan} 条匹配中）。",
        "en": "\nOnly items this chat's keywords let through (among the newest {scan} matches).",
    },
    "search_previous": {"zh": "◀ 上一页", "en": "◀ Previous"},
    "search_next": {"zh": "下一页 ▶", "en": "Next ▶"},
    "search_console": {"zh": "翻页：{commands}", "en": "More pages: {commands}"},
}

MESSAGES.update(READER_MESSAGES)


def text(key: str, language: str, /, **values: object) -> str:
    """The message `key` in `language` (zh or en; anything else falls back to English)."""
    variants = MESSAGES[key]
    template = variants["zh"] if language.startswith("zh") else variants["en"]
    return template.format(**values) if values else template
