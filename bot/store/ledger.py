"""The delivery engine's side of the ledger: claiming due rows and recording each send's outcome.

Almost every operation is one statement, run in autocommit (`Database.statement`). The hot path
(mark sending, record sent) is group-committed: the marks, and the sent rows, that several sends
produced in a few milliseconds are each written by one statement (see delivery/commit.py).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection, Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from bot.core.schedule import after_quiet, silenced
from bot.store.database import Database
from bot.store.deliveries import Delivery, Expired, StoredPayload
from bot.store.times import from_db, to_db

PAYLOADS_PER_TRANSACTION = 64  # a large body is at most ~6 KB: under 0.5 MB per transaction
PARSED_KEEP = 64  # parsed payload bodies kept between claims (payload id -> body, parsed)
_PARSED: dict[int, tuple[str, Any]] = {}

# A row may go only when every earlier row of its subscription is finished: parts stay in order.
_IN_ORDER = """NOT EXISTS (
      SELECT 1 FROM deliveries e
      WHERE e.subscription_id = d.subscription_id AND e.state IN ('pending', 'sending') AND e.id < d.id)"""

_CLAIM = f"""
SELECT d.id, d.subscription_id, d.unit, d.part, d.parts, d.platform, d.chat_id, d.thread_id, d.kind,
       p.body, d.plain, d.attempts, s.quiet, ifnull(s.timezone, 'UTC'), d.retry_wait, d.payload_id,
       ifnull(s.pin, 0) AND d.part = 1 AND substr(d.unit, 1, 1) != 'a'
FROM deliveries d JOIN payloads p ON p.id = d.payload_id LEFT JOIN subscriptions s ON s.id = d.subscription_id
WHERE d.state = 'pending' AND d.next_attempt_at <= ? AND d.due_at >= ?
  AND d.platform IN (SELECT value FROM json_each(?))
  AND d.id NOT IN (SELECT value FROM json_each(?))
  AND {_IN_ORDER}
ORDER BY d.next_attempt_at, d.id
LIMIT ?
"""

_INTERRUPTED = "state = 'interrupted', last_error = 'interrupted while sending'"

_MARK_SENDING = """UPDATE deliveries SET state = 'sending', attempts = attempts + 1, updated_at = ?
WHERE id IN (SELECT value FROM json_each(?)) AND state = 'pending' RETURNING id"""

# One statement for many sent rows: each JSON element is [id, message id, when it was sent].
_MARK_SENT = """UPDATE deliveries SET state = 'sent', message_id = json_extract(j.value, '$[1]'),
  last_error = NULL, sent_at = json_extract(j.value, '$[2]'), updated_at = json_extract(j.value, '$[2]')
FROM json_each(?) AS j WHERE deliveries.id = json_extract(j.value, '$[0]')"""


class LedgerOps(Database):
    """The engine's operations on the deliveries ledger; each is committed when it returns."""

    async def _write(self, sql: str, params: tuple[Any, ...]) -> int:
        """One autocommitted statement; returns the number of rows it changed."""
        async with self.statement() as tx:
            cursor = await tx.conn.execute(sql, params)
            return cursor.rowcount

    async def save_payloads(self, payloads: Iterable[StoredPayload]) -> None:
        """Store rendered bodies ahead of the rows that use them, a few per transaction, so the
        megabytes of a large fan-out never hold the lock for long. Bodies are keyed by their hash:
        saving one twice, or one that no row ends up using, is harmless."""
        bodies = {payload.hash: payload.body for payload in payloads}
        hashes = list(bodies)
        for start in range(0, len(hashes), PAYLOADS_PER_TRANSACTION):
            async with self.transaction() as tx:
                chunk = hashes[start : start + PAYLOADS_PER_TRANSACTION]
                await tx.deliveries.save_payloads({h: bodies[h] for h in chunk})

    async def recover_interrupted(self) -> int:
        """At start-up: rows a crash left `sending` become `interrupted` and are never resent."""
        return await self._write(
            f"UPDATE deliveries SET {_INTERRUPTED}, updated_at = ? WHERE state = 'sending'",
            (to_db(self.clock.now()),),
        )

    async def claim_due(
        self,
        now: datetime,
        limit: int,
        platforms: Collection[str],
        exclude: Collection[int] = (),
        *,
        fresh_since: datetime | None = None,
    ) -> list[Delivery]:
        """Due rows to send now, in order (a row waits until every earlier row of its subscription
        is finished); with `fresh_since`, none first due before it (too old to send), whether or not
        expired yet. Quiet hours are checked here, as rows are handed out, so they hold every send
        (fresh rows, retries, rows deferred for a rate limit, a backlog that ran into the night,
        settings changed after planning): such a row is put back until they end. Silent quiet hours
        hold nothing: their rows go out now with `disable_notification` set."""
        since = to_db(fresh_since) if fresh_since is not None else ""
        async with self.statement(write=False) as tx:
            rows = await tx.conn.execute_fetchall(
                _CLAIM, (to_db(now), since, json.dumps(list(platforms)), json.dumps(list(exclude)), limit)
            )
        claimed = [_delivery(row) for row in rows]
        held = {row.id: at for row in claimed if (at := after_quiet(row.quiet, row.timezone, now)) > now}
        if held:
            async with self.transaction() as tx:
                await tx.deliveries.defer(held, now)
        return [_silenced(row, now) for row in claimed if row.id not in held]

    async def next_attempt_at(
        self, platforms: Collection[str], *, fresh_since: datetime | None = None
    ) -> datetime | None:
        """When the next row becomes claimable; rows waiting behind an earlier part, and rows too old
        to be claimed (the expiry sweep's), do not count."""
        async with self.statement(write=False) as tx:
            rows = await tx.conn.execute_fetchall(
                "SELECT d.next_attempt_at FROM deliveries d WHERE d.state = 'pending' AND d.due_at >= ?"
                f" AND d.platform IN (SELECT value FROM json_each(?)) AND {_IN_ORDER}"
                " ORDER BY d.next_attempt_at LIMIT 1",
                (to_db(fresh_since) if fresh_since is not None else "", json.dumps(list(platforms))),
            )
        return from_db(next(iter(rows))[0]) if rows else None

    async def mark_sending(self, delivery_id: int, now: datetime) -> bool:
        """Committed before the platform call: the record that a send may have happened. False when
        the row is no longer pending (its subscription was paused meanwhile)."""
        changed = await self._write(
            "UPDATE deliveries SET state = 'sending', attempts = attempts + 1, updated_at = ?"
            " WHERE id = ? AND state = 'pending'",
            (to_db(now), delivery_id),
        )
        return changed == 1

    async def mark_sending_many(self, delivery_ids: Sequence[int], now: datetime) -> set[int]:
        """`mark_sending` for a batch (group commit) in one statement; returns the ids marked."""
        async with self.statement() as tx:
            rows = await tx.conn.execute_fetchall(_MARK_SENDING, (to_db(now), json.dumps(list(delivery_ids))))
        return {row[0] for row in rows}

    async def mark_sent_many(self, sent: Sequence[tuple[int, str, datetime]]) -> None:
        """`mark_sent` for a batch of (id, message id, when) in one statement (group commit)."""
        done = json.dumps([[delivery_id, message_id, to_db(at)] for delivery_id, message_id, at in sent])
        async with self.statement() as tx:
            await tx.conn.execute(_MARK_SENT, (done,))

    async def mark_sent(self, delivery_id: int, message_id: str, now: datetime) -> None:
        stamp = to_db(now)
        await self._write(
            "UPDATE deliveries SET state = 'sent', message_id = ?, last_error = NULL, sent_at = ?,"
            " updated_at = ? WHERE id = ?",
            (message_id, stamp, stamp, delivery_id),
        )

    async def retry_delivery(
        self,
        delivery_id: int,
        at: datetime,
        error: str,
        now: datetime,
        *,
        refund: bool = False,
        waited: float = 0.0,
    ) -> None:
        """Back to pending at `at`; `refund` un-counts the attempt (the platform only said 'slow down')
        and `waited` seconds of rate-limit wait are added to the row's total.

        A subscription paused or unsubscribed while this send was in flight had its other rows
        skipped then; this one is skipped now instead of going out after all. A row of no
        subscription (an error-chat summary) always goes back to pending.
        """
        await self._write(
            "UPDATE deliveries SET state = CASE WHEN subscription_id IS NULL OR (SELECT s.status"
            " FROM subscriptions s WHERE s.id = deliveries.subscription_id) = 'active'"
            " THEN 'pending' ELSE 'skipped' END,"
            " next_attempt_at = ?, last_error = ?, attempts = attempts - ?, retry_wait = retry_wait + ?,"
            " updated_at = ? WHERE id = ?",
            (to_db(at), error, 1 if refund else 0, waited, to_db(now), delivery_id),
        )

    async def mark_uncertain(self, delivery_id: int, error: str, now: datetime) -> None:
        """The request left but its answer never came: the message may be there, so never resend."""
        await self._write(
            "UPDATE deliveries SET state = 'uncertain', last_error = ?, updated_at = ? WHERE id = ?",
            (error, to_db(now), delivery_id),
        )

    async def expire_stale(self, due_before: datetime, error: str, now: datetime, limit: int) -> Expired:
        """One batch of the expiry sweep (one statement, so the lock is held only briefly): up to
        `limit` pending rows first due before `due_before` become `expired`, oldest first."""
        async with self.statement() as tx:
            rows = list(
                await tx.conn.execute_fetchall(
                    "UPDATE deliveries SET state = 'expired', last_error = ?, updated_at = ?"
                    " WHERE id IN (SELECT id FROM deliveries WHERE state = 'pending' AND due_at < ?"
                    "  ORDER BY due_at, id LIMIT ?)"
                    " RETURNING digest_seq, platform",
                    (error, to_db(now), to_db(due_before), limit),
                )
            )
        counts: dict[tuple[int | None, str], int] = {}
        for seq, platform in rows:
            counts[(seq, platform)] = counts.get((seq, platform), 0) + 1
        return Expired(counts, full=len(rows) >= limit)

    async def defer_delivery(self, delivery_id: int, at: datetime, now: datetime) -> None:
        """A rate limit says this chat must wait: the row gives its engine slot back until `at`."""
        async with self.statement() as tx:
            await tx.deliveries.defer({delivery_id: at}, now)

    async def fail_delivery(self, delivery_id: int, error: str, now: datetime) -> None:
        """A final failure of this row alone (the chat stays subscribed)."""
        async with self.statement() as tx:
            await tx.deliveries.fail(delivery_id, error, now)

    async def use_plain(self, delivery_id: int, error: str, now: datetime) -> None:
        """The platform refused the formatting: this row is sent as plain text from now on."""
        await self._write(
            "UPDATE deliveries SET plain = 1, last_error = ?, updated_at = ? WHERE id = ?",
            (error, to_db(now), delivery_id),
        )

    async def chat_gone(self, delivery: Delivery, reason: str, now: datetime) -> None:
        """Fail this row, skip the subscription's other unsent rows and pause it, all at once (a row
        of no subscription only fails)."""
        async with self.transaction() as tx:
            await tx.deliveries.fail(delivery.id, reason, now)
            if delivery.subscription_id is None:
                return
            await tx.deliveries.skip_pending(delivery.subscription_id, f"chat gone: {reason}", now)
            await tx.subscriptions.set_inactive(delivery.subscription_id, "paused", reason, now)

    async def interrupt(self, delivery_ids: Collection[int], now: datetime) -> int:
        """Sends abandoned at shutdown: their fate is unknown, so they are never retried."""
        return await self._write(
            f"UPDATE deliveries SET {_INTERRUPTED}, updated_at = ?"
            " WHERE state = 'sending' AND id IN (SELECT value FROM json_each(?))",
            (to_db(now), json.dumps(list(delivery_ids))),
        )


def _parsed(payload_id: int, body: str) -> Any:
    """The parsed body, shared by the rows of one payload, claim after claim: it is parsed once, and
    senders recognise it to reuse their encoding of it (nobody changes it: senders build their
    requests from it, `plain` makes a new one). Checked against the body, as an id may be reused."""
    cached = _PARSED.get(payload_id)
    if cached is not None and cached[0] == body:
        return cached[1]
    if len(_PARSED) >= PARSED_KEEP:
        del _PARSED[next(iter(_PARSED))]
    payload = json.loads(body)
    _PARSED[payload_id] = (body, payload)
    return payload


def _delivery(row: sqlite3.Row) -> Delivery:
    """A claimed row, its payload shared with the other rows of that payload (`_parsed`)."""
    payload = _parsed(row[15], row[9])
    return Delivery(
        id=row[0],
        subscription_id=row[1],
        unit=row[2],
        part=row[3],
        parts=row[4],
        platform=row[5],
        chat_id=row[6],
        thread_id=row[7] or None,
        kind=row[8],
        payload=payload,
        plain=bool(row[10]),
        attempts=row[11],
        quiet=row[12],
        timezone=row[13],
        retry_wait=row[14],
        pin=bool(row[16]),
    )


def _silenced(row: Delivery, now: datetime) -> Delivery:
    """The row as it goes out now: without a notification during silent quiet hours."""
    if not silenced(row.quiet, row.timezone, now):
        return row
    return replace(row, payload={**row.payload, "disable_notification": True})
