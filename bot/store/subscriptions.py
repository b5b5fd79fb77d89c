"""The subscriptions table: who receives what, when, and in which language and time zone.

Settings are never deleted: unsubscribing or pausing only changes the status, so coming back restores
them. Scheduled (``at HH:MM``) subscriptions keep their next due instant here, which makes the
schedule survive restarts, plus `schedule_seq`, the newest digest their last post covered.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

import aiosqlite

from bot.core.codec import filter_from_dict, filter_to_dict
from bot.core.model import Filter, Vocabulary
from bot.core.schedule import QuietHours, next_due, parse_schedule, parse_timezone
from bot.store.digests import DigestRepo
from bot.store.times import from_db, to_db

KINDS = frozenset({"private", "group", "supergroup", "channel", "guild_channel", "forum", "dm", "console"})
LANGUAGES = frozenset({"zh", "en"})
_UNSET: Any = object()
_BEYOND_ANY_ID = 2**63 - 1


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


@dataclass(frozen=True, slots=True)
class NewSubscription:
    """One row for `insert_many` (bulk imports, benchmarks); validated like `subscribe`."""

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


def encode_filter(filter: Filter) -> str:
    return json.dumps(filter_to_dict(filter), ensure_ascii=False, separators=(",", ":"))


def _subscription(row: sqlite3.Row) -> Subscription:
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
    )


def _check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise ValueError(f"unknown chat kind {kind!r}: expected one of {', '.join(sorted(KINDS))}")
    return kind


def _check_language(language: str) -> str:
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}: expected zh or en")
    return language


def _normal_schedule(text: str) -> str:
    return str(parse_schedule(text))


def _first_due(schedule: str, timezone: str, now: datetime) -> datetime | None:
    return next_due(parse_schedule(schedule), now, parse_timezone(timezone))


def broadcast_kind(platform: str, chat: str) -> str:
    """Best guess for a config broadcast's chat kind; an existing row keeps what the platform told us.

    Telegram private chats have positive ids; anything else may be a group, where the stricter
    per-group rate limit must apply, so the guess errs on that side.
    """
    if platform == "discord":
        return "guild_channel"
    if platform == "console":
        return "console"
    return "private" if chat.isdigit() else "group"


class SubscriptionRepo:
    """Subscription queries on one connection; the caller owns the transaction."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def _one(self, sql: str, params: Iterable[Any]) -> Subscription | None:
        rows = await self._conn.execute_fetchall(sql, tuple(params))
        return _subscription(next(iter(rows))) if rows else None

    async def get(self, platform: str, chat_id: str, thread_id: str | None) -> Subscription | None:
        return await self._one(
            "SELECT * FROM subscriptions WHERE platform = ? AND chat_id = ? AND thread_id = ?",
            (platform, chat_id, thread_id or ""),
        )

    async def get_by_id(self, subscription_id: int) -> Subscription | None:
        return await self._one("SELECT * FROM subscriptions WHERE id = ?", (subscription_id,))

    async def require(self, subscription_id: int) -> Subscription:
        sub = await self.get_by_id(subscription_id)
        if sub is None:
            raise KeyError(f"no subscription with id {subscription_id}")
        return sub

    async def _max_digest_seq(self) -> int:
        rows = await self._conn.execute_fetchall("SELECT ifnull(max(seq), 0) FROM digests")
        return int(next(iter(rows))[0])

    async def _set(self, subscription_id: int, now: datetime, **columns: Any) -> None:
        assignments = ", ".join(f"{name} = ?" for name in columns)
        await self._conn.execute(
            f"UPDATE subscriptions SET {assignments}, updated_at = ? WHERE id = ?",
            (*columns.values(), to_db(now), subscription_id),
        )

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
        categories: frozenset[str] | None,
        now: datetime,
    ) -> tuple[Subscription, bool]:
        """Create, or re-activate keeping the old settings; given categories replace the old ones."""
        _check_kind(kind)
        existing = await self.get(platform, chat_id, thread_id)
        if existing is None:
            _check_language(language)
            zone = parse_timezone(timezone).key
            cursor = await self._conn.execute(
                "INSERT INTO subscriptions (platform, chat_id, thread_id, kind, title, filter, timezone,"
                " language, status, created_by, origin, schedule_seq, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'active', ?, 'user', ?, ?, ?)",
                (
                    platform,
                    chat_id,
                    thread_id or "",
                    kind,
                    title,
                    encode_filter(Filter(categories=categories or frozenset())),
                    zone,
                    language,
                    created_by,
                    await self._starting_seq(),
                    to_db(now),
                    to_db(now),
                ),
            )
            return await self.require(cursor.lastrowid or 0), True
        changes: dict[str, Any] = {"kind": kind, "title": title}
        if created_by is not None:
            changes["created_by"] = created_by
        if categories is not None:
            changes["filter"] = encode_filter(
                Filter(categories, existing.filter.include, existing.filter.exclude)
            )
        await self._set(existing.id, now, **changes)
        if existing.status != "active":
            await self._activate(existing, now)
        return await self.require(existing.id), False

    async def _activate(self, sub: Subscription, now: datetime) -> None:
        """Back to active without a backlog: only digests from now on (and any fan-out still under
        way, which reaches it now) are delivered; nothing published while it was inactive."""
        await self._set(
            sub.id,
            now,
            status="active",
            paused_reason=None,
            paused_at=None,
            next_due_at=_db_or_none(_first_due(sub.schedule, sub.timezone, now)),
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

    async def resume(self, subscription_id: int, now: datetime) -> Subscription:
        sub = await self.require(subscription_id)
        if sub.status != "active":
            await self._activate(sub, now)
        return await self.require(subscription_id)

    async def update(
        self,
        subscription_id: int,
        now: datetime,
        *,
        filter: Filter | None = None,
        schedule: str | None = None,
        timezone: str | None = None,
        language: str | None = None,
        quiet: str | None = _UNSET,
        title: str | None = None,
    ) -> Subscription:
        """Validate everything first (ValueError names the bad argument), then write in one statement."""
        sub = await self.require(subscription_id)
        changes: dict[str, Any] = {}
        if filter is not None:
            changes["filter"] = encode_filter(filter)
        if language is not None:
            changes["language"] = _check_language(language)
        if title is not None:
            changes["title"] = title
        if quiet is not _UNSET:
            changes["quiet"] = None if quiet is None else str(QuietHours.parse(quiet))
        new_schedule = sub.schedule if schedule is None else _normal_schedule(schedule)
        new_zone = sub.timezone if timezone is None else parse_timezone(timezone).key
        if (new_schedule, new_zone) != (sub.schedule, sub.timezone):
            changes.update(await self._reschedule(sub, new_schedule, new_zone, now))
        if changes:
            await self._set(subscription_id, now, **changes)
        return await self.require(subscription_id)

    async def _reschedule(self, sub: Subscription, schedule: str, zone: str, now: datetime) -> dict[str, Any]:
        """Columns for a new schedule or time zone, so that switching loses and repeats nothing.

        instant -> at: digests whose fan-out has not reached this subscription yet (so never will)
        go into its first scheduled post. at -> instant: a catch-up post of what piled up since the
        last scheduled one is due at once (the scheduler fires it and then leaves the chat to
        fan-out), instead of that news being silently dropped; switching back before it fired
        keeps that backlog for the next scheduled post.
        """
        changes: dict[str, Any] = {"schedule": schedule, "timezone": zone}
        if schedule != "instant":
            changes["next_due_at"] = _db_or_none(_first_due(schedule, zone, now))
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
        rows = await self._conn.execute_fetchall(
            "SELECT min(seq) FROM digests WHERE plan_state = 'pending' AND plan_cursor < ? AND seq > ?",
            (subscription_id, above),
        )
        first = next(iter(rows))[0]
        return max(above, first - 1 if first is not None else await self._max_digest_seq())

    async def _starting_seq(self) -> int:
        """schedule_seq of a new subscription: it gets what is published from now on, plus the
        digests whose fan-out is still under way (its id is beyond every fan-out cursor)."""
        return await self.fanout_floor(_BEYOND_ANY_ID, 0)

    async def migrate_chat(
        self, platform: str, old_chat_id: str, new_chat_id: str, new_kind: str, now: datetime
    ) -> tuple[list[int], list[int]]:
        """Move every subscription of a chat to its new id; returns (moved ids, retired ids).

        When the new chat already has its own subscription for a thread, the old one is retired
        (unsubscribed) rather than merged, so the chat does not get each digest twice.
        """
        moved: list[int] = []
        retired: list[int] = []
        if old_chat_id == new_chat_id:  # a confused platform answer; "moving" would retire the chat
            return moved, retired
        rows = await self._conn.execute_fetchall(
            "SELECT id, thread_id FROM subscriptions WHERE platform = ? AND chat_id = ?",
            (platform, old_chat_id),
        )
        for row in rows:
            if await self.get(platform, new_chat_id, row["thread_id"]) is not None:
                await self.set_inactive(row["id"], "unsubscribed", f"chat migrated to {new_chat_id}", now)
                retired.append(row["id"])
                continue
            await self._set(row["id"], now, chat_id=new_chat_id, kind=new_kind)
            moved.append(row["id"])
        return moved, retired

    async def active_in_chat(self, platform: str, chat_id: str) -> list[int]:
        """Ids of the active subscriptions of a chat, every forum topic included."""
        rows = await self._conn.execute_fetchall(
            "SELECT id FROM subscriptions WHERE platform = ? AND chat_id = ? AND status = 'active'"
            " ORDER BY id",
            (platform, chat_id),
        )
        return [row["id"] for row in rows]

    async def list_for_creator(self, platform: str, created_by: str) -> list[Subscription]:
        rows = await self._conn.execute_fetchall(
            "SELECT * FROM subscriptions WHERE platform = ? AND created_by = ? AND status != 'unsubscribed'"
            " ORDER BY id",
            (platform, created_by),
        )
        return [_subscription(row) for row in rows]

    async def insert_many(self, subscriptions: Iterable[NewSubscription], now: datetime) -> int:
        """Bulk-create active subscriptions (existing chats are left alone); returns how many were new.

        Validation results are cached per distinct value, so importing many rows costs little more
        than the inserts themselves.
        """
        schedule_seq, stamp = await self._starting_seq(), to_db(now)
        zones: dict[str, str] = {}
        schedules: dict[str, str] = {}
        dues: dict[tuple[str, str], str | None] = {}
        quiets: dict[str | None, str | None] = {None: None}
        rows = []
        for sub in subscriptions:
            if sub.timezone not in zones:
                zones[sub.timezone] = parse_timezone(sub.timezone).key
            if sub.schedule not in schedules:
                schedules[sub.schedule] = _normal_schedule(sub.schedule)
            zone, schedule = zones[sub.timezone], schedules[sub.schedule]
            if (schedule, zone) not in dues:
                dues[schedule, zone] = _db_or_none(_first_due(schedule, zone, now))
            if sub.quiet not in quiets:
                quiets[sub.quiet] = str(QuietHours.parse(sub.quiet))
            rows.append(
                (
                    sub.platform,
                    sub.chat_id,
                    sub.thread_id or "",
                    _check_kind(sub.kind),
                    sub.title,
                    encode_filter(sub.filter),
                    schedule,
                    zone,
                    _check_language(sub.language),
                    quiets[sub.quiet],
                    sub.created_by,
                    dues[schedule, zone],
                    schedule_seq,
                    stamp,
                    stamp,
                )
            )
        before = self._conn.total_changes
        await self._conn.executemany(
            "INSERT OR IGNORE INTO subscriptions (platform, chat_id, thread_id, kind, title, filter,"
            " schedule, timezone, language, quiet, status, created_by, origin, next_due_at, schedule_seq,"
            " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'active', ?, 'user', ?, ?, ?, ?)",
            rows,
        )
        return self._conn.total_changes - before

    async def sync_broadcasts(
        self,
        broadcasts: Iterable[Any],
        vocabulary: Vocabulary,
        *,
        default_timezone: str,
        default_language: str,
        now: datetime,
    ) -> list[Subscription]:
        """Upsert the operator's broadcasts (origin=config); config rows no longer listed are unsubscribed.

        A broadcast whose chat is paused (e.g. the bot was removed) stays paused: only an explicit
        resume, or the chat coming back, should restart sending.
        """
        kept: list[Subscription] = []
        for index, broadcast in enumerate(broadcasts):
            where = f"broadcasts.{index}"
            categories: set[str] = set()
            for name in broadcast.categories:
                category = vocabulary.resolve(name)
                if category is None:
                    raise ValueError(f"{where}.categories: unknown category {name!r}")
                categories.add(category.id)
            try:
                schedule = _normal_schedule(broadcast.schedule)
                zone = parse_timezone(broadcast.timezone or default_timezone).key
            except ValueError as exc:
                raise ValueError(f"{where}: {exc}") from None
            language = _check_language(broadcast.language or default_language)
            settings = {
                "filter": encode_filter(
                    Filter(frozenset(categories), tuple(broadcast.include), tuple(broadcast.exclude))
                ),
                "schedule": schedule,
                "timezone": zone,
                "language": language,
                "origin": "config",
            }
            existing = await self.get(broadcast.platform, broadcast.chat, broadcast.thread)
            if existing is None:
                cursor = await self._conn.execute(
                    "INSERT INTO subscriptions (platform, chat_id, thread_id, kind, title, filter, schedule,"
                    " timezone, language, status, origin, next_due_at, schedule_seq, created_at, updated_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'active', 'config', ?, ?, ?, ?)",
                    (
                        broadcast.platform,
                        broadcast.chat,
                        broadcast.thread or "",
                        broadcast_kind(broadcast.platform, broadcast.chat),
                        broadcast.chat,
                        settings["filter"],
                        schedule,
                        zone,
                        language,
                        _db_or_none(_first_due(schedule, zone, now)),
                        await self._starting_seq(),
                        to_db(now),
                        to_db(now),
                    ),
                )
                kept.append(await self.require(cursor.lastrowid or 0))
                continue
            if (existing.schedule, existing.timezone) != (schedule, zone):
                settings.update(await self._reschedule(existing, schedule, zone, now))
            await self._set(existing.id, now, **settings)
            if existing.status == "unsubscribed":
                await self._activate(await self.require(existing.id), now)
            kept.append(await self.require(existing.id))
        keep_ids = json.dumps([sub.id for sub in kept])
        await self._conn.execute(
            "UPDATE subscriptions SET status = 'unsubscribed', paused_reason = 'removed from config',"
            " paused_at = NULL, updated_at = ?"
            " WHERE origin = 'config' AND status != 'unsubscribed'"
            " AND id NOT IN (SELECT value FROM json_each(?))",
            (to_db(now), keep_ids),
        )
        return kept

    async def instant_after(self, after_id: int, limit: int, digest_seq: int) -> list[Recipient]:
        """Active instant subscriptions in id order after `after_id`: one fan-out batch of digest
        `digest_seq`. One whose schedule_seq already covers the digest is left out: it subscribed
        or resumed after the digest arrived, or a scheduled post of its own carried it."""
        rows = await self._conn.execute_fetchall(
            "SELECT id, platform, chat_id, thread_id, kind, filter, timezone, language, quiet"
            " FROM subscriptions WHERE status = 'active' AND schedule = 'instant' AND id > ?"
            " AND schedule_seq < ? ORDER BY id LIMIT ?",
            (after_id, digest_seq, limit),
        )
        return [Recipient(*row) for row in rows]

    async def due(self, now: datetime, limit: int) -> list[Subscription]:
        rows = await self._conn.execute_fetchall(
            "SELECT * FROM subscriptions WHERE status = 'active' AND next_due_at IS NOT NULL"
            " AND next_due_at <= ? ORDER BY next_due_at, id LIMIT ?",
            (to_db(now), limit),
        )
        return [_subscription(row) for row in rows]

    async def earliest_due(self) -> datetime | None:
        rows = await self._conn.execute_fetchall(
            "SELECT min(next_due_at) FROM subscriptions WHERE status = 'active' AND next_due_at IS NOT NULL"
        )
        return from_db(next(iter(rows))[0])

    async def schedule_seq(self, subscription_id: int) -> int:
        rows = await self._conn.execute_fetchall(
            "SELECT schedule_seq FROM subscriptions WHERE id = ?", (subscription_id,)
        )
        return int(next(iter(rows))[0])

    async def advance_schedule(
        self, subscription_id: int, next_due_at: datetime | None, schedule_seq: int, now: datetime
    ) -> None:
        await self._set(subscription_id, now, next_due_at=_db_or_none(next_due_at), schedule_seq=schedule_seq)

    async def counts(self) -> dict[str, dict[str, dict[str, int]]]:
        """platform -> kind -> status -> number of subscriptions."""
        rows = await self._conn.execute_fetchall(
            "SELECT platform, kind, status, count(*) FROM subscriptions GROUP BY platform, kind, status"
            " ORDER BY platform, kind, status"
        )
        result: dict[str, dict[str, dict[str, int]]] = {}
        for platform, kind, status, count in rows:
            result.setdefault(platform, {}).setdefault(kind, {})[status] = count
        return result


def _db_or_none(value: datetime | None) -> str | None:
    return None if value is None else to_db(value)
