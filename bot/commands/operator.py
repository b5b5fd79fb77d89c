"""Operator commands: /id, /announce (owners; preview, then confirm) and /forget (managers; confirm).

Both confirmations are a second command, `/<name> confirm <token>`, which the chat platforms'
buttons send on the presser's behalf and the console user types: the service checks who may run it
like any command, and the store makes the confirm idempotent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from bot.commands.messages import text
from bot.commands.model import Command, Confirm, Reply
from bot.platforms import registry
from bot.store.db import Store
from bot.store.deliveries import StoredPayload
from bot.store.subscriptions import Subscription

log = logging.getLogger(__name__)
MAX_ANNOUNCEMENT = 1000  # characters: escaped, it still fits one message on every platform
MAX_TOKEN_DIGITS = 18


def _confirm_token(command: Command) -> int | None:
    """The id in `confirm <id>`, or None when the arguments are anything else."""
    args = command.args
    if (
        len(args) == 2
        and args[0].lower() == "confirm"
        and args[1].isdigit()
        and len(args[1]) <= MAX_TOKEN_DIGITS
    ):
        return int(args[1])
    return None


def plain_message(platform: str, body: str) -> dict[str, Any]:
    """`body` as one message of `platform`, exactly as typed (its markup escaped)."""
    return registry.get(platform).plain_message(body)


class OperatorHandlers:
    """The operator commands' handlers; the service's constructor sets the state declared here."""

    store: Store
    _on_change: Callable[[], None]
    _on_enqueued: Callable[[], None]

    async def id(self, command: Command, sub: Subscription | None, language: str) -> Reply:
        chat = command.chat
        topic = text("id_topic", language, thread=chat.thread_id) if chat.thread_id else ""
        return Reply(text("id", language, chat=chat.chat_id, topic=topic, user=command.caller.user_id))

    async def announce(self, command: Command, sub: Subscription | None, language: str) -> Reply:
        """A draft and its preview with a confirm button; `confirm ID` queues it to every active chat."""
        platform = command.chat.platform
        token = _confirm_token(command)
        if token is not None:
            return await self._send_announcement(command, token, language)
        if len(command.args) <= 2 and command.args[:1] and command.args[0].lower() == "confirm":
            return Reply(text("announce_confirm_usage", language), error=True)  # `confirm x`: a typo
        body = (command.text or " ".join(command.args)).strip()
        if not body:
            return Reply(text("announce_usage", language), error=True)
        if len(body) > MAX_ANNOUNCEMENT:
            return Reply(text("too_long", language, limit=MAX_ANNOUNCEMENT), error=True)
        draft = await self.store.draft_announcement(platform, body, command.caller.user_id)
        count = await self.store.active_count(platform)
        button = text("announce_button", language, count=count)
        return Reply(
            text("announce_preview", language, count=count, id=draft),
            parts=(plain_message(platform, body),),
            confirm=Confirm("announce", str(draft), button),
        )

    async def _send_announcement(self, command: Command, draft: int, language: str) -> Reply:
        platform = command.chat.platform
        body = await self.store.announcement_text(draft, platform)
        if body is None:
            return Reply(text("announce_unknown", language, id=draft), error=True)
        payload = StoredPayload.of(plain_message(platform, body))
        done = await self.store.confirm_announcement(draft, platform, payload)
        if done.already:
            return Reply(text("announce_already", language, id=draft, count=done.recipients))
        log.info(
            "announcement #%d queued for %d %s chats by user %s",
            draft,
            done.recipients,
            platform,
            command.caller.user_id,
        )
        self._on_enqueued()
        return Reply(text("announce_queued", language, id=draft, count=done.recipients))

    async def forget(self, command: Command, sub: Subscription | None, language: str) -> Reply:
        """Asks first; `confirm ID` (the subscription's id, so an old button cannot delete a newer
        subscription) deletes the subscription, its ledger rows and the bodies only it used."""
        if sub is None:
            return Reply(text("forget_nothing", language))
        if sub.origin == "config":
            return Reply(text("forget_config", language), error=True)
        token = _confirm_token(command)
        if token is None and command.args:
            return Reply(text("forget_usage", language), error=True)
        if token is None:
            return Reply(
                text("forget_ask", language),
                confirm=Confirm("forget", str(sub.id), text("forget_button", language)),
            )
        if token != sub.id:
            return Reply(text("forget_stale", language), error=True)
        gone = await self.store.forget(sub.id)
        self._on_change()
        log.info(
            "forgot subscription %d (%s chat %s) at a manager's request", sub.id, sub.platform, sub.chat_id
        )
        return Reply(text("forgotten", language, deliveries=gone.deliveries, payloads=gone.payloads))
