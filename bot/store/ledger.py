"""The delivery engine's side of the ledger: claiming due rows and recording each send's outcome.

Almost every operation is one statement, run in autocommit (`Database.statement`). The hot path
(mark sending, record sent) is group-committed: the marks, and the sent rows, that several sends
produced in a few milliseconds are each written by one statement (see delivery/commit.py).
"""

from __future__ import annotations

import json
import os
import secrets
import socket
from collections.abc import Collection, Iterable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

from bot.core.schedule import after_quiet, silenced
from bot.store.connection import Connection, Dialect, Row
from bot.store.database import Database
from bot.store.deliveries import Delivery, Expired, StoredPayload
from bot.store.dialect import json_ids, json_text_rows, json_texts
from bot.store.times import from_db, to_db

PAYLOADS_PER_TRANSACTION = 64  # a large body is at most ~6 KB: under 0.5 MB per transaction
# How long a claim or a send holds its rows on PostgreSQL; the engine renews it well before (see
# delivery/leases.py), so only a dead process's rows outlive it: they return (pending) or are
# interrupted (sending) this long after its last renewal.
LEASE = timedelta(seconds=60)
PARSED_KEEP = 64  # parsed payload bodies kept between claims (payload id -> body, parsed)
_PARSED: dict[int, tuple[str, Any]] = {}

# A row may go only when every earlier row of its subscription is finished: parts stay in order.
_IN_ORDER = """NOT EXISTS (
      SELECT 1 FROM deliveries e
      WHERE e.subscription_id = d.subscription_id AND e.state IN ('pending', 'sending') AND e.id < d.id)"""

# What the engine reads of a claimed row (see _delivery); next_attempt_at last, for the order.
_CLAIMED_COLUMNS = """d.id, d.subscription_id, d.unit, d.part, d.parts, d.platform, d.chat_id, d.thread_id,
       d.kind, p.body, d.plain, d.attempts, s.quiet, coalesce(s.timezone, 'UTC') AS timezone,
       d.retry_wait, d.payload_id,
       CASE WHEN coalesce(s.pin, 0) = 1 AND d.part = 1 AND substr(d.unit, 1, 1) != 'a' THEN 1 ELSE 0 END
         AS pin, d.next_attempt_at"""


def _due(dialect: Dialect) -> str:
    """FROM and WHERE of the rows claimable now; parameters: now, fresh since, platforms, excluded."""
    return f"""FROM deliveries d JOIN payloads p ON p.id = d.payload_id
LEFT JOIN subscriptions s ON s.id = d.subscription_id
WHERE d.state = 'pending' AND d.next_attempt_at <= ? AND d.due_at >= ?
  AND d.platform IN {json_texts(dialect)}
  AND d.id NOT IN {json_ids(dialect)}
  AND {_IN_ORDER}"""


_CLAIM_SQLITE = f"SELECT {_CLAIMED_COLUMNS}\n{_due('sqlite')}\nORDER BY d.next_attempt_at, d.id LIMIT ?"

# Several processes share the outbox: rows are locked as they are picked (a row another claim holds
# right now is skipped, not waited for) and leased to this process; a live lease of another process
# keeps its rows out. Extra parameters: now and owner (whose leases do not count), limit, then the
# lease written: owner, until.
_CLAIM_POSTGRES = f"""
WITH picked AS (
  SELECT {_CLAIMED_COLUMNS}
  {_due("postgres")}
    AND (d.lease_until IS NULL OR d.lease_until <= ? OR d.lease_owner = ?)
  ORDER BY d.next_attempt_at, d.id LIMIT ?
  FOR UPDATE OF d SKIP LOCKED),
leased AS (
  UPDATE deliveries SET lease_owner = ?, lease_until = ? WHERE id IN (SELECT id FROM picked) RETURNING id)
SELECT picked.* FROM picked JOIN leased ON leased.id = picked.id ORDER BY picked.next_attempt_at, picked.id
"""


def _next_rows(dialect: Dialect) -> str:
    """FROM and WHERE of the rows that may become claimable; parameters: fresh since, platforms.
    SQLite would serve the due_at range from deliveries_stale, reading every fresh row of a backlog
    to find the earliest attempt; `+` keeps it on deliveries_due, whose order LIMIT 1 stops in."""
    due_at = "+d.due_at" if dialect == "sqlite" else "d.due_at"
    return f"""FROM deliveries d WHERE d.state = 'pending' AND {due_at} >= ?
  AND d.platform IN {json_texts(dialect)} AND {_IN_ORDER}"""


_NEXT_ATTEMPT = f"SELECT d.next_attempt_at {_next_rows('sqlite')} ORDER BY d.next_attempt_at LIMIT 1"
# PostgreSQL (extra parameter: this process's lease owner). Rows no other process's lease holds past
# their due time, in the order of deliveries_due; and the ends of the leases that do hold rows, in
# the order of deliveries_leased (a claim's worth of rows per live process, not the whole backlog).
_NEXT_UNLEASED = f"""SELECT d.next_attempt_at {_next_rows("postgres")}
  AND (d.lease_owner IS NULL OR d.lease_owner = ? OR d.lease_until <= d.next_attempt_at)
ORDER BY d.next_attempt_at LIMIT 1"""
_NEXT_LEASE_END = f"""SELECT d.lease_until {_next_rows("postgres")}
  AND d.lease_owner IS NOT NULL AND d.lease_owner != ? AND d.lease_until > d.next_attempt_at
ORDER BY d.lease_until LIMIT 1"""

_INTERRUPTED = "state = 'interrupted', last_error = 'interrupted while sending'"

# On PostgreSQL marking takes the lease too: the sweep interrupts a `sending` row only when the
# process that marked it stops renewing it.
_MARK_SENDING: dict[Dialect, str] = {
    "sqlite": f"""UPDATE deliveries SET state = 'sending', attempts = attempts + 1, updated_at = ?
WHERE id IN {json_ids("sqlite")} AND state = 'pending' RETURNING id""",
    "postgres": f"""UPDATE deliveries SET state = 'sending', attempts = attempts + 1, updated_at = ?,
  lease_owner = ?, lease_until = ?
WHERE id IN {json_ids("postgres")} AND state = 'pending' RETURNING id""",
}


def _mark_sent(dialect: Dialect) -> str:
    """One statement for many sent rows: each JSON element is [id, message id, when it was sent]."""
    done = json_text_rows(dialect, ("id", "message_id", "at"))
    return f"""UPDATE deliveries SET state = 'sent', message_id = j.message_id,
  last_error = NULL, sent_at = j.at, updated_at = j.at
FROM {done} AS j WHERE deliveries.id = CAST(j.id AS BIGINT)"""


class LedgerOps(Database):
    """The engine's operations on the deliveries ledger; each is committed when it returns."""

    async def _write(self, sql: str, params: tuple[Any, ...]) -> int:
        """One autocommitted statement; returns the number of rows it changed."""
        async with self.statement() as tx:
            return await tx.conn.execute(sql, params)

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

    @cached_property
    def lease_owner(self) -> str:
        """This store's id in the leases it takes: host, process and a random part (two stores of
        one process, as in the tests, are two owners)."""
        return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"

    lease = LEASE  # a test of dying processes shortens it, so a dead one's rows return in seconds

    def _lease_until(self, now: datetime) -> str:
        return to_db(now + self.lease)

    async def recover_interrupted(self) -> int:
        """Rows a dead process left `sending` become `interrupted` and are never resent. SQLite has
        one process: at its start-up every `sending` row is such a row. On PostgreSQL other live
        processes may be sending: only rows whose lease ran out count (the engine's periodic sweep)."""
        now = to_db(self.clock.now())
        if self.dialect == "sqlite":
            return await self._write(
                f"UPDATE deliveries SET {_INTERRUPTED}, updated_at = ? WHERE state = 'sending'", (now,)
            )
        return await self._write(
            f"UPDATE deliveries SET {_INTERRUPTED}, updated_at = ?, lease_owner = NULL, lease_until = NULL"
            " WHERE state = 'sending' AND (lease_until IS NULL OR lease_until <= ?)",
            (now, now),
        )

    async def renew_leases(self, delivery_ids: Collection[int], now: datetime) -> int:
        """Extend this process's leases on the rows it still holds (claimed or sending), so a live
        process never loses them to another; a no-op on SQLite, which takes no leases."""
        if self.dialect == "sqlite" or not delivery_ids:
            return 0
        return await self._write(
            "UPDATE deliveries SET lease_until = ? WHERE lease_owner = ?"
            f" AND state IN ('pending', 'sending') AND id IN {json_ids(self.dialect)}",
            (self._lease_until(now), self.lease_owner, json.dumps(list(delivery_ids))),
        )

    async def release_leases(self) -> int:
        """At shutdown: claimed rows this process never started go back to the other processes now,
        not when their lease runs out; a no-op on SQLite."""
        if self.dialect == "sqlite":
            return 0
        return await self._write(
            "UPDATE deliveries SET lease_owner = NULL, lease_until = NULL"
            " WHERE lease_owner = ? AND state = 'pending'",
            (self.lease_owner,),
        )

    async def unmark_sending(self, delivery_ids: Collection[int], now: datetime) -> int:
        """Rows whose mark failed but may have committed (PostgreSQL: the connection was lost with the
        COMMIT's answer) go back to pending, the attempt un-counted. Only this process's rows still
        `sending` change, and they were never sent: a row is sent only after its mark returned. A
        no-op on SQLite, where a failed mark did not commit (and takes no lease)."""
        if self.dialect == "sqlite" or not delivery_ids:
            return 0
        return await self._write(
            "UPDATE deliveries SET state = 'pending', attempts = attempts - 1, updated_at = ?,"
            " lease_owner = NULL, lease_until = NULL"
            f" WHERE state = 'sending' AND lease_owner = ? AND id IN {json_ids(self.dialect)}",
            (to_db(now), self.lease_owner, json.dumps(list(delivery_ids))),
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
        stamp = to_db(now)
        since = to_db(fresh_since) if fresh_since is not None else ""
        due = (stamp, since, json.dumps(list(platforms)), json.dumps(list(exclude)))
        if self.dialect == "sqlite":
            async with self.statement(write=False) as tx:
                rows = await tx.conn.fetchall(_CLAIM_SQLITE, (*due, limit))
        else:
            owner = self.lease_owner
            async with self.statement() as tx:
                rows = await tx.conn.fetchall(
                    _CLAIM_POSTGRES, (*due, stamp, owner, limit, owner, self._lease_until(now))
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
        to be claimed (the expiry sweep's), do not count. On PostgreSQL another process's live lease
        holds its rows until it ends: the earlier of two index walks, the earliest row no such lease
        holds past its due time (deliveries_due), and the earliest end of one (deliveries_leased)."""
        since = to_db(fresh_since) if fresh_since is not None else ""
        rows_of = (since, json.dumps(list(platforms)))
        async with self.statement(write=False) as tx:
            dialect = tx.conn.dialect
            if dialect == "sqlite":
                return await _earliest(tx.conn, _NEXT_ATTEMPT, rows_of)
            owner = (self.lease_owner,)
            free = await _earliest(tx.conn, _NEXT_UNLEASED, (*rows_of, *owner))
            held = await _earliest(tx.conn, _NEXT_LEASE_END, (*rows_of, *owner))
        return min((at for at in (free, held) if at is not None), default=None)

    async def due_stock(
        self, now: datetime, limit: int, platforms: Collection[str] | None, *, fresh_since: datetime | None
    ) -> int:
        """How many pending rows are due now (up to `limit`: a bounded walk of deliveries_due), of
        `platforms` (None: all) and not too old to send: what the engine has left to claim. Rows
        waiting for a retry, or for quiet hours to end, are due later and do not count."""
        platform = f" AND platform IN {json_texts(self.dialect)}" if platforms is not None else ""
        chosen = () if platforms is None else (json.dumps(list(platforms)),)
        async with self.statement(write=False) as tx:
            rows = await tx.conn.fetchall(
                "SELECT count(*) FROM (SELECT 1 FROM deliveries WHERE state = 'pending'"
                f" AND next_attempt_at <= ? AND due_at >= ?{platform} LIMIT ?) AS due",
                (to_db(now), "" if fresh_since is None else to_db(fresh_since), *chosen, limit),
            )
        return int(next(iter(rows))[0])

    async def mark_sending(self, delivery_id: int, now: datetime) -> bool:
        """Committed before the platform call: the record that a send may have happened. False when
        the row is no longer pending (its subscription was paused meanwhile)."""
        return await self.mark_sending_many([delivery_id], now) == {delivery_id}

    async def mark_sending_many(self, delivery_ids: Sequence[int], now: datetime) -> set[int]:
        """`mark_sending` for a batch (group commit) in one statement; returns the ids marked."""
        ids = json.dumps(list(delivery_ids))
        async with self.statement() as tx:
            dialect = tx.conn.dialect
            lease = () if dialect == "sqlite" else (self.lease_owner, self._lease_until(now))
            rows = await tx.conn.fetchall(_MARK_SENDING[dialect], (to_db(now), *lease, ids))
        return {row[0] for row in rows}

    async def mark_sent_many(self, sent: Sequence[tuple[int, str, datetime]]) -> None:
        """`mark_sent` for a batch of (id, message id, when) in one statement (group commit)."""
        done = json.dumps([[delivery_id, message_id, to_db(at)] for delivery_id, message_id, at in sent])
        async with self.statement() as tx:
            await tx.conn.execute(_mark_sent(tx.conn.dialect), (done,))

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
            (to_db(at), error, 1 if refund else 0, float(waited), to_db(now), delivery_id),
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
                await tx.conn.fetchall(
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
            f" WHERE state = 'sending' AND id IN {json_ids(self.dialect)}",
            (to_db(now), json.dumps(list(delivery_ids))),
        )


async def _earliest(conn: Connection, sql: str, params: tuple[Any, ...]) -> datetime | None:
    """The one time a `... LIMIT 1` query selects, if any row matched."""
    rows = await conn.fetchall(sql, params)
    return from_db(next(iter(rows))[0]) if rows else None


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


def _delivery(row: Row) -> Delivery:
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
