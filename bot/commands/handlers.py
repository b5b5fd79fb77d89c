"""Every command's handler: what each one does to the subscription, and the text it answers with.

`CommandService` (service.py) holds the state these read and dispatches through the command table
(table.py), which names each handler; keeping them here lets the table refer to them without an
import cycle.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from bot.commands.args import means_all, parse_keywords, resolve_categories
from bot.commands.latest import LatestRenderer
from bot.commands.messages import text
from bot.commands.model import CategoryPicker, Command, PickerOption, Reply
from bot.commands.paid_status import PaidStatus, paid_line
from bot.commands.reports import pause_reason, schedule_text, stats_text, when
from bot.core.clock import Clock
from bot.core.model import Filter, Vocabulary
from bot.core.problems import localized
from bot.core.schedule import QuietHours, parse_schedule, parse_timezone
from bot.logs import redact
from bot.render.options import PLAIN_LOOK, Look
from bot.store.db import Store
from bot.store.subscriptions import Subscription

if TYPE_CHECKING:
    from bot.commands.table import CommandSpec


class CommandHandlers:
    """One method per command, each `(command, subscription, language) -> Reply`; the service's
    constructor sets the state declared here."""

    store: Store
    vocabulary: Vocabulary
    commands: Sequence[CommandSpec]
    default_timezone: str
    _clock: Clock
    _latest: LatestRenderer
    _secrets: tuple[str, ...]
    _on_change: Callable[[], None]
    paid_broadcasts: dict[str, PaidStatus]
    has_option: Callable[[str, str], bool]
    reader_status: Callable[[str, Subscription, str], str]

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

    async def start(self, command: Command, sub: Subscription | None, language: str) -> Reply:
        return Reply(text("welcome", language))

    async def help(self, command: Command, sub: Subscription | None, language: str) -> Reply:
        platform = command.chat.platform
        shown_specs = (s for s in self.commands if s.option is None or self.has_option(platform, s.option))
        lines = (spec.help_line(language) for spec in shown_specs)
        listed = "\n".join(line for line in lines if line)
        shown = text("help", language, commands=listed, categories=self.all_names(language))
        if command.chat.platform == "console":  # only a terminal has a Ctrl-D to mention
            shown += text("help_console", language)
        return Reply(shown)

    async def subscribe(self, command: Command, sub: Subscription | None, language: str) -> Reply:
        """No argument keeps an existing chat's categories (every category for a new one); `all`
        clears the filter. The reply says which categories changed and which stayed."""
        if means_all(command.args):
            ids: frozenset[str] = frozenset()
        else:
            ids, unknown = resolve_categories(command.args, self.vocabulary)
            if unknown:
                return self._unknown(unknown, language)
        chat = command.chat
        before = sub.filter.categories if sub is not None else None
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
        after = sub.filter.categories
        if created or before is None:
            return Reply(text("subscribed", language, categories=self.category_names(after, language)))
        change = self._change(before, after, bool(command.args), language)
        if resumed:
            return Reply(text("resubscribed", language, change=change))
        if command.args:
            return Reply(change)
        return Reply(text("already_subscribed", language, change=change))

    def _change(self, before: frozenset[str], after: frozenset[str], named: bool, language: str) -> str:
        """What /subscribe did to the categories; a kept filter comes with how to widen it."""
        names = self.category_names(after, language)
        if before != after:
            earlier = self.category_names(before, language)
            return text("categories_changed", language, before=earlier, after=names)
        if after and not named:
            return text("categories_kept", language, categories=names) + text("categories_all_hint", language)
        return text("categories_kept", language, categories=names)

    def _not_subscribed(self, sub: Subscription | None, language: str) -> Reply:
        """A chat that never subscribed is told how to start; one that unsubscribed, how to resume."""
        key = "not_subscribed" if sub is None else "was_unsubscribed"
        return Reply(text(key, language), error=True)

    async def unsubscribe(self, command: Command, sub: Subscription | None, language: str) -> Reply:
        if sub is None or sub.status == "unsubscribed":
            return self._not_subscribed(sub, language)
        await self.store.unsubscribe(sub.id)
        self._on_change()
        return Reply(text("unsubscribed", language))

    async def categories(self, command: Command, sub: Subscription | None, language: str) -> Reply:
        """No argument shows the picker; `toggle ID`, `all`, `set ID...` and `done` change it."""
        if sub is None or sub.status == "unsubscribed":
            return self._not_subscribed(sub, language)
        selected = set(sub.filter.categories)
        action, *rest = command.args or ("show",)
        if action == "all" or means_all(command.args) or (action == "set" and means_all(rest)):
            selected = set()
        elif action == "toggle" and rest:
            ids, unknown = resolve_categories(rest, self.vocabulary)
            if unknown:
                return self._unknown(unknown, language)
            selected ^= ids
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
        names = self.category_names(frozenset(selected), language)
        key = "picker_done" if picker.done else "picker"
        return Reply(text(key, language, categories=names), picker=picker)

    async def keywords(self, command: Command, sub: Subscription | None, language: str) -> Reply:
        if sub is None or sub.status == "unsubscribed":
            return self._not_subscribed(sub, language)
        current = sub.filter
        if command.args:
            try:
                include, exclude = parse_keywords(command.args, current.include, current.exclude)
            except ValueError as exc:
                return Reply(text("keywords_bad", language, reason=localized(exc, language)), error=True)
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
            return self._not_subscribed(sub, language)
        args = list(command.args)
        timezone = sub.timezone
        try:
            if (args and "/" in args[-1]) or args[-1:] == ["UTC"]:
                timezone = parse_timezone(args.pop()).key
            schedule = parse_schedule(" ".join(args) if args else "")
        except ValueError as exc:
            return Reply(text("schedule_bad", language, reason=localized(exc, language)), error=True)
        await self.store.update_subscription(sub.id, schedule=str(schedule), timezone=timezone)
        self._on_change()
        shown = schedule_text(str(schedule), language)
        return Reply(text("schedule_set", language, schedule=shown, timezone=timezone))

    async def quiet(self, command: Command, sub: Subscription | None, language: str) -> Reply:
        if sub is None or sub.status == "unsubscribed":
            return self._not_subscribed(sub, language)
        value = " ".join(command.args).strip()
        if value.casefold() == "off":
            await self.store.update_subscription(sub.id, quiet=None)
            return Reply(text("quiet_off", language))
        try:
            quiet = QuietHours.parse(value)
        except ValueError as exc:
            return Reply(text("quiet_bad", language, reason=localized(exc, language)), error=True)
        if quiet.silent and not self.has_option(command.chat.platform, "quiet_silent"):
            return Reply(text("quiet_silent_unavailable", language), error=True)
        await self.store.update_subscription(sub.id, quiet=str(quiet))
        return Reply(text("quiet_set_silent" if quiet.silent else "quiet_set", language, quiet=str(quiet)))

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
        look = PLAIN_LOOK if sub is None else Look(sub.format, sub.previews)  # a reply: never silent
        latest = await self._latest.latest(command.chat.platform, wanted, timezone, language, look)
        if latest is None:
            return Reply(text("no_digest", language))
        if not latest.parts:
            return Reply(text("latest_empty", language, title=latest.title))
        return Reply(text("latest", language, title=latest.title), parts=latest.parts)

    async def status(self, command: Command, sub: Subscription | None, language: str) -> Reply:
        """Times in the subscription's own zone, the schedule and language in words."""
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
                schedule=schedule_text(sub.schedule, language),
                timezone=sub.timezone,
                quiet=sub.quiet or none,
                language=text("language_name", sub.language),
                last_sent=when(summary.get("last_sent_at"), sub.timezone) or text("never", language),
                pending=summary.get("pending", 0),
                last_error=text("last_error", language, error=shown_error) if shown_error else "",
                reader=self.reader_status(command.chat.platform, sub, language),
                chat=sub.chat_id if sub.thread_id is None else f"{sub.chat_id} / {sub.thread_id}",
            )
        )

    def _status_line(self, sub: Subscription, language: str) -> str:
        if sub.status == "paused":
            since = when(sub.paused_at, sub.timezone)
            reason = pause_reason(sub.paused_reason or "?", language)
            return text("status_paused", language, reason=reason, since=since)
        return text(f"status_{sub.status}", language)

    async def stats(self, command: Command, sub: Subscription | None, language: str) -> Reply:
        stats = await self.store.stats(self._clock.now().astimezone())
        timezone = sub.timezone if sub is not None else self.default_timezone
        paid = [paid_line(name, status, language, timezone) for name, status in self.paid_broadcasts.items()]
        return Reply("\n".join([stats_text(stats, language, timezone), *paid]))
