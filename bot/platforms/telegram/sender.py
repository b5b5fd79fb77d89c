"""The engine's Sender for Telegram: one rendered payload -> one sendMessage -> one outcome.

No rate limiting happens here: the delivery engine paces digest sends with the configured limits
and reacts to RetryAfter itself, so a second limiter in PTB would only double the waits and hide
429s from the engine (see `adapter.TelegramPlatform`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from telegram import Bot, LinkPreviewOptions
from telegram.error import TelegramError

from bot.delivery.outcome import Outcome, Payload, Sent, Target
from bot.delivery.outcome import RetryAfter as RetryLater
from bot.platforms.telegram.errors import outcome_for
from bot.platforms.telegram.paid import PaidBroadcast, is_paid_refusal
from bot.platforms.telegram.render import plain_telegram
from bot.store.deliveries import Delivery

if TYPE_CHECKING:
    from bot.platforms.telegram.pins import Pinner

# sendMessage parameters a rendered payload may carry; anything else is a renderer bug.
PAYLOAD_KEYS = frozenset(
    {"text", "parse_mode", "link_preview_options", "disable_notification", "protect_content"}
)


def chat_id_param(chat_id: str) -> int | str:
    """Numeric ids go out as integers; `@username` (public channels) stays a string."""
    try:
        return int(chat_id)
    except ValueError:
        return chat_id


def send_kwargs(target: Target, payload: Payload) -> dict[str, Any]:
    """The keyword arguments of `Bot.send_message` for one payload sent to one target."""
    unknown = sorted(set(payload) - PAYLOAD_KEYS)
    if unknown:
        raise ValueError(f"telegram payload has unsupported keys: {', '.join(unknown)}")
    if not isinstance(payload.get("text"), str):
        raise ValueError("telegram payload needs a 'text' string")
    kwargs: dict[str, Any] = dict(payload)
    previews = kwargs.get("link_preview_options")
    if isinstance(previews, dict):
        kwargs["link_preview_options"] = LinkPreviewOptions(**previews)
    kwargs["chat_id"] = chat_id_param(target.chat_id)
    if target.thread_id:
        kwargs["message_thread_id"] = int(target.thread_id)
    return kwargs


class TelegramSender:
    """Sends digest parts with the application's bot; every Telegram error becomes an outcome."""

    platform = "telegram"

    def __init__(self, bot: Bot, pins: Pinner | None = None, *, paid: PaidBroadcast | None = None) -> None:
        self._bot = bot
        self._pins = pins
        self._paid = paid or PaidBroadcast(False)

    async def send(self, target: Target, payload: Payload) -> Outcome:
        kwargs = send_kwargs(target, payload)
        paid = self._paid.active
        if paid:
            kwargs["allow_paid_broadcast"] = True
        try:
            message = await self._bot.send_message(**kwargs)
        except TelegramError as exc:
            if paid and is_paid_refusal(exc.message):  # nothing was sent: retry the row, unpaid
                self._paid.refused(exc.message)
                return RetryLater(0.0)
            return outcome_for(exc)
        return Sent(str(message.message_id))

    def plain(self, payload: Payload) -> Payload:
        return plain_telegram(payload)

    async def after_sent(self, target: Target, delivery: Delivery, message_id: str) -> None:
        """The engine's follow-up on a pinning subscription's first part: pins.Pinner pins it."""
        if self._pins is not None:
            await self._pins.after_sent(target, delivery, message_id)
