"""The deliveries ledger (outbox plus history) and the payloads it sends.

A row is written before anything is sent and moves pending -> sending -> sent | failed | skipped, or
to `interrupted` when the process died while its send was in flight, to `uncertain` when the
platform's answer was lost after the request left (it may have arrived), and from pending to
`expired` when it waited longer than delivery.max_age since it was first due. `sending` is committed before
the platform call, so after a crash the engine knows exactly which sends may have happened and never
repeats them. Payload bodies are stored once per distinct rendering and shared by reference: a
100k-chat broadcast usually renders to a handful of different messages.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiosqlite

from bot.store.times import from_db, to_db

OPEN_STATES = ("pending", "sending")


@dataclass(frozen=True, slots=True)
class StoredPayload:
    """One rendered message body as canonical JSON text, identified by its hash."""

    hash: str
    body: str

    @classmethod
    def of(cls, payload: Any) -> StoredPayload:
        body = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        return cls(hashlib.sha256(body.encode()).hexdigest(), body)


@dataclass(frozen=True, slots=True)
class NewDelivery:
    """A ledger row to create; (subscription_id, unit, part) is unique, so re-planning is harmless.

    `unit` is ``d<seq>`` for one digest's fan-out and ``s><cursor>`` for a scheduled post of the
    digests after that cursor (older rows have ``s<due time>``): never the clock, which can step back.
    """

    subscription_id: int
    unit: str
    part: int
    parts: int
    digest_seq: int
    platform: str
    chat_id: str
    thread_id: str | None
    kind: str
    payload: StoredPayload
    due_at: datetime


@dataclass(frozen=True, slots=True)
class Delivery:
    """A due row as the engine sees it."""

    id: int
    subscription_id: int
    unit: str
    part: int
    parts: int
    platform: str
    chat_id: str
    thread_id: str | None
    kind: str
    payload: dict[str, Any]
    plain: bool
    attempts: int
    quiet: str | None  # the subscription's quiet hours and zone, read with the row when it is claimed
    timezone: str
    retry_wait: float = 0.0  # seconds of rate-limit waits so far (the max_retry_wait ceiling)


@dataclass(frozen=True, slots=True)
class Expired:
    """What one expiry batch did: rows expired per (digest seq, platform), and whether it was full."""

    counts: dict[tuple[int, str], int]
    full: bool


# A row may go only when every earlier row of its subscription is finished: parts stay in order.
_IN_ORDER = """NOT EXISTS (
      SELECT 1 FROM deliveries e
      WHERE e.subscription_id = d.subscription_id AND e.state IN ('pending', 'sending') AND e.id < d.id)"""

_CLAIM = f"""
SELECT d.id, d.subscription_id, d.unit, d.part, d.parts, d.platform, d.chat_id, d.thread_id, d.kind,
       p.body, d.plain, d.attempts, s.quiet, s.timezone, d.retry_wait
FROM deliveries d JOIN payloads p ON p.id = d.payload_id JOIN subscriptions s ON s.id = d.subscription_id
WHERE d.state = 'pending' AND d.next_attempt_at <= ? AND d.due_at >= ?
  AND d.platform IN (SELECT value FROM json_each(?))
  AND d.id NOT IN (SELECT value FROM json_each(?))
  AND {_IN_ORDER}
ORDER BY d.next_attempt_at, d.id
LIMIT ?
"""


class DeliveryRepo:
    """Ledger queries on one connection; the caller owns the transaction."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def save_payloads(self, payloads: dict[str, str]) -> None:
        """Bodies by hash: one already stored stays (same hash, same body); one retention dropped
        ('') is written back."""
        await self._conn.executemany(
            "INSERT INTO payloads (hash, body) VALUES (?, ?)"
            " ON CONFLICT (hash) DO UPDATE SET body = excluded.body WHERE payloads.body = ''",
            list(payloads.items()),
        )

    async def _payload_ids(self, payloads: dict[str, str]) -> dict[str, int]:
        """Ids by hash; only bodies not stored yet (or dropped by retention) are sent to SQLite, so
        bodies the planner saved ahead do not pass through the batch's write transaction again."""
        ids = await self._stored_ids(payloads)
        missing = {digest: body for digest, body in payloads.items() if digest not in ids}
        if missing:
            await self.save_payloads(missing)
            ids |= await self._stored_ids(missing)
        return ids

    async def _stored_ids(self, payloads: Mapping[str, str]) -> dict[str, int]:
        rows = await self._conn.execute_fetchall(
            "SELECT hash, id FROM payloads WHERE body != '' AND hash IN (SELECT value FROM json_each(?))",
            (json.dumps(list(payloads)),),
        )
        return {row["hash"]: row["id"] for row in rows}

    async def add(self, rows: Sequence[NewDelivery], now: datetime) -> int:
        """Insert rows that do not exist yet; returns how many were new."""
        if not rows:
            return 0
        ids = await self._payload_ids({row.payload.hash: row.payload.body for row in rows})
        stamp = to_db(now)
        due: dict[datetime, str] = {}
        before = self._conn.total_changes
        await self._conn.executemany(
            "INSERT OR IGNORE INTO deliveries (subscription_id, unit, part, parts, digest_seq, platform,"
            " chat_id, thread_id, kind, payload_id, state, next_attempt_at, due_at, created_at,"
            " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?)",
            [
                (
                    row.subscription_id,
                    row.unit,
                    row.part,
                    row.parts,
                    row.digest_seq,
                    row.platform,
                    row.chat_id,
                    row.thread_id or "",
                    row.kind,
                    ids[row.payload.hash],
                    due.get(row.due_at) or due.setdefault(row.due_at, to_db(row.due_at)),
                    due[row.due_at],
                    stamp,
                    stamp,
                )
                for row in rows
            ],
        )
        return self._conn.total_changes - before

    async def claim(
        self,
        now: datetime,
        limit: int,
        platforms: Collection[str],
        exclude: Collection[int],
        fresh_since: datetime | None,
    ) -> list[Delivery]:
        """Due rows whose earlier rows (same subscription) are all finished: parts go out in order.
        Rows first due before `fresh_since` are never handed out, whether or not expired yet."""
        since = to_db(fresh_since) if fresh_since is not None else ""
        rows = await self._conn.execute_fetchall(
            _CLAIM, (to_db(now), since, json.dumps(list(platforms)), json.dumps(list(exclude)), limit)
        )
        return [
            Delivery(
                id=row[0],
                subscription_id=row[1],
                unit=row[2],
                part=row[3],
                parts=row[4],
                platform=row[5],
                chat_id=row[6],
                thread_id=row[7] or None,
                kind=row[8],
                payload=json.loads(row[9]),
                plain=bool(row[10]),
                attempts=row[11],
                quiet=row[12],
                timezone=row[13],
                retry_wait=row[14],
            )
            for row in rows
        ]

    async def _update(self, sql: str, params: tuple[Any, ...]) -> int:
        cursor = await self._conn.execute(sql, params)
        return cursor.rowcount

    async def mark_sending(self, delivery_id: int, now: datetime) -> bool:
        """False when the row is no longer pending (its subscription was paused meanwhile)."""
        changed = await self._update(
            "UPDATE deliveries SET state = 'sending', attempts = attempts + 1, updated_at = ?"
            " WHERE id = ? AND state = 'pending'",
            (to_db(now), delivery_id),
        )
        return changed == 1

    async def mark_sent(self, delivery_id: int, message_id: str, now: datetime) -> None:
        stamp = to_db(now)
        await self._update(
            "UPDATE deliveries SET state = 'sent', message_id = ?, last_error = NULL, sent_at = ?,"
            " updated_at = ? WHERE id = ?",
            (message_id, stamp, stamp, delivery_id),
        )

    async def retry(
        self, delivery_id: int, at: datetime, error: str, now: datetime, *, refund: bool, waited: float
    ) -> None:
        """Back to pending at `at`; `refund` un-counts the attempt (the platform only said 'slow down')
        and `waited` seconds of rate-limit wait are added to the row's total.

        A subscription paused or unsubscribed while this send was in flight had its other rows
        skipped then; this one is skipped now instead of going out after all.
        """
        await self._update(
            "UPDATE deliveries SET state = CASE WHEN (SELECT s.status FROM subscriptions s"
            " WHERE s.id = deliveries.subscription_id) = 'active' THEN 'pending' ELSE 'skipped' END,"
            " next_attempt_at = ?, last_error = ?, attempts = attempts - ?, retry_wait = retry_wait + ?,"
            " updated_at = ? WHERE id = ?",
            (to_db(at), error, 1 if refund else 0, waited, to_db(now), delivery_id),
        )

    async def defer(self, until: Mapping[int, datetime], now: datetime) -> None:
        """Not-yet-started rows wait (for a slow per-chat limit, for quiet hours to end) without
        holding an engine slot: delivery id -> its next attempt."""
        await self._conn.executemany(
            "UPDATE deliveries SET next_attempt_at = ?, updated_at = ? WHERE id = ? AND state = 'pending'",
            [(to_db(at), to_db(now), delivery_id) for delivery_id, at in until.items()],
        )

    async def fail(self, delivery_id: int, error: str, now: datetime) -> None:
        await self._update(
            "UPDATE deliveries SET state = 'failed', last_error = ?, updated_at = ? WHERE id = ?",
            (error, to_db(now), delivery_id),
        )

    async def mark_uncertain(self, delivery_id: int, error: str, now: datetime) -> None:
        """The request left but its answer never came: the message may be there, so never resend."""
        await self._update(
            "UPDATE deliveries SET state = 'uncertain', last_error = ?, updated_at = ? WHERE id = ?",
            (error, to_db(now), delivery_id),
        )

    async def expire(self, due_before: datetime, error: str, now: datetime, limit: int) -> Expired:
        """Up to `limit` pending rows first due before `due_before` become `expired`, oldest first."""
        rows = await self._conn.execute_fetchall(
            "UPDATE deliveries SET state = 'expired', last_error = ?, updated_at = ?"
            " WHERE id IN (SELECT id FROM deliveries WHERE state = 'pending' AND due_at < ?"
            "  ORDER BY due_at, id LIMIT ?)"
            " RETURNING digest_seq, platform",
            (error, to_db(now), to_db(due_before), limit),
        )
        counts: dict[tuple[int, str], int] = {}
        for seq, platform in rows:
            counts[(seq, platform)] = counts.get((seq, platform), 0) + 1
        return Expired(counts, full=len(rows) >= limit)

    async def set_plain(self, delivery_id: int, error: str, now: datetime) -> None:
        await self._update(
            "UPDATE deliveries SET plain = 1, last_error = ?, updated_at = ? WHERE id = ?",
            (error, to_db(now), delivery_id),
        )

    async def skip_pending(self, subscription_id: int, reason: str, now: datetime) -> int:
        """Pending rows of a subscription that must not be sent any more (paused, gone, unsubscribed)."""
        return await self._update(
            "UPDATE deliveries SET state = 'skipped', last_error = ?, updated_at = ?"
            " WHERE subscription_id = ? AND state = 'pending'",
            (reason, to_db(now), subscription_id),
        )

    async def skip_inactive(self, now: datetime) -> int:
        """Pending rows of every subscription that is not active (e.g. a broadcast just removed from
        the config), with the same reason text as pausing or unsubscribing gives."""
        return await self._update(
            "UPDATE deliveries SET state = 'skipped', updated_at = ?, last_error ="
            " (SELECT s.status || ifnull(': ' || s.paused_reason, '') FROM subscriptions s"
            "  WHERE s.id = deliveries.subscription_id)"
            " WHERE state = 'pending' AND"
            " (SELECT s.status FROM subscriptions s WHERE s.id = deliveries.subscription_id) != 'active'",
            (to_db(now),),
        )

    async def retarget(self, subscription_id: int, chat_id: str, kind: str, now: datetime) -> None:
        await self._update(
            "UPDATE deliveries SET chat_id = ?, kind = ?, updated_at = ?"
            " WHERE subscription_id = ? AND state IN ('pending', 'sending')",
            (chat_id, kind, to_db(now), subscription_id),
        )

    async def interrupt_sending(self, now: datetime) -> int:
        """Rows left `sending` by a crash: the send may or may not have happened, so never resend."""
        return await self._update(
            "UPDATE deliveries SET state = 'interrupted', last_error = 'interrupted while sending',"
            " updated_at = ? WHERE state = 'sending'",
            (to_db(now),),
        )

    async def interrupt(self, delivery_ids: Collection[int], now: datetime) -> int:
        return await self._update(
            "UPDATE deliveries SET state = 'interrupted', last_error = 'interrupted while sending',"
            " updated_at = ? WHERE state = 'sending' AND id IN (SELECT value FROM json_each(?))",
            (to_db(now), json.dumps(list(delivery_ids))),
        )

    async def next_attempt_at(
        self, platforms: Collection[str], fresh_since: datetime | None
    ) -> datetime | None:
        """When the next row becomes claimable; rows waiting behind an earlier part, and rows too old
        to be claimed (the expiry sweep's), do not count."""
        rows = await self._conn.execute_fetchall(
            "SELECT d.next_attempt_at FROM deliveries d"
            " WHERE d.state = 'pending' AND d.due_at >= ? AND d.platform IN (SELECT value FROM json_each(?))"
            f" AND {_IN_ORDER} ORDER BY d.next_attempt_at LIMIT 1",
            (to_db(fresh_since) if fresh_since is not None else "", json.dumps(list(platforms))),
        )
        return from_db(next(iter(rows))[0]) if rows else None

    async def counts_since(self, since: datetime) -> dict[str, int]:
        rows = await self._conn.execute_fetchall(
            "SELECT state, count(*) FROM deliveries WHERE updated_at >= ? GROUP BY state ORDER BY state",
            (to_db(since),),
        )
        return {state: count for state, count in rows}

    async def fanout(self, digest_seq: int) -> dict[str, Any]:
        """Progress of one digest's instant fan-out: rows by state and when the last one was sent."""
        rows = await self._conn.execute_fetchall(
            "SELECT state, count(*), max(sent_at) FROM deliveries WHERE digest_seq = ? AND unit = ?"
            " GROUP BY state",
            (digest_seq, f"d{digest_seq}"),
        )
        states = {state: count for state, count, _ in rows}
        last_sent = max((sent for _, _, sent in rows if sent), default=None)
        return {"states": states, "last_sent_at": from_db(last_sent)}

    async def summary(self, subscription_id: int) -> dict[str, Any]:
        rows = await self._conn.execute_fetchall(
            "SELECT max(sent_at),"
            " sum(state IN ('pending', 'sending')) FROM deliveries WHERE subscription_id = ?",
            (subscription_id,),
        )
        last_sent, pending = next(iter(rows))
        errors = await self._conn.execute_fetchall(
            "SELECT last_error, updated_at FROM deliveries WHERE subscription_id = ? AND state = 'failed'"
            " ORDER BY updated_at DESC LIMIT 1",
            (subscription_id,),
        )
        error = next(iter(errors)) if errors else None
        if error is not None and last_sent is not None and error["updated_at"] < last_sent:
            error = None  # an old failure that later deliveries have made irrelevant
        return {
            "last_sent_at": from_db(last_sent),
            "pending": pending or 0,
            "last_error": error["last_error"] if error else None,
            "last_error_at": from_db(error["updated_at"]) if error else None,
        }

    async def open_count(self) -> int:
        rows = await self._conn.execute_fetchall(
            "SELECT count(*) FROM deliveries WHERE state IN ('pending', 'sending')"
        )
        return int(next(iter(rows))[0])
