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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.store.connection import Connection
from bot.store.dialect import json_ids, json_texts
from bot.store.ledger_insert import insert_deliveries_many
from bot.store.times import to_db


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
    """A due row as the engine sees it; `subscription_id` is None for an error-chat summary."""

    id: int
    subscription_id: int | None
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
    pin: bool = False  # the first part of a digest for a subscription that pins (/pin on)


@dataclass(frozen=True, slots=True)
class Expired:
    """What one expiry batch did: rows expired per (digest seq, platform), and whether it was full."""

    counts: dict[tuple[int | None, str], int]  # None: announcement rows, which carry no digest
    full: bool


class DeliveryRepo:
    """Ledger queries on one connection; the caller owns the transaction."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def save_payloads(self, payloads: dict[str, str]) -> None:
        """Bodies by hash: one already stored stays (same hash, same body); one retention dropped
        ('') is written back."""
        await self._conn.executemany(
            "INSERT INTO payloads (hash, body) VALUES (?, ?)"
            " ON CONFLICT (hash) DO UPDATE SET body = excluded.body WHERE payloads.body = ''",
            list(payloads.items()),
        )

    async def payload_ids(self, payloads: Mapping[str, str], now: datetime) -> dict[str, int]:
        """Ids by hash of bodies about to be queued; only bodies not stored yet (or dropped by
        retention) are sent to SQLite, so bodies the planner saved ahead do not pass through the
        batch's write transaction again. Each is stamped `used_at` (retention keeps a body that
        long after): once per body here, not once per ledger row that uses it."""
        ids = await self._stored_ids(payloads)
        missing = {digest: body for digest, body in payloads.items() if digest not in ids}
        if missing:
            await self.save_payloads(missing)
            ids |= await self._stored_ids(missing)
        stamp = to_db(now)
        await self._conn.execute(
            f"UPDATE payloads SET used_at = ? WHERE id IN {json_ids(self._conn.dialect)}"
            " AND coalesce(used_at, '') < ?",
            (stamp, json.dumps(sorted(ids.values())), stamp),
        )
        return ids

    async def _stored_ids(self, payloads: Mapping[str, str]) -> dict[str, int]:
        rows = await self._conn.fetchall(
            f"SELECT hash, id FROM payloads WHERE body != '' AND hash IN {json_texts(self._conn.dialect)}",
            (json.dumps(list(payloads)),),
        )
        return {row["hash"]: row["id"] for row in rows}

    async def add(self, rows: Sequence[NewDelivery], now: datetime) -> int:
        """Insert rows that do not exist yet; returns how many were new."""
        if not rows:
            return 0
        ids = await self.payload_ids({row.payload.hash: row.payload.body for row in rows}, now)
        stamp = to_db(now)
        due: dict[datetime, str] = {}
        return await insert_deliveries_many(
            self._conn,
            "INSERT INTO deliveries (subscription_id, unit, part, parts, digest_seq, platform,"
            " chat_id, thread_id, kind, payload_id, state, next_attempt_at, due_at, created_at,"
            " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?)"
            " ON CONFLICT DO NOTHING",
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

    async def _update(self, sql: str, params: tuple[Any, ...]) -> int:
        return await self._conn.execute(sql, params)

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
            " (SELECT s.status || coalesce(': ' || s.paused_reason, '') FROM subscriptions s"
            "  WHERE s.id = deliveries.subscription_id)"
            " WHERE state = 'pending' AND"
            " (SELECT s.status FROM subscriptions s WHERE s.id = deliveries.subscription_id) != 'active'",
            (to_db(now),),
        )

    async def retarget(self, subscription_id: int, chat_id: str, kind: str, now: datetime) -> None:
        """Unsent rows of a subscription whose chat moved go to the new chat, as its new kind."""
        await self._update(
            "UPDATE deliveries SET chat_id = ?, kind = ?, updated_at = ?"
            " WHERE subscription_id = ? AND state IN ('pending', 'sending')",
            (chat_id, kind, to_db(now), subscription_id),
        )
