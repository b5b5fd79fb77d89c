"""Operator broadcasts: the config's chats, kept in the subscriptions table as origin=config rows."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.core.model import Filter
from bot.store.database import Database, Transaction
from bot.store.dialect import json_ids
from bot.store.subscriptions import NewSubscription, Subscription, check_language, encode_filter
from bot.store.times import to_db


@dataclass(frozen=True, slots=True)
class BroadcastRow:
    """One operator broadcast, already validated and normalised by the config layer."""

    platform: str
    chat_id: str
    thread_id: str | None
    kind: str  # the platform's guess (PlatformSpec.broadcast_kind)
    filter: Filter  # category ids resolved, include/exclude terms
    schedule: str  # normalised schedule text (str(parse_schedule(...)))
    timezone: str  # zone key
    language: str  # "zh" | "en"


class BroadcastOps(Database):
    """Keeps the origin=config subscriptions equal to the configured broadcasts."""

    async def sync_broadcasts(self, rows: Sequence[BroadcastRow]) -> list[Subscription]:
        """Upsert the operator's broadcasts (origin=config); config rows no longer listed are
        unsubscribed, and their unsent messages dropped with them, as on /unsubscribe.

        A new row takes the platform's guess at its chat kind; an existing row keeps the kind the
        platform told us. A broadcast whose chat is paused (e.g. the bot was removed) stays paused:
        only an explicit resume, or the chat coming back, should restart sending.
        """
        async with self.transaction() as tx:
            now = self.clock.now()
            kept = [await _upsert(tx, row, now) for row in rows]
            await tx.conn.execute(
                "UPDATE subscriptions SET status = 'unsubscribed', paused_reason = 'removed from config',"
                " paused_at = NULL, updated_at = ?"
                " WHERE origin = 'config' AND status != 'unsubscribed'"
                f" AND id NOT IN {json_ids(tx.conn.dialect)}",
                (to_db(now), json.dumps([sub.id for sub in kept])),
            )
            await tx.deliveries.skip_inactive(now)
        return kept


async def _upsert(tx: Transaction, row: BroadcastRow, now: datetime) -> Subscription:
    """Create the broadcast's subscription, or make the chat's existing one (a user's included)
    match the config."""
    subscriptions = tx.subscriptions
    existing = await subscriptions.get(row.platform, row.chat_id, row.thread_id)
    if existing is None:
        new = NewSubscription(
            row.platform,
            row.chat_id,
            row.kind,
            row.thread_id,
            title=row.chat_id,
            filter=row.filter,
            schedule=row.schedule,
            timezone=row.timezone,
            language=row.language,
            origin="config",
        )
        return await subscriptions.create(new, now)
    if _matches(existing, row):
        return existing  # a restart with the same config writes nothing (and locks no row)
    settings = {
        "filter": encode_filter(row.filter),
        "schedule": row.schedule,
        "timezone": row.timezone,
        "language": check_language(row.language),
        "origin": "config",
    }
    if (existing.schedule, existing.timezone) != (row.schedule, row.timezone):
        settings.update(await subscriptions.reschedule(existing, row.schedule, row.timezone, now))
    await subscriptions.set(existing.id, now, **settings)
    if existing.status == "unsubscribed":
        await subscriptions.activate(await subscriptions.require(existing.id), now)
    return await subscriptions.require(existing.id)


def _matches(existing: Subscription, row: BroadcastRow) -> bool:
    """The chat's subscription is already this broadcast, as the config says it."""
    return (
        existing.origin == "config"
        and existing.status != "unsubscribed"
        and (existing.filter, existing.schedule, existing.timezone, existing.language)
        == (row.filter, row.schedule, row.timezone, row.language)
    )
