"""The engine's Sender for Telegram: one rendered payload -> one sendMessage -> one outcome.

Digest sends go through the lean JSON client (bot_api.py), not PTB: see there for why. No rate
limiting happens here: the delivery engine paces digest sends with the configured limits and reacts
to RetryAfter itself. With paid broadcasts on, each send asks for them; a refusal of the paid send
itself switches them off and the row goes again at the free pace, its attempt not counted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from telegram import LinkPreviewOptions

from bot.delivery.outcome import Outcome, Payload, RetryAfter, Target
from bot.platforms.telegram.body import Bodies, chat_id_param, check_payload
from bot.platforms.telegram.bot_api import BotApi
from bot.platforms.telegram.paid import PaidBroadcast, is_paid_refusal
from bot.platforms.telegram.render import plain_telegram
from bot.store.deliveries import Delivery

if TYPE_CHECKING:
    from bot.platforms.telegram.pins import Pinner


def send_params(target: Target, payload: Payload) -> dict[str, Any]:
    """The sendMessage parameters (JSON-ready) of one payload sent to one target; digest sends
    encode the same parameters through body.Bodies."""
    check_payload(payload)
    params: dict[str, Any] = dict(payload)
    params["chat_id"] = chat_id_param(target.chat_id)
    if target.thread_id:
        params["message_thread_id"] = int(target.thread_id)
    return params


def send_kwargs(target: Target, payload: Payload) -> dict[str, Any]:
    """The keyword arguments of PTB's `Bot.send_message` for the same message (command replies)."""
    kwargs = send_params(target, payload)
    previews = kwargs.get("link_preview_options")
    if isinstance(previews, dict):
        kwargs["link_preview_options"] = LinkPreviewOptions(**previews)
    return kwargs


class TelegramSender:
    """Sends digest parts through the lean client; every Telegram error becomes an outcome."""

    platform = "telegram"

    def __init__(self, api: BotApi, paid: PaidBroadcast | None = None, pins: Pinner | None = None) -> None:
        self._api = api
        self._paid = paid
        self._pins = pins
        self._bodies = Bodies()

    async def send(self, target: Target, payload: Payload) -> Outcome:
        paid = self._paid if self._paid is not None and self._paid.active else None
        body = self._bodies.body(target, payload, paid=paid is not None)
        outcome, description = await self._api.send_message(body)
        if paid is not None and description is not None and is_paid_refusal(description):
            paid.refused(description)
            return RetryAfter(0.0)
        return outcome

    def plain(self, payload: Payload) -> Payload:
        return plain_telegram(payload)

    async def after_sent(self, target: Target, delivery: Delivery, message_id: str) -> None:
        """The engine's follow-up on a pinning subscription's first part: pins.Pinner pins it."""
        if self._pins is not None:
            await self._pins.after_sent(target, delivery, message_id)
