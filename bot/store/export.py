"""Subscriptions out of and into a database as whole rows: `digestbot export` / `digestbot import`.

Export reads every row in one read transaction (a consistent snapshot, in batches, so memory stays
bounded however many chats there are). Import writes everything in one write transaction: a line
the caller finds bad raises out of the row iterator and rolls all of it back, so nothing is ever
half imported. A chat (platform, chat, thread) already in the database is left as it is, which
makes importing the same lines twice the same as importing them once.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from itertools import islice

from bot.store.database import Database, Transaction
from bot.store.dialect import json_text_rows
from bot.store.subscriptions import NewSubscription, Subscription, subscription_of
from bot.store.times import to_db

BATCH = 500
STATUSES = frozenset({"active", "paused", "unsubscribed"})
Key = tuple[str, str, str]


@dataclass(frozen=True, slots=True)
class ReaderOptions:
    """A subscription's reader options (/format, /previews, /silent, /pin) as exported."""

    format: str = "full"
    previews: bool | None = None
    silent: bool = False
    pin: bool = False


DEFAULT_OPTIONS = ReaderOptions()


@dataclass(frozen=True, slots=True)
class ImportedSubscription:
    """One validated line: the subscription, the status it had where it was exported, its options."""

    new: NewSubscription
    status: str = "active"
    paused_reason: str | None = None
    options: ReaderOptions = DEFAULT_OPTIONS

    def key(self) -> Key:
        return (self.new.platform, self.new.chat_id, self.new.thread_id or "")


@dataclass(frozen=True, slots=True)
class ImportCounts:
    created: int = 0
    present: int = 0  # already in the database (or earlier in the same input): left unchanged


class TransferOps(Database):
    async def export_subscriptions(self, batch: int = BATCH) -> AsyncIterator[Subscription]:
        """Every subscription, whatever its status, in id order, from one snapshot."""
        async with self.transaction(write=False) as tx:
            after = 0
            while True:
                rows = list(
                    await tx.conn.fetchall(
                        "SELECT * FROM subscriptions WHERE id > ? ORDER BY id LIMIT ?", (after, batch)
                    )
                )
                for row in rows:
                    yield subscription_of(row)
                if len(rows) < batch:
                    return
                after = rows[-1]["id"]

    async def import_subscriptions(self, rows: Iterable[ImportedSubscription]) -> ImportCounts:
        """Create the chats not subscribed yet, with their exported status; one transaction for all,
        rolled back if iterating `rows` raises."""
        created = present = 0
        async with self.transaction() as tx:
            iterator = iter(rows)
            while chunk := list(islice(iterator, BATCH)):
                fresh = await _fresh(tx, chunk)
                present += len(chunk) - len(fresh)
                created += await _create(tx, self, fresh)
        return ImportCounts(created, present)


async def _fresh(tx: Transaction, chunk: list[ImportedSubscription]) -> list[ImportedSubscription]:
    """The chunk's rows whose chat is in neither the database nor earlier in the chunk."""
    keys = json.dumps([list(item.key()) for item in chunk])
    batch = json_text_rows(tx.conn.dialect, ("platform", "chat_id", "thread_id"))
    rows = await tx.conn.fetchall(
        f"SELECT s.platform, s.chat_id, s.thread_id FROM subscriptions AS s JOIN {batch} AS k"
        " ON s.platform = k.platform AND s.chat_id = k.chat_id AND s.thread_id = k.thread_id",
        (keys,),
    )
    seen: set[Key] = {(row[0], row[1], row[2]) for row in rows}
    fresh: list[ImportedSubscription] = []
    for item in chunk:
        if item.key() not in seen:
            seen.add(item.key())
            fresh.append(item)
    return fresh


async def _create(tx: Transaction, db: Database, items: list[ImportedSubscription]) -> int:
    now = db.clock.now()
    created = await tx.subscriptions.insert_many([item.new for item in items], now)
    inactive = [item for item in items if item.status != "active"]
    await tx.conn.executemany(
        "UPDATE subscriptions SET status = ?, paused_reason = ?, paused_at = ?"
        " WHERE platform = ? AND chat_id = ? AND thread_id = ?",
        [
            (item.status, item.paused_reason, to_db(now) if item.status == "paused" else None, *item.key())
            for item in inactive
        ],
    )
    await tx.conn.executemany(
        "UPDATE subscriptions SET format = ?, previews = ?, silent = ?, pin = ?"
        " WHERE platform = ? AND chat_id = ? AND thread_id = ?",
        [
            (
                o.format,
                None if o.previews is None else int(o.previews),
                int(o.silent),
                int(o.pin),
                *item.key(),
            )
            for item in items
            if (o := item.options) != DEFAULT_OPTIONS
        ],
    )
    return created
