"""The subscriptions table: who receives what, when, and in which language and time zone.

Settings are never deleted: unsubscribing or pausing only changes the status, so coming back restores
them. Scheduled (``at HH:MM``) subscriptions keep their next due instant here, which makes the
schedule survive restarts, plus `schedule_seq`, the newest digest their last post covered.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any, NamedTuple, TypeVar

from bot.core.codec import filter_from_dict, filter_to_dict
from bot.core.model import Filter
from bot.core.schedule import QuietHours, next_due, parse_schedule, parse_timezone
from bot.store.connection import Connection, Row
from bot.store.digests import DigestRepo
from bot.store.times import from_db, to_db

LANGUAGES = frozenset({"zh", "en"})
_BEYOND_ANY_ID = 2**63 - 1
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

_INSERTED = (
    "subscriptions (platform, chat_id, thread_id, kind, title, filter, schedule, timezone, language,"
    " quiet, status, created_by, origin, next_due_at, schedule_seq, created_at, updated_at)"
)
_VALUES = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'active', ?, ?, ?, ?, ?, ?)"
# Rows per INSERT statement. On a table with triggers (migration 014's reading ids) SQLite opens a
# statement journal for every statement, ~8 us: 500 rows share one (16 parameters each, 8,000 in
# all, under both backends' limit of 32,766), so a bulk insert costs 11 us a row instead of 30.
INSERT_ROWS = 500


@lru_cache(maxsize=8)
def _insert(rows: int) -> str:
    return f"INSERT INTO {_INSERTED} VALUES {', '.join([_VALUES] * rows)} ON CONFLICT DO NOTHING"


@dataclass(frozen=True, slots=True)
class Subscription:
    id: int
    platform: str
    chat_id: str
    thread_id: str | None
    kind: str
    title: str
    filter: Filter
    schedule: str
    timezone: str
    language: str
    quiet: str | None
    status: str
    paused_reason: str | None
    paused_at: datetime | None
    created_by: str | None
    origin: str
    next_due_at: datetime | None
    created_at: datetime
    updated_at: datetime
    format: str = "full"  # reader options (migration 008): full | compact
    previews: bool | None = None  # None: the platform's configured default
    silent: bool = False
    pin: bool = False
    pinned_message_id: str | None = None


@dataclass(frozen=True, slots=True)
class NewSubscription:
    """One subscription to create: by /subscribe, from the config's broadcasts, or in bulk
    (imports, benchmarks); every one is validated and written by `SubscriptionRepo.insert_many`."""

    platform: str
    chat_id: str
    kind: str
    thread_id: str | None = None
    title: str = ""
    filter: Filter = field(default_factory=Filter)
    schedule: str = "instant"
    timezone: str = "UTC"
    language: str = "zh"
    quiet: str | None = None
    created_by: str | None = None
    origin: str = "user"


class Recipient(NamedTuple):
    """The columns fan-out needs, without building a full Subscription per row."""

    id: int
    platform: str
    chat_id: str
    thread_id: str
    kind: str
    filter: str
    timezone: str
    language: str
    quiet: str | None
    format: str = "full"
    previews: int | None = None
    silent: int = 0


def encode_filter(filter: Filter) -> str:
    return json.dumps(filter_to_dict(filter), ensure_ascii=False, separators=(",", ":"))


def subscription_of(row: Row) -> Subscription:
    return Subscription(
        id=row["id"],
        platform=row["platform"],
        chat_id=row["chat_id"],
        thread_id=row["thread_id"] or None,
        kind=row["kind"],
        title=row["title"],
        filter=filter_from_dict(json.loads(row["filter"])),
        schedule=row["schedule"],
        timezone=row["timezone"],
        language=row["language"],
        quiet=row["quiet"],
        status=row["status"],
        paused_reason=row["paused_reason"],
        paused_at=from_db(row["paused_at"]),
        created_by=row["created_by"],
        origin=row["origin"],
        next_due_at=from_db(row["next_due_at"]),
        created_at=datetime.fromisoformat(row["created_at"]),
        updated_at=datetime.fromisoformat(row["updated_at"]),
        format=row["format"],
        previews=None if row["previews"] is None else bool(row["previews"]),
        silent=bool(row["silent"]),
        pin=bool(row["pin"]),
        pinned_message_id=row["pinned_message_id"],
    )


def check_language(language: str) -> str:
    """The product speaks zh and en; anything else is refused wherever a language is stored."""
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}: expected zh or en")
    return language


def zone_key(name: str) -> str:
    return parse_timezone(name).key


def normal_schedule(text: str) -> str:
    return str(parse_schedule(text))


def normal_quiet(text: str | None) -> str | None:
    return None if text is None else str(QuietHours.parse(text))


def first_due(schedule: str, timezone: str, now: datetime) -> str | None:
    """The stored next due instant of a schedule starting now (None for instant)."""
    return db_or_none(next_due(parse_schedule(schedule), now, parse_timezone(timezone)))


def db_or_none(value: datetime | None) -> str | None:
    return None if value is None else to_db(value)


class _Rows:
    """Insert rows of one batch; each distinct setting is validated once, so importing many rows
    costs little more than the inserts themselves."""

    def __init__(self, now: datetime, schedule_seq: int) -> None:
        self._now = now
        self._stamp = to_db(now)
        self._schedule_seq = schedule_seq
        self._seen: dict[tuple[str, Hashable], Any] = {}

    def _once(self, what: str, key: K, compute: Callable[[K], V]) -> V:
        if (what, key) not in self._seen:
            self._seen[what, key] = compute(key)
        result: V = self._seen[what, key]
        return result

    def build(self, sub: NewSubscription) -> tuple[Any, ...]:
        zone = self._once("zone", sub.timezone, zone_key)
        schedule = self._once("schedule", sub.schedule, normal_schedule)
        due = self._once("due", (schedule, zone), lambda key: first_due(*key, self._now))
        quiet = self._once("quiet", sub.quiet, normal_quiet)
        return (
            sub.platform,
            sub.chat_id,
            sub.thread_id or "",
            sub.kind,
            sub.title,
            encode_filter(sub.filter),
            schedule,
            zone,
            self._once("language", sub.language, check_language),
            quiet,
            sub.created_by,
            sub.origin,
            due,
            self._schedule_seq,
            self._stamp,
            self._stamp,
        )


class SubscriptionRepo:
    """Subscription queries on one connection; the caller owns the transaction."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def _one(self, sql: str, params: Iterable[Any]) -> Subscription | None:
        rows = await self._conn.fetchall(sql, tuple(params))
        return subscription_of(next(iter(rows))) if rows else None

    async def get(self, platform: str, chat_id: str, thread_id: str | None) -> Subscription | None:
        return await self._one(
            "SELECT * FROM subscriptions WHERE platform = ? AND chat_id = ? AND thread_id = ?",
            (platform, chat_id, thread_id or ""),
        )

    async def get_by_id(self, subscription_id: int) -> Subscription | None:
        return await self._one("SELECT * FROM subscriptions WHERE id = ?", (subscription_id,))

    async def get_for_schedule(self, subscription_id: int) -> Subscription | None:
        """The subscription, locked until the transaction ends when several processes may share the
        database (PostgreSQL, READ COMMITTED): a scheduler that posts it waits here for another one
        posting it now, then reads the row that one committed (with its cursor and due instant
        advanced). SQLite's write transaction already excludes every other writer."""
        lock = " FOR UPDATE" if self._conn.dialect == "postgres" else ""
        return await self._one(f"SELECT * FROM subscriptions WHERE id = ?{lock}", (subscription_id,))

    async def require(self, subscription_id: int) -> Subscription:
        sub = await self.get_by_id(subscription_id)
        if sub is None:
            raise KeyError(f"no subscription with id {subscription_id}")
        return sub

    async def insert_many(self, subscriptions: Iterable[NewSubscription], now: datetime) -> int:
        """Create active subscriptions (chats already subscribed are left alone); returns how many
        were new. The table's one INSERT: a new row gets what is published from now on, plus the
        digests whose fan-out is still under way (its id is beyond every fan-out cursor)."""
        builder = _Rows(now, await self.fanout_floor(_BEYOND_ANY_ID, 0))
        rows = [builder.build(sub) for sub in subscriptions]
        added = 0
        for start in range(0, len(rows), INSERT_ROWS):
            chunk = rows[start : start + INSERT_ROWS]
            added += await self._conn.execute(_insert(len(chunk)), [value for row in chunk for value in row])
        return added

    async def create(self, sub: NewSubscription, now: datetime) -> Subscription:
        """One new subscription, read back; its chat and thread must not be subscribed yet."""
        await self.insert_many([sub], now)
        created = await self.get(sub.platform, sub.chat_id, sub.thread_id)
        if created is None:
            raise KeyError(f"subscription of {sub.platform} chat {sub.chat_id} was not created")
        return created

    async def set(self, subscription_id: int, now: datetime, **columns: Any) -> None:
        """Write the given columns (and updated_at) of one subscription."""
        assignments = ", ".join(f"{name} = ?" for name in columns)
        await self._conn.execute(
            f"UPDATE subscriptions SET {assignments}, updated_at = ? WHERE id = ?",
            (*columns.values(), to_db(now), subscription_id),
        )

    async def activate(self, sub: Subscription, now: datetime) -> None:
        """Back to active without a backlog: only digests from now on (and any fan-out still under
        way, which reaches it now) are delivered; nothing published while it was inactive."""
        await self.set(
            sub.id,
            now,
            status="active",
            paused_reason=None,
            paused_at=None,
            next_due_at=first_due(sub.schedule, sub.timezone, now),
            schedule_seq=await self.fanout_floor(sub.id, await self.schedule_seq(sub.id)),
        )

    async def set_inactive(
        self, subscription_id: int, status: str, reason: str | None, now: datetime
    ) -> None:
        """Pause or unsubscribe; an unsubscribed row stays unsubscribed (pausing it means nothing)."""
        if status not in ("paused", "unsubscribed"):
            raise ValueError(f"not an inactive status: {status!r}")
        await self._conn.execute(
            "UPDATE subscriptions SET status = ?, paused_reason = ?, paused_at = ?, updated_at = ?"
            " WHERE id = ? AND (? = 'unsubscribed' OR status != 'unsubscribed')",
            (status, reason, to_db(now) if status == "paused" else None, to_db(now), subscription_id, status),
        )

    async def reschedule(self, sub: Subscription, schedule: str, zone: str, now: datetime) -> dict[str, Any]:
        """Columns for a new schedule or time zone, so that switching loses and repeats nothing.

        instant -> at: digests whose fan-out has not reached this subscription yet (so never will)
        go into its first scheduled post. at -> instant: a catch-up post of what piled up since the
        last scheduled one is due at once (the scheduler fires it and then leaves the chat to
        fan-out), instead of that news being silently dropped; switching back before it fired
        keeps that backlog for the next scheduled post.
        """
        changes: dict[str, Any] = {"schedule": schedule, "timezone": zone}
        if schedule != "instant":
            changes["next_due_at"] = first_due(schedule, zone, now)
            if sub.schedule == "instant" and sub.next_due_at is None:
                changes["schedule_seq"] = await self.fanout_floor(sub.id, await self.schedule_seq(sub.id))
        elif sub.schedule != "instant":
            changes["next_due_at"] = to_db(now) if await self._backlog(sub.id) else None
        return changes  # instant -> instant in another zone: a pending catch-up stays due

    async def _backlog(self, subscription_id: int) -> bool:
        """Whether a scheduled subscription has digests waiting for its next post."""
        covered = await self.schedule_seq(subscription_id)
        upto = await self.fanout_floor(subscription_id, covered)
        return bool(await DigestRepo(self._conn).scheduled_after(subscription_id, covered, upto, 1))

    async def fanout_floor(self, subscription_id: int, above: int) -> int:
        """The newest digest seq (at least `above`) below every fan-out still to reach this subscription.

        Digests up to it were planned for the subscription already or were never its to get as
        instant ones; newer ones are still on their way through the planner.
        """
        rows = await self._conn.fetchall(
            "SELECT (SELECT min(seq) FROM digests WHERE plan_state = 'pending' AND plan_cursor < ?"
            " AND seq > ?), (SELECT coalesce(max(seq), 0) FROM digests)",
            (subscription_id, above),
        )
        first, newest = next(iter(rows))
        return max(above, first - 1 if first is not None else int(newest))

    async def migrate_chat(
        self, platform: str, old_chat_id: str, new_chat_id: str, new_kind: str, now: datetime
    ) -> tuple[list[int], list[int]]:
        """Move every subscription of a chat to its new id and kind; returns (moved ids, retired ids).

        When the new chat already has its own subscription for a thread, the old one is retired
        (unsubscribed) rather than merged, so the chat does not get each digest twice.
        """
        moved: list[int] = []
        retired: list[int] = []
        if old_chat_id == new_chat_id:  # a confused platform answer; "moving" would retire the chat
            return moved, retired
        rows = await self._conn.fetchall(
            "SELECT id, thread_id FROM subscriptions WHERE platform = ? AND chat_id = ?",
            (platform, old_chat_id),
        )
        for row in rows:
            if await self.get(platform, new_chat_id, row["thread_id"]) is not None:
                await self.set_inactive(row["id"], "unsubscribed", f"chat migrated to {new_chat_id}", now)
                retired.append(row["id"])
                continue
            await self.set(row["id"], now, chat_id=new_chat_id, kind=new_kind)
            moved.append(row["id"])
        return moved, retired

    async def active_in_chat(self, platform: str, chat_id: str) -> list[int]:
        """Ids of the active subscriptions of a chat, every forum topic included."""
        rows = await self._conn.fetchall(
            "SELECT id FROM subscriptions WHERE platform = ? AND chat_id = ? AND status = 'active'"
            " ORDER BY id",
            (platform, chat_id),
        )
        return [row["id"] for row in rows]

    async def due(self, now: datetime, limit: int) -> list[Subscription]:
        rows = await self._conn.fetchall(
            "SELECT * FROM subscriptions WHERE status = 'active' AND next_due_at IS NOT NULL"
            " AND next_due_at <= ? ORDER BY next_due_at, id LIMIT ?",
            (to_db(now), limit),
        )
        return [subscription_of(row) for row in rows]

    async def earliest_due(self) -> datetime | None:
        rows = await self._conn.fetchall(
            "SELECT min(next_due_at) FROM subscriptions WHERE status = 'active' AND next_due_at IS NOT NULL"
        )
        return from_db(next(iter(rows))[0])

    async def schedule_seq(self, subscription_id: int) -> int:
        rows = await self._conn.fetchall(
            "SELECT schedule_seq FROM subscriptions WHERE id = ?", (subscription_id,)
        )
        return int(next(iter(rows))[0])

    async def advance_schedule(
        self, subscription_id: int, next_due_at: datetime | None, schedule_seq: int, now: datetime
    ) -> None:
        await self.set(subscription_id, now, next_due_at=db_or_none(next_due_at), schedule_seq=schedule_seq)
