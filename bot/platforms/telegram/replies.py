"""Command replies into the chat (and topic) a command came from, paced by the shared rate limiter.

Replies are plain text (no parse_mode), so nothing a user typed can break them; the digest parts a
reply carries (/latest, rendered by the service with the Telegram renderer) are sent one by one,
falling back to plain text once if Telegram refuses the formatting, as the engine does for deliveries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from telegram import Bot, InlineKeyboardMarkup, LinkPreviewOptions, Message, ReplyParameters
from telegram.error import BadRequest, RetryAfter

from bot.commands.model import Reply
from bot.core.model import Vocabulary
from bot.delivery.outcome import FormatRejected, Target
from bot.delivery.ratelimit import RateLimiter
from bot.platforms.telegram.errors import outcome_for, retry_seconds
from bot.platforms.telegram.keyboards import confirm_keyboard, picker_keyboard
from bot.platforms.telegram.pages import pager_keyboard
from bot.platforms.telegram.render import TELEGRAM_TEXT, plain_telegram
from bot.platforms.telegram.sender import send_kwargs
from bot.platforms.telegram.spec import PLATFORM
from bot.render.limits import utf16_length

MAX_ATTEMPTS = 3
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
MAX_WAIT_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class Where:
    """Where a reply goes: the command's chat, its forum topic, and the message it answers."""

    chat_id: int
    kind: str
    thread_id: int | None = None
    reply_to: int | None = None

    def target(self) -> Target:
        thread = str(self.thread_id) if self.thread_id is not None else None
        return Target(PLATFORM, str(self.chat_id), thread, self.kind)


def split_text(text: str, limit: int = TELEGRAM_TEXT.max_size) -> list[str]:
    """Plain text cut into messages of at most `limit` UTF-16 units, at line breaks when possible."""
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        candidate = f"{current}\n{line}" if current else line
        if utf16_length(candidate) <= limit:
            current = candidate
            continue
        if current.strip():
            parts.append(current)
        current = ""
        while utf16_length(line) > limit:
            cut = limit
            while utf16_length(line[:cut]) > limit:
                cut -= 1
            parts.append(line[:cut])
            line = line[cut:]
        current = line
    if current.strip():
        parts.append(current)
    return parts or ["…"]


class ReplySender:
    """Sends replies; a 429 is honoured (the limiter is told) and retried a few times, then raised."""

    def __init__(self, bot: Bot, limiter: RateLimiter, vocabulary: Vocabulary, default_language: str) -> None:
        self._bot = bot
        self.limiter = limiter
        self._vocabulary = vocabulary
        self._default_language = default_language

    async def _send(self, where: Where, kwargs: dict[str, Any]) -> Message:
        attempt = 1
        while True:
            await self.limiter.acquire(PLATFORM, str(where.chat_id), where.kind, free=True)
            try:
                return await self._bot.send_message(**kwargs)
            except RetryAfter as exc:
                seconds = retry_seconds(exc)
                if attempt >= MAX_ATTEMPTS or seconds > MAX_WAIT_SECONDS:
                    raise
                self.limiter.penalize(PLATFORM, str(where.chat_id), seconds)
                attempt += 1

    async def text(
        self, where: Where, text: str, keyboard: InlineKeyboardMarkup | None = None, *, previews: bool = True
    ) -> None:
        """Plain text, split if needed; the keyboard rides on the last part. `previews=False` keeps
        Telegram from showing a card for the first link (a page of search hits)."""
        parts = split_text(text)
        for index, part in enumerate(parts):
            kwargs: dict[str, Any] = {"chat_id": where.chat_id, "text": part}
            if not previews:
                kwargs["link_preview_options"] = NO_PREVIEW
            if where.thread_id is not None:
                kwargs["message_thread_id"] = where.thread_id
            if where.reply_to is not None and index == 0:
                kwargs["reply_parameters"] = ReplyParameters(where.reply_to, allow_sending_without_reply=True)
            if keyboard is not None and index == len(parts) - 1:
                kwargs["reply_markup"] = keyboard
            await self._send(where, kwargs)

    async def digest_part(self, where: Where, payload: dict[str, Any]) -> None:
        """One rendered part; refused formatting is resent once as plain text."""
        try:
            await self._send(where, send_kwargs(where.target(), payload))
        except BadRequest as exc:
            if not isinstance(outcome_for(exc), FormatRejected):
                raise
            await self._send(where, send_kwargs(where.target(), plain_telegram(payload)))

    async def reply(self, where: Where, reply: Reply, *, language: str, target: str | None = None) -> None:
        """Everything a Reply carries: its digest parts (then, for a preview, its text with the
        confirm button), or its text with the picker keyboard."""
        for payload in reply.parts:
            await self.digest_part(where, payload)
        if reply.parts and reply.confirm is None:
            return
        keyboard = None
        if reply.picker is not None and not reply.picker.done:
            keyboard = picker_keyboard(reply.picker, reply.picker.language, target)
        elif reply.confirm is not None:
            keyboard = confirm_keyboard(reply.confirm, target)
        elif reply.pager is not None:
            keyboard = pager_keyboard(reply.pager, target)
        await self.text(where, reply.text, keyboard, previews=reply.pager is None)
