"""How /status and /stats show stored values to a person: local times, sizes, labelled counts.

The store reports UTC datetimes, state names and byte counts; a chat reads them in its own time zone
and language, so nothing here returns a repr or an English state name to a Chinese chat.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.commands.messages import MESSAGES, text
from bot.core.schedule import parse_schedule


def when(moment: datetime | None, timezone: str) -> str:
    """`2025-11-20 20:00 CST`: a stored instant as the subscription's wall clock shows it."""
    if moment is None:
        return ""
    return moment.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M %Z").strip()


def schedule_text(schedule: str, language: str) -> str:
    """A stored schedule (`instant`, `at 08:00,20:00`, `weekly Mon 09:00`) in words: "daily at
    08:00, 20:00", "weekly roundup every Monday at 09:00"."""
    parsed = parse_schedule(schedule)
    if parsed.is_instant:
        return text("schedule_instant", language)
    if parsed.weekday is not None:
        day = text("weekdays", language).split(",")[parsed.weekday]
        return text("schedule_weekly", language, day=day, time=f"{parsed.times[0]:%H:%M}")
    separator = "、" if language.startswith("zh") else ", "
    times = separator.join(t.strftime("%H:%M") for t in parsed.times)
    return text("schedule_at", language, times=times)


# Pause reasons the platforms store (their API's words, English), in Chinese: (phrase, zh), first
# match wins, so a Chinese chat's /status does not explain itself in English. Unknown ones stay.
PAUSE_REASONS_ZH = (
    ("blocked by the user", "机器人被用户屏蔽"),
    ("kicked", "机器人被移出群组"),
    ("removed from the", "机器人被移出"),
    ("left the chat", "机器人已离开这个聊天"),
    ("no longer post in the channel", "机器人不再有权在频道发帖"),
    ("may not send messages", "机器人无权在这个聊天发消息"),
    ("chat not found", "找不到这个聊天"),
    ("not enough rights", "机器人权限不足"),
    ("have no rights", "机器人权限不足"),
    ("missing access", "机器人无法访问这个频道"),
    ("missing permissions", "机器人缺少这个频道的权限"),
    ("unknown channel", "频道已不存在"),
    ("channel was deleted", "频道已被删除"),
    ("thread was deleted", "帖子已被删除"),
    ("thread is archived", "帖子已归档"),
    ("cannot send messages to this user", "无法给这个用户发消息"),
)


def pause_reason(reason: str, language: str) -> str:
    """Why a subscription is paused, in the reader's language when the reason is a known one."""
    if language.startswith("zh"):
        folded = reason.casefold()
        return next((zh for phrase, zh in PAUSE_REASONS_ZH if phrase in folded), reason)
    return reason


def human_bytes(size: int) -> str:
    """A size as people read it, in binary units as `ls -h` counts them: 512 B, 1.5 MiB."""
    units = ("B", "KiB", "MiB", "GiB", "TiB")
    value, unit = float(size), 0
    while value >= 1024 and unit < len(units) - 1:
        value /= 1024
        unit += 1
    return f"{size} B" if unit == 0 else f"{value:.1f} {units[unit]}"


def counts(by_state: Mapping[str, int], language: str) -> str:
    """`sent 3, failed 1` (`已送达 3，失败 1`): every state labelled; none at all reads "none"."""
    separator = "，" if language.startswith("zh") else ", "
    shown = [
        text("count", language, label=state_label(state, language), count=count)
        for state, count in by_state.items()
        if count
    ]
    return separator.join(shown) or text("none", language)


def state_label(state: str, language: str) -> str:
    """A subscription or delivery state in the reader's language (an unknown one as it is)."""
    key = f"state_{state}"
    return text(key, language) if key in MESSAGES else state


def stats_text(stats: Mapping[str, Any], language: str, timezone: str) -> str:
    """The whole /stats reply: one line per platform and chat kind, labelled counts, local times."""
    lines = [
        "  "
        + text("stats_subscriptions", language, platform=platform, kind=kind, counts=counts(states, language))
        for platform, kinds in stats.get("subscriptions", {}).items()
        for kind, states in kinds.items()
    ]
    return text(
        "stats",
        language,
        subscriptions="\n".join(lines) or "  " + text("none", language),
        deliveries=counts(stats.get("deliveries_24h", {}), language),
        pending=text("stats_pending", language, count=stats.get("open", 0)),
        last_digest=_last_digest(stats.get("last_digest"), language, timezone),
        database=human_bytes(stats.get("database_bytes", 0)),
    )


def _last_digest(last: Mapping[str, Any] | None, language: str, timezone: str) -> str:
    if not last:
        return text("none", language)
    seconds = last.get("fanout_seconds")
    took = ""
    if seconds is not None:
        took = text("stats_took", language, seconds=text("seconds", language, value=seconds))
    return text(
        "stats_last_digest",
        language,
        title=last["title"],
        source=last["source"],
        id=last["id"],
        stored=when(last.get("stored_at"), timezone),
        deliveries=counts(last.get("deliveries", {}), language),
        took=took,
    )
