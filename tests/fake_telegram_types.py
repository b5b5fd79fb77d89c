"""The Bot API's data as the fake Telegram server keeps it: error answers, flood rules, sent messages.

Tests inject these (`fake.fail(chat, blocked)`) and inspect them (`FakeMessage.visible`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]
BOT_ID = 5_000_001
BOT_USERNAME = "digest_test_bot"
MAX_CALLBACK_BYTES = 64
# Parameters whose form value is a raw string even when it looks like JSON (a text "123" stays text).
STRING_KEYS = frozenset(
    {"text", "parse_mode", "callback_query_id", "language_code", "url", "secret_token", "caption"}
)
WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"

# The member rights getChatMember fills in for an administrator and for a restricted member.
ADMIN_RIGHTS = (
    "can_manage_chat",
    "can_delete_messages",
    "can_manage_video_chats",
    "can_restrict_members",
    "can_promote_members",
    "can_change_info",
    "can_invite_users",
    "can_post_stories",
    "can_edit_stories",
    "can_delete_stories",
)
RESTRICTED_RIGHTS = (
    "can_send_messages",
    "can_send_audios",
    "can_send_documents",
    "can_send_photos",
    "can_send_videos",
    "can_send_video_notes",
    "can_send_voice_notes",
    "can_send_polls",
    "can_send_other_messages",
    "can_add_web_page_previews",
    "can_change_info",
    "can_invite_users",
    "can_pin_messages",
    "can_manage_topics",
    "can_edit_tag",
    "can_react_to_messages",
)


class ApiError(Exception):
    """An error answer: HTTP status, Telegram description and optional response parameters."""

    def __init__(self, status: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters


def blocked() -> ApiError:
    return ApiError(403, "Forbidden: bot was blocked by the user")


def kicked() -> ApiError:
    return ApiError(403, "Forbidden: bot was kicked from the group chat")


def chat_not_found() -> ApiError:
    return ApiError(400, "Bad Request: chat not found")


def flood(retry_after: int) -> ApiError:
    return ApiError(429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after})


def balance_too_low() -> ApiError:
    """A paid broadcast the bot's Stars cannot pay for: MTProto's BALANCE_TOO_LOW as the Bot API
    server passes it on."""
    return ApiError(400, "Bad Request: BALANCE_TOO_LOW")


def migrated(new_chat_id: int) -> ApiError:
    return ApiError(
        400, "Bad Request: group chat was upgraded to a supergroup chat", {"migrate_to_chat_id": new_chat_id}
    )


def server_error() -> ApiError:
    return ApiError(500, "Internal Server Error")


def utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


@dataclass
class FloodRules:
    """Telegram's flood limits as token buckets; `enabled=False` turns the checks off."""

    enabled: bool = True
    per_chat_per_second: float = 1.0
    per_chat_burst: float = 3.0
    global_per_second: float = 30.0
    global_burst: float = 30.0
    group_per_minute: float = 20.0
    group_burst: float = 20.0
    # Sends with allow_paid_broadcast skip the global limit above for this one (per chat/group stay).
    paid_per_second: float = 1000.0
    paid_burst: float = 1000.0


@dataclass
class Bucket:
    rate: float
    capacity: float
    tokens: float
    stamp: float

    def wait(self, now: float) -> float:
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate


@dataclass
class FakeMessage:
    """A message the bot sent (and maybe edited); `text` is what the bot sent, `visible` what shows."""

    message_id: int
    chat_id: int
    thread_id: int | None
    text: str
    visible: str
    parse_mode: str | None
    reply_markup: JSON | None
    date: int
    edits: int = 0
    params: JSON = field(default_factory=dict)

    def buttons(self) -> list[JSON]:
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [button for row in rows for button in row]


@dataclass(frozen=True)
class Refused:
    """A send answered with 429 by the flood rules (not by an injected fault)."""

    chat_id: int
    retry_after: int
    rule: str


def texts(messages: Iterable[FakeMessage]) -> list[str]:
    return [message.visible for message in messages]
