"""A chat's subscription through its life: subscribe, change settings, pause, resume, move, leave."""

from __future__ import annotations

from enum import Enum
from typing import Any, Final

from bot.core.model import Filter
from bot.store.database import Database
from bot.store.subscriptions import (
    NewSubscription,
    Subscription,
    check_language,
    encode_filter,
    normal_quiet,
    normal_schedule,
    subscription_of,
    zone_key,
)


class Keep(Enum):
    """The type of KEEP: a setting argument left as it is (where None means "clear it")."""

    KEEP = "keep"


KEEP: Final = Keep.KEEP


class SubscriptionOps(Database):
    """The store's subscription operations; each is one committed transaction."""

    async def get_subscription(
        self, platform: str, chat_id: str, thread_id: str | None = None
    ) -> Subscription | None:
        """The chat's (or forum topic's) subscription, whatever its status."""
        async with self.statement(write=False) as tx:
            return await tx.subscriptions.get(platform, chat_id, thread_id)

    async def get_subscription_by_id(self, subscription_id: int) -> Subscription | None:
        """The current row of a subscription the caller saw before (it may have changed since)."""
        async with self.statement(write=False) as tx:
            return await tx.subscriptions.get_by_id(subscription_id)

    async def subscribe(
        self,
        platform: str,
        chat_id: str,
        thread_id: str | None,
        *,
        kind: str,
        title: str,
        created_by: str | None,
        language: str,
        timezone: str,
        categories: frozenset[str] | None = None,
    ) -> tuple[Subscription, bool]:
        """Create (returns created=True) or re-activate an existing row keeping its settings.

        `categories`, when given, replaces the existing category filter (keywords are kept);
        `language` and `timezone` are only the defaults for a new subscription.
        """
        async with self.transaction() as tx:
            now = self.clock.now()
            existing = await tx.subscriptions.get(platform, chat_id, thread_id)
            if existing is None:
                new = NewSubscription(
                    platform,
                    chat_id,
                    kind,
                    thread_id,
                    title,
                    Filter(categories=categories or frozenset()),
                    timezone=timezone,
                    language=language,
                    created_by=created_by,
                )
                return await tx.subscriptions.create(new, now), True
            changes: dict[str, Any] = {"kind": kind, "title": title}
            if created_by is not None:
                changes["created_by"] = created_by
            if categories is not None:
                changes["filter"] = encode_filter(
                    Filter(categories, existing.filter.include, existing.filter.exclude)
                )
            await tx.subscriptions.set(existing.id, now, **changes)
            if existing.status != "active":
                await tx.subscriptions.activate(existing, now)
            return await tx.subscriptions.require(existing.id), False

    async def _deactivate(self, subscription_id: int, status: str, reason: str | None) -> None:
        async with self.transaction() as tx:
            now = self.clock.now()
            await tx.subscriptions.require(subscription_id)
            await tx.subscriptions.set_inactive(subscription_id, status, reason, now)
            await tx.deliveries.skip_pending(
                subscription_id, f"{status}: {reason}" if reason else status, now
            )

    async def unsubscribe(self, subscription_id: int) -> None:
        """Status unsubscribed (settings kept for a later /subscribe); unsent messages are dropped."""
        await self._deactivate(subscription_id, "unsubscribed", None)

    async def pause(self, subscription_id: int, reason: str) -> None:
        """Status paused with the reason shown in /status; unsent messages are dropped."""
        await self._deactivate(subscription_id, "paused", reason)

    async def pause_chat(self, platform: str, chat_id: str, reason: str) -> list[int]:
        """Pause every active subscription of a chat (all its topics): the bot left or lost it."""
        async with self.transaction(write=False) as tx:
            ids = await tx.subscriptions.active_in_chat(platform, chat_id)
        for subscription_id in ids:
            await self.pause(subscription_id, reason)
        return ids

    async def resume(self, subscription_id: int) -> Subscription:
        """Active again; digests published while paused are not delivered afterwards."""
        async with self.transaction() as tx:
            sub = await tx.subscriptions.require(subscription_id)
            if sub.status != "active":
                await tx.subscriptions.activate(sub, self.clock.now())
            return await tx.subscriptions.require(subscription_id)

    async def update_subscription(
        self,
        subscription_id: int,
        *,
        filter: Filter | None = None,
        schedule: str | None = None,
        timezone: str | None = None,
        language: str | None = None,
        quiet: str | Keep | None = KEEP,
        title: str | None = None,
    ) -> Subscription:
        """Change settings; None leaves one unchanged, except `quiet=None`, which clears quiet hours.

        Raises ValueError naming the bad value (schedule, time zone, language, quiet hours) and
        KeyError for an unknown id; a changed schedule or time zone recomputes the next due time.
        """
        async with self.transaction() as tx:
            now = self.clock.now()
            sub = await tx.subscriptions.require(subscription_id)
            changes: dict[str, Any] = {}
            if filter is not None:
                changes["filter"] = encode_filter(filter)
            if language is not None:
                changes["language"] = check_language(language)
            if title is not None:
                changes["title"] = title
            if quiet is not KEEP:
                changes["quiet"] = normal_quiet(quiet)
            new_schedule = sub.schedule if schedule is None else normal_schedule(schedule)
            new_zone = sub.timezone if timezone is None else zone_key(timezone)
            if (new_schedule, new_zone) != (sub.schedule, sub.timezone):
                changes.update(await tx.subscriptions.reschedule(sub, new_schedule, new_zone, now))
            if changes:
                await tx.subscriptions.set(subscription_id, now, **changes)
            return await tx.subscriptions.require(subscription_id)

    async def migrate_chat(
        self, platform: str, old_chat_id: str, new_chat_id: str, new_kind: str
    ) -> list[int]:
        """The platform moved a chat to a new id (and says what kind of chat it is now): its
        subscriptions and unsent messages follow it.

        Returns the ids of the subscriptions that moved; one whose thread is already subscribed in
        the new chat is unsubscribed instead (and its unsent messages dropped).
        """
        async with self.transaction() as tx:
            now = self.clock.now()
            moved, retired = await tx.subscriptions.migrate_chat(
                platform, old_chat_id, new_chat_id, new_kind, now
            )
            for subscription_id in moved:
                await tx.deliveries.retarget(subscription_id, new_chat_id, new_kind, now)
            for subscription_id in retired:
                await tx.deliveries.skip_pending(subscription_id, f"chat migrated to {new_chat_id}", now)
        return moved

    async def list_subscriptions_for(self, platform: str, created_by: str) -> list[Subscription]:
        """Subscriptions (not unsubscribed) a user created: the channels they manage."""
        async with self.statement(write=False) as tx:
            rows = await tx.conn.fetchall(
                "SELECT * FROM subscriptions WHERE platform = ? AND created_by = ?"
                " AND status != 'unsubscribed' ORDER BY id",
                (platform, created_by),
            )
        return [subscription_of(row) for row in rows]
