"""The platform-neutral command service: one Command in, one Reply out, for every platform.

Adapters only translate platform updates into Commands (deciding who may manage a chat) and render
Replies; every rule about subscriptions lives here so Telegram, Discord and the console agree.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import replace
from datetime import datetime

from bot.commands.args import MAX_ARGS_CHARS, parse_keywords, resolve_categories
from bot.commands.latest import LatestRenderer
from bot.commands.messages import text
from bot.commands.model import CategoryPicker, ChatRef, Command, PickerOption, Reply
from bot.core.model import Filter, Vocabulary
from bot.core.schedule import QuietHours, parse_schedule, parse_timezone
from bot.logs import redact
from bot.render import Renderer
from bot.store.db import Store, StoreUnavailable
from bot.store.subscriptions import Subscription

log = logging.getLogger(__name__)
MANAGING = frozenset({"subscribe", "unsubscribe", "categories", "keywords", "schedule", "quiet", "language"})


class CommandService:
    """Handles commands against the store; `on_change` wakes the scheduler after schedule edits.

    `renderers` (platform -> renderer) are the ones deliveries use, with the operator's link-preview
    and embed choices, so /latest looks like the scheduled posts. `secrets` are scrubbed
    from /status's last error like from the logs (platform errors may quote a request URL).
    """

    def __init__(
        self,
        store: Store,
        vocabulary: Vocabulary,
        *,
        default_language: str = "zh",
        default_timezone: str = "UTC",
        on_change: Callable[[], None] | None = None,
        renderers: Mapping[str, Renderer],
        secrets: Iterable[str] = (),
    ) -> None:
        self.store = store
        self._secrets = tuple(secrets)
        self._latest = LatestRenderer(store, vocabulary, renderers)
        self.vocabulary = vocabulary
        self.default_language = default_language
        self.default_timezone = default_timezone
        self._on_change = on_change or (lambda: None)

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
        handler = _HANDLERS.get(command.name)
        if handler is None:
            return Reply(text("unknown_command", language, name=command.name[:32]), error=True)
        if sum(len(a) for a in command.args) > MAX_ARGS_CHARS:
            return Reply(text("too_long", language, limit=MAX_ARGS_CHARS), error=True)
        if command.name in MANAGING and not command.caller.can_manage:
            return Reply(text("not_allowed", language), error=True)
        return await handler(self, command, subscription, language)

    async def _subscription(self, command: Command) -> Subscription | None:
        chat = command.chat
        return await self.store.get_subscription(chat.platform, chat.chat_id, chat.thread_id)

    def _language(self, command: Command, subscription: Subscription | None) -> str:
        if subscription is not None:
            return subscription.language
        caller_language = (command.caller.language or "").lower()
        if caller_language.startswith("zh"):
            return "zh"
        if caller_language:
            return "en"
        return self.default_language

    def category_names(self, ids: frozenset[str], language: str) -> str:
        """Display names in vocabulary order; the empty set reads as 'all categories'."""
        if not ids:
            return text("all_categories", language)
        separator = "、" if language.startswith("zh") else ", "
        names = [c.display(language) for c in self.vocabulary if c.id in ids]
        return separator.join(names or sorted(ids))

    def all_names(self, language: str) -> str:
        return ", ".join(f"{c.display(language)} ({c.id})" for c in self.vocabulary)

    def _unknown(self, unknown: list[str], language: str) -> Reply:
        shown = ", ".join(u[:40] for u in unknown[:5])
        return Reply(
            text("unknown_categories", language, unknown=shown, valid=self.all_names(language)), error=True
        )

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

    # -- handlers -------------------------------------------------------------------------------

    async def start(self, command: Command, sub: Subscription | None, language: str) -> Reply:
        return Reply(text("welcome", language))

    async def help(self, command: Command, sub: Subscription | None, language: str) -> Reply:
        shown = text("help", language, categories=self.all_names(language))
        if command.chat.platform == "console":  # only a terminal has a Ctrl-D to mention
            shown += text("help_console", language)
        return Reply(shown)

    async def subscribe(self, command: Command, sub: Subscription | None, language: str) -> Reply:
        ids, unknown = resolve_categories(command.args, self.vocabulary)
        if unknown:
            return self._unknown(unknown, language)
        chat = command.chat
        resumed = sub is not None and sub.status != "active"
        sub, created = await self.store.subscribe(
            chat.platform,
            chat.chat_id,
            chat.thread_id,
            kind=chat.kind,
            title=chat.title,
            created_by=command.caller.user_id,
            language=language,
            timezone=self.default_timezone,
            categories=ids if command.args else None,
        )
        self._on_change()
        names = self.category_names(sub.filter.categories, language)
        if created:
            return Reply(text("subscribed", language, categories=names))
        if resumed:
            return Reply(text("resubscribed", language, categories=names))
        return Reply(text("updated" if command.args else "subscribed", language, categories=names))

    async def unsubscribe(self, command: Command, sub: Subscription | None, language: str) -> Reply:
        if sub is None or sub.status == "unsubscribed":
            return Reply(text("not_subscribed", language), error=True)
        await self.store.unsubscribe(sub.id)
        self._on_change()
        return Reply(text("unsubscribed", language))

    async def categories(self, command: Command, sub: Subscription | None, language: str) -> Reply:
        """No argument shows the picker; `toggle ID`, `all`, `set ID...` and `done` change it."""
        if sub is None or sub.status == "unsubscribed":
            return Reply(text("not_subscribed", language), error=True)
        selected = set(sub.filter.categories)
        action, *rest = command.args or ("show",)
        if action == "toggle" and rest:
            ids, unknown = resolve_categories(rest, self.vocabulary)
            if unknown:
                return self._unknown(unknown, language)
            selected ^= ids
        elif action == "all":
            selected = set()
        elif action == "set":
            ids, unknown = resolve_categories(rest, self.vocabulary)
            if unknown:
                return self._unknown(unknown, language)
            selected = set(ids)
        elif action not in ("show", "done"):
            ids, unknown = resolve_categories(command.args, self.vocabulary)
            if unknown:
                return self._unknown(unknown, language)
            selected = set(ids)
        if frozenset(selected) != sub.filter.categories:
            await self.store.update_subscription(
                sub.id, filter=replace(sub.filter, categories=frozenset(selected))
            )
        picker = CategoryPicker(
            tuple(PickerOption(c.id, c.display(language), c.id in selected) for c in self.vocabulary),
            done=action in ("done", "set"),
            language=language,
        )
        if picker.done:
            names = self.category_names(frozenset(selected), language)
            return Reply(text("picker_done", language, categories=names), picker=picker)
        return Reply(text("picker", language), picker=picker)

    async def keywords(self, command: Command, sub: Subscription | None, language: str) -> Reply:
        if sub is None or sub.status == "unsubscribed":
            return Reply(text("not_subscribed", language), error=True)
        current = sub.filter
        if command.args:
            try:
                include, exclude = parse_keywords(command.args, current.include, current.exclude)
            except ValueError as exc:
                return Reply(text("keywords_bad", language, reason=exc), error=True)
            current = Filter(current.categories, include, exclude)
            await self.store.update_subscription(sub.id, filter=current)
        none = text("none", language)
        return Reply(
            text(
                "keywords_show",
                language,
                include=", ".join(current.include) or none,
                exclude=", ".join(current.exclude) or none,
            )
        )

    async def schedule(self, command: Command, sub: Subscription | None, language: str) -> Reply:
        if sub is None or sub.status == "unsubscribed":
            return Reply(text("not_subscribed", language), error=True)
        args = list(command.args)
        timezone = sub.timezone
        try:
            if (args and "/" in args[-1]) or args[-1:] == ["UTC"]:
                timezone = parse_timezone(args.pop()).key
            schedule = parse_schedule(" ".join(args) if args else "")
        except ValueError as exc:
            return Reply(text("schedule_bad", language, reason=exc), error=True)
        await self.store.update_subscription(sub.id, schedule=str(schedule), timezone=timezone)
        self._on_change()
        return Reply(text("schedule_set", language, schedule=str(schedule), timezone=timezone))

    async def quiet(self, command: Command, sub: Subscription | None, language: str) -> Reply:
        if sub is None or sub.status == "unsubscribed":
            return Reply(text("not_subscribed", language), error=True)
        value = " ".join(command.args).strip()
        if value.casefold() == "off":
            await self.store.update_subscription(sub.id, quiet=None)
            return Reply(text("quiet_off", language))
        try:
            quiet = QuietHours.parse(value)
        except ValueError as exc:
            return Reply(text("quiet_bad", language, reason=exc), error=True)
        await self.store.update_subscription(sub.id, quiet=str(quiet))
        return Reply(text("quiet_set", language, quiet=str(quiet)))

    async def language(self, command: Command, sub: Subscription | None, language: str) -> Reply:
        choice = command.args[0].lower() if len(command.args) == 1 else ""
        if choice not in ("zh", "en"):
            return Reply(text("language_bad", language), error=True)
        if sub is None:
            return Reply(text("not_subscribed", choice), error=True)
        await self.store.update_subscription(sub.id, language=choice)
        return Reply(text("language_set", choice))

    async def latest(self, command: Command, sub: Subscription | None, language: str) -> Reply:
        wanted = sub.filter if sub is not None else Filter()
        timezone = sub.timezone if sub is not None else self.default_timezone
        latest = await self._latest.latest(command.chat.platform, wanted, timezone, language)
        if latest is None:
            return Reply(text("no_digest", language))
        if not latest.parts:
            return Reply(text("latest_empty", language, title=latest.title))
        return Reply(text("latest", language, title=latest.title), parts=latest.parts)

    async def status(self, command: Command, sub: Subscription | None, language: str) -> Reply:
        if sub is None:
            return Reply(text("not_subscribed", language))
        summary = await self.store.delivery_summary(sub.id)
        none = text("none", language)
        shown_error = redact(summary.get("last_error") or "", self._secrets)
        return Reply(
            text(
                "status",
                language,
                status=self._status_line(sub, language),
                categories=self.category_names(sub.filter.categories, language),
                include=", ".join(sub.filter.include) or none,
                exclude=", ".join(sub.filter.exclude) or none,
                schedule=sub.schedule,
                timezone=sub.timezone,
                quiet=sub.quiet or none,
                language=sub.language,
                last_sent=_when(summary.get("last_sent_at")) or text("never", language),
                pending=summary.get("pending", 0),
                last_error=text("last_error", language, error=shown_error) if shown_error else "",
            )
        )

    def _status_line(self, sub: Subscription, language: str) -> str:
        if sub.status == "paused":
            return text(
                "status_paused", language, reason=sub.paused_reason or "?", since=_when(sub.paused_at)
            )
        return text(f"status_{sub.status}", language)

    async def stats(self, command: Command, sub: Subscription | None, language: str) -> Reply:
        if not command.caller.is_owner:
            return Reply(text("owner_only", language), error=True)
        stats = await self.store.stats(datetime.now().astimezone())
        return Reply(
            text(
                "stats",
                language,
                subscriptions=_flatten(stats.get("subscriptions", {})),
                deliveries=_flatten(stats.get("deliveries_24h", {})),
                last_digest=_flatten(stats.get("last_digest") or {}) or text("none", language),
                database=human_bytes(stats.get("database_bytes", 0)),
            )
        )


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M %Z").strip() if moment else ""


def human_bytes(size: int) -> str:
    """A size as people read it, in binary units as `ls -h` counts them: 512 B, 1.5 MiB."""
    units = ("B", "KiB", "MiB", "GiB", "TiB")
    value, unit = float(size), 0
    while value >= 1024 and unit < len(units) - 1:
        value /= 1024
        unit += 1
    return f"{size} B" if unit == 0 else f"{value:.1f} {units[unit]}"


def _flatten(value: object) -> str:
    """Nested stats dicts as `a/b=3, a/c=4` lines: readable on every platform without markup."""
    if isinstance(value, dict):
        parts: list[str] = []
        for key, inner in value.items():
            flat = _flatten(inner)
            parts.append(f"{key}={flat}" if not isinstance(inner, dict) else f"{key}: {flat}")
        return ", ".join(parts)
    return str(value)


_HANDLERS: dict[str, Callable[..., Awaitable[Reply]]] = {
    name: getattr(CommandService, name)
    for name in (
        "start",
        "help",
        "subscribe",
        "unsubscribe",
        "categories",
        "keywords",
        "schedule",
        "quiet",
        "language",
        "latest",
        "status",
        "stats",
    )
}
