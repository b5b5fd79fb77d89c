"""/pin in channels: the first message of each new digest is pinned (without a notification) and the
previous digest's pin removed, by message id, so pins the channel's own admins made stay.

The bot needs the "Edit messages" administrator right of a channel to pin there (Telegram's
`can_edit_messages`; groups would need `can_pin_messages`): `/pin on` checks it with getChatMember,
like permissions.py. A pin refused later (the right was taken away) is logged once per chat until a
pin works again; the digest itself was sent and stays.
"""

from __future__ import annotations

import logging

from telegram import Bot, ChatMemberAdministrator
from telegram.error import BadRequest, Forbidden, TelegramError

from bot.commands.model import Command
from bot.commands.reader import switch_value
from bot.delivery.outcome import Target
from bot.platforms.telegram.body import chat_id_param
from bot.store.db import Store
from bot.store.deliveries import Delivery

log = logging.getLogger(__name__)


async def can_pin(bot: Bot, chat_id: str) -> bool:
    """Whether the bot may pin messages in the channel `chat_id`; network errors propagate."""
    try:
        me = await bot.get_chat_member(chat_id_param(chat_id), bot.id)
    except (BadRequest, Forbidden):
        return False
    return isinstance(me, ChatMemberAdministrator) and bool(me.can_edit_messages or me.can_pin_messages)


async def pin_refusal(bot: Bot, command: Command) -> str | None:
    """The key of the refusal `/pin on` gets in a channel where the bot cannot pin, else None."""
    turning_on = len(command.args) == 1 and switch_value(command.args[0]) is True
    if command.name != "pin" or not turning_on or command.chat.kind != "channel":
        return None
    return None if await can_pin(bot, command.chat.chat_id) else "bot_cannot_pin"


class Pinner:
    """The sender's `after_sent` follow-up: pin the new digest's first message, unpin the previous."""

    def __init__(self, bot: Bot, store: Store) -> None:
        self._bot = bot
        self._store = store
        self._refused: set[int] = set()  # subscriptions whose last pin was refused (logged once)

    async def after_sent(self, target: Target, delivery: Delivery, message_id: str) -> None:
        subscription_id = delivery.subscription_id
        if subscription_id is None:
            return
        sub = await self._store.get_subscription_by_id(subscription_id)
        if sub is None or not sub.pin:  # switched off since the row was claimed
            return
        chat = chat_id_param(target.chat_id)
        try:
            await self._bot.pin_chat_message(chat, int(message_id), disable_notification=True)
        except TelegramError as exc:
            if subscription_id not in self._refused:
                self._refused.add(subscription_id)
                log.warning(
                    "telegram: cannot pin the digest in chat %s (the message stays): %s: %s",
                    target.chat_id,
                    type(exc).__name__,
                    exc.message,
                )
            return
        self._refused.discard(subscription_id)
        await self._store.set_pinned(subscription_id, message_id)
        previous = sub.pinned_message_id
        if previous is None or previous == message_id:
            return
        try:
            await self._bot.unpin_chat_message(chat, message_id=int(previous))
        except TelegramError as exc:  # deleted meanwhile, or unpinned by hand: nothing to undo
            log.info(
                "telegram: previous pin %s in chat %s not removed: %s", previous, target.chat_id, exc.message
            )
