"""The platform-neutral command service: one Command in, one Reply out, for every platform.

Adapters only translate platform updates into Commands (deciding who may manage a chat) and render
Replies; every rule about subscriptions lives here so every platform and the console agree. The
command table (table.py) says which handler runs and who may run it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping

from bot.commands.language import choose_language
from bot.commands.latest import LatestRenderer
from bot.commands.messages import text
from bot.commands.model import ChatRef, Command, Reply
from bot.commands.operator import OperatorHandlers
from bot.commands.paid_status import PaidStatus
from bot.commands.reader import ReaderHandlers
from bot.commands.search import SearchHandlers
from bot.commands.table import BY_NAME, COMMANDS, Access
from bot.core.clock import Clock, SystemClock
from bot.core.model import Vocabulary
from bot.platforms import registry
from bot.render import Renderer
from bot.store.db import Store, StoreUnavailable
from bot.store.subscriptions import Subscription

log = logging.getLogger(__name__)
REFUSALS = {Access.MANAGERS: "not_allowed", Access.OWNERS: "owner_only"}


class CommandService(SearchHandlers, OperatorHandlers, ReaderHandlers):
    """Handles commands against the store; `on_change` wakes the scheduler after schedule edits.

    `clock` is the app's one clock (the system clock when None). `renderers` (platform -> renderer)
    are the ones deliveries use, with the operator's link-preview and embed choices, so /latest
    looks like the scheduled posts. `secrets` are scrubbed from /status's last error like from the
    logs (platform errors may quote a request URL). `on_enqueued` wakes the delivery engine
    when a command wrote ledger rows (a confirmed announcement).
    """

    def __init__(
        self,
        store: Store,
        vocabulary: Vocabulary,
        *,
        renderers: Mapping[str, Renderer],
        clock: Clock | None = None,
        default_language: str = "zh",
        default_timezone: str = "UTC",
        on_change: Callable[[], None] | None = None,
        secrets: Iterable[str] = (),
        on_enqueued: Callable[[], None] | None = None,
    ) -> None:
        self.store = store
        self.vocabulary = vocabulary
        self.commands = COMMANDS
        self.default_language = default_language
        self.default_timezone = default_timezone
        self._clock = clock or SystemClock()
        self._secrets = tuple(secrets)
        self._latest = LatestRenderer(store, vocabulary, renderers)
        self._on_change = on_change or (lambda: None)
        self._on_enqueued = on_enqueued or (lambda: None)
        self.paid_broadcasts: dict[str, PaidStatus] = {}  # platform -> its switch, for /stats
        self.reader_options = registry.reader_options()
        self.pin_kinds = registry.pin_kinds()

    async def handle(self, command: Command) -> Reply:
        """Dispatch one command; bad arguments come back as an error Reply, never as an exception,
        and so does a failing database (logged once by the store): "temporarily unavailable"."""
        try:
            return await self._dispatch(command)
        except StoreUnavailable:
            return Reply(text("unavailable", self._language(command, None)), error=True)

    async def _dispatch(self, command: Command) -> Reply:
        subscription = await self._subscription(command)
        language = self._language(command, subscription)
        spec = BY_NAME.get(command.name)
        if spec is None:
            return Reply(text("unknown_command", language, name=command.name[:32]), error=True)
        if max(sum(len(a) for a in command.args), len(command.text)) > spec.max_chars:
            return Reply(text("too_long", language, limit=spec.max_chars), error=True)
        if not allowed(spec.access, command):
            return Reply(text(REFUSALS[spec.access], language), error=True)
        return await spec.handler(self, command, subscription, language)

    async def _subscription(self, command: Command) -> Subscription | None:
        chat = command.chat
        return await self.store.get_subscription(chat.platform, chat.chat_id, chat.thread_id)

    async def reply_language(self, chat: ChatRef, client: str | None) -> str:
        """The language a command from this chat and client would be answered in, for texts an
        adapter writes itself (a welcome line, a hint); the default while the database is down."""
        try:
            subscription = await self.store.get_subscription(chat.platform, chat.chat_id, chat.thread_id)
        except StoreUnavailable:
            subscription = None
        chat_setting = subscription.language if subscription is not None else None
        return choose_language(chat_setting, client, self.default_language)

    def _language(self, command: Command, subscription: Subscription | None) -> str:
        chat_setting = subscription.language if subscription is not None else None
        return choose_language(chat_setting, command.caller.language, self.default_language)

    async def chat_gone(self, chat: ChatRef, reason: str) -> None:
        """The bot left or lost access to a chat: pause (never delete) its subscriptions.

        Without a thread id the whole chat is gone, so every forum topic's subscription pauses too.
        """
        if chat.thread_id is None:
            paused = await self.store.pause_chat(chat.platform, chat.chat_id, reason)
        else:
            sub = await self.store.get_subscription(chat.platform, chat.chat_id, chat.thread_id)
            paused = [sub.id] if sub is not None and sub.status == "active" else []
            for subscription_id in paused:
                await self.store.pause(subscription_id, reason)
        if paused:
            log.warning(
                "paused %d subscription(s) of %s chat %s: %s",
                len(paused),
                chat.platform,
                chat.chat_id,
                reason,
            )


def allowed(access: Access, command: Command) -> bool:
    """Whether the caller may run a command with this access level."""
    if access is Access.MANAGERS:
        return command.caller.can_manage
    if access is Access.OWNERS:
        return command.caller.is_owner
    return True
