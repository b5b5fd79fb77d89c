"""Operator actions on the store: announcements through the outbox, and forgetting a chat.

An announcement is a draft until its owner confirms it; the confirm marks it and writes one ledger
row per active subscription of its platform in one transaction, so it is idempotent (a second
confirm finds it confirmed), survives restarts (the rows are in the outbox) and never doubles (the
rows are unique per subscription and unit). The engine sends them like any digest part.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.store.database import Database
from bot.store.deliveries import StoredPayload
from bot.store.ledger_insert import insert_deliveries
from bot.store.times import to_db

# One row per active subscription of the platform, written by SQLite itself (no row passes through
# Python): a million-chat announcement is one statement.
_FAN_OUT = """
INSERT INTO deliveries (subscription_id, unit, part, parts, digest_seq, platform, chat_id,
    thread_id, kind, payload_id, state, next_attempt_at, due_at, created_at, updated_at)
SELECT id, CAST(? AS TEXT), 1, 1, NULL, platform, chat_id, thread_id, kind, CAST(? AS BIGINT), 'pending',
    CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT)
FROM subscriptions WHERE platform = ? AND status = 'active'
ON CONFLICT DO NOTHING
"""


@dataclass(frozen=True, slots=True)
class Confirmed:
    """What a confirm did: `found` False for an id this platform never had; `already` when it had
    been confirmed before (nothing written now); `recipients` is the fan-out written either time."""

    found: bool
    already: bool = False
    recipients: int = 0


@dataclass(frozen=True, slots=True)
class Forgotten:
    """What /forget deleted: the subscription's ledger rows and the message bodies only it used."""

    deliveries: int
    payloads: int


class OperatorOps(Database):
    """Announcements and forgetting; each operation is one committed transaction."""

    async def active_count(self, platform: str) -> int:
        """Active subscriptions of a platform: whom an announcement would reach."""
        async with self.statement(write=False) as tx:
            rows = await tx.conn.fetchall(
                "SELECT count(*) FROM subscriptions WHERE platform = ? AND status = 'active'", (platform,)
            )
        return int(next(iter(rows))[0])

    async def draft_announcement(self, platform: str, text: str, created_by: str) -> int:
        """Store a draft; its id is what the confirm button (or `/announce confirm ID`) names."""
        async with self.statement() as tx:
            row = await tx.conn.fetchone(
                "INSERT INTO announcements (platform, text, created_by, created_at) VALUES (?, ?, ?, ?)"
                " RETURNING id",
                (platform, text, created_by, to_db(self.clock.now())),
            )
            return int(row[0]) if row is not None else 0

    async def announcement_text(self, announcement_id: int, platform: str) -> str | None:
        """A draft's or sent announcement's text, or None for an id this platform never had."""
        async with self.statement(write=False) as tx:
            rows = await tx.conn.fetchall(
                "SELECT text FROM announcements WHERE id = ? AND platform = ?", (announcement_id, platform)
            )
        return str(next(iter(rows))[0]) if rows else None

    async def confirm_announcement(
        self, announcement_id: int, platform: str, payload: StoredPayload
    ) -> Confirmed:
        """Mark the draft confirmed and queue `payload` to every active subscription of its platform,
        atomically; a second call changes nothing and says so."""
        now = to_db(self.clock.now())
        async with self.transaction() as tx:
            conn = tx.conn
            rows = await conn.fetchall(
                "SELECT confirmed_at, recipients FROM announcements WHERE id = ? AND platform = ?",
                (announcement_id, platform),
            )
            if not rows:
                return Confirmed(found=False)
            confirmed_at, recipients = next(iter(rows))
            if confirmed_at is not None:
                return Confirmed(found=True, already=True, recipients=int(recipients))
            ids = await tx.deliveries.payload_ids({payload.hash: payload.body}, self.clock.now())
            count = await insert_deliveries(
                conn,
                _FAN_OUT,
                (f"a{announcement_id}", ids[payload.hash], now, now, now, now, platform),
                each=(None, "pending"),
            )
            await conn.execute(
                "UPDATE announcements SET confirmed_at = ?, recipients = ? WHERE id = ?",
                (now, count, announcement_id),
            )
        return Confirmed(found=True, recipients=count)

    async def enqueue_report(self, platform: str, chat_id: str, kind: str, payload: StoredPayload) -> None:
        """One error-chat summary into the outbox: a row of no subscription, due now."""
        moment = self.clock.now()
        now = to_db(moment)
        async with self.transaction() as tx:
            ids = await tx.deliveries.payload_ids({payload.hash: payload.body}, moment)
            await insert_deliveries(
                tx.conn,
                "INSERT INTO deliveries (subscription_id, unit, part, parts, digest_seq, platform, chat_id,"
                " kind, payload_id, state, next_attempt_at, due_at, created_at, updated_at)"
                " VALUES (NULL, ?, 1, 1, NULL, ?, ?, ?, ?, 'pending', ?, ?, ?, ?)",
                (f"r{now}", platform, chat_id, kind, ids[payload.hash], now, now, now, now),
                each=(None, "pending"),
            )

    async def forget(self, subscription_id: int) -> Forgotten:
        """Delete a subscription, its ledger rows and the bodies no other row uses, in one transaction."""
        async with self.transaction() as tx:
            conn = tx.conn
            used = await conn.fetchall(
                "SELECT DISTINCT payload_id FROM deliveries WHERE subscription_id = ?", (subscription_id,)
            )
            deliveries = await conn.execute(
                "DELETE FROM deliveries WHERE subscription_id = ?", (subscription_id,)
            )
            payloads = 0
            for (payload_id,) in used:
                payloads += await conn.execute(
                    "DELETE FROM payloads WHERE id = ?"
                    " AND NOT EXISTS (SELECT 1 FROM deliveries WHERE payload_id = ?)",
                    (payload_id, payload_id),
                )
            await conn.execute("DELETE FROM subscriptions WHERE id = ?", (subscription_id,))
        return Forgotten(deliveries, payloads)
