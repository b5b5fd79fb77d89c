"""The one Store: an aiosqlite connection, its migrations, and every operation the bot needs.

One connection serves the whole process; an asyncio lock makes each operation its own transaction,
so the planner, scheduler, engine and command handlers never see (or commit) each other's half-done
work. WAL lets other processes (e.g. `digestbot stats`) read while the bot writes.
synchronous=NORMAL keeps every commit safe from a process crash (the case the ledger's
exactly-once promise is about) without an fsync per commit; an OS crash may lose the last commits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Collection, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiosqlite

from bot.core.model import Digest, Filter, Vocabulary
from bot.core.schedule import after_quiet
from bot.store.deliveries import Delivery, DeliveryRepo, Expired, StoredPayload
from bot.store.digests import DigestRepo, RecordResult, decode_digest
from bot.store.health import StoreHealth, is_damaged, is_fault, reason
from bot.store.retention import RetentionRepo
from bot.store.subscriptions import _UNSET, Subscription, SubscriptionRepo

if TYPE_CHECKING:
    from bot.config import Broadcast
    from bot.sources.base import Incoming

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 10_000
PAYLOADS_PER_TRANSACTION = 64  # a Discord body is at most ~6 KB: under 0.5 MB per transaction
QUICK_CHECK_PROBLEMS = 3  # enough to say what is wrong without printing a damaged file's every page
DAMAGED_HINT = "restore it from a backup, or move it away to start with an empty database"
CHECKPOINT_WAIT_MS = 200


class StoreError(Exception):
    """The database cannot be used: unreadable file, failed migration, or a schema from the future."""


class StoreUnavailable(StoreError):
    """An operation failed because of the database file or the system (see health.is_fault);
    the same operation may work later, so callers retry with back-off instead of at once."""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def load_migrations() -> list[Migration]:
    """The packaged `NNN_name.sql` files in order; numbering must be 1, 2, 3... without gaps (a
    database is migrated past every number below its version, so a late-filled gap would never run)."""
    folder = files("bot.store").joinpath("migrations")
    found: list[Migration] = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            number, _, _ = entry.name.partition("_")
            if not number.isdigit():
                raise StoreError(f"migration {entry.name}: name must start with a number, e.g. 002_x.sql")
            found.append(Migration(int(number), entry.name, entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    for expected, migration in enumerate(found, start=1):
        if migration.version != expected:
            raise StoreError(f"migration {migration.name}: expected number {expected:03d}")
    return found


def split_statements(sql: str) -> list[str]:
    """Complete SQL statements of a script, split where sqlite3 itself says a statement ends."""
    statements: list[str] = []
    current = ""
    for line in sql.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            if current.strip():
                statements.append(current.strip())
            current = ""
    leftover = "\n".join(line for line in current.splitlines() if not line.strip().startswith("--"))
    if leftover.strip():
        raise StoreError(f"unterminated SQL statement: {current.strip()[:80]!r}")
    return statements


class Transaction:
    """The repositories bound to the connection inside one open transaction."""

    __slots__ = ("deliveries", "digests", "retention", "subscriptions")

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self.digests = DigestRepo(conn)
        self.subscriptions = SubscriptionRepo(conn)
        self.deliveries = DeliveryRepo(conn)
        self.retention = RetentionRepo(conn)


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Store:
    """Open with `await Store.open(path)`; every public method is one committed transaction."""

    def __init__(self, conn: aiosqlite.Connection, path: str, clock: Callable[[], datetime]) -> None:
        self._conn = conn
        self._lock = asyncio.Lock()
        self.path = path
        self.clock = clock
        self.health = StoreHealth(path)
        self._scopes: dict[str, str] = {}

    @classmethod
    async def open(cls, path: str | Path, *, clock: Callable[[], datetime] = _utcnow) -> Store:
        """Connect, set the pragmas, check the file (PRAGMA quick_check, O(size) once) and apply
        pending migrations in one transaction; a damaged file is refused instead of run half-broken."""
        try:
            conn = await aiosqlite.connect(str(path), isolation_level=None)
        except sqlite3.Error as exc:
            raise StoreError(f"{path}: cannot open the database: {exc}") from exc
        try:
            conn.row_factory = sqlite3.Row
            await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            await _use_wal(conn)
            await conn.execute("PRAGMA synchronous = NORMAL")
            await conn.execute("PRAGMA foreign_keys = ON")
            await _quick_check(conn, str(path))
            await _migrate(conn, str(path))
        except sqlite3.DatabaseError as exc:
            await conn.close()
            if is_damaged(exc):
                raise StoreError(f"{path}: the database is damaged ({exc}); {DAMAGED_HINT}") from exc
            raise StoreError(f"{path}: cannot use the database: {exc}") from exc
        except BaseException:
            await conn.close()
            raise
        return cls(conn, str(path), clock)

    async def close(self) -> None:
        async with self._lock:
            await self._conn.close()

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    @asynccontextmanager
    async def transaction(self, *, write: bool = True) -> AsyncIterator[Transaction]:
        """One transaction at a time; rolled back on any exception, including cancellation.

        BEGIN is inside the try and the rollback is unconditional (a no-op without a transaction):
        a task cancelled while its BEGIN is still queued on the database thread must not leave the
        shared connection inside a transaction that every later statement would silently join.
        """
        async with self._lock, self._guard(write=write):
            try:
                await self._conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                yield Transaction(self._conn)
                await self._conn.commit()
            except BaseException:
                with contextlib.suppress(sqlite3.Error):  # a failing disk may refuse this too
                    await self._conn.rollback()
                raise

    @asynccontextmanager
    async def _statement(self, *, write: bool = True) -> AsyncIterator[Transaction]:
        """For exactly one SQL statement: autocommit makes it atomic by itself, in one round trip
        to the database thread instead of three (BEGIN, statement, COMMIT). The hot path of the
        engine (claim, mark sending, record outcome) runs through here."""
        async with self._lock, self._guard(write=write):
            yield Transaction(self._conn)

    @asynccontextmanager
    async def _guard(self, *, write: bool) -> AsyncIterator[None]:
        """Turns a failure of the file or the system into StoreUnavailable and tells `health`."""
        try:
            yield
        except sqlite3.Error as exc:
            if not is_fault(exc):
                raise
            self.health.failed(exc, write=write)
            raise StoreUnavailable(f"database {self.path} is unavailable: {reason(exc)}") from exc
        self.health.succeeded(write=write)

    # -- digests -----------------------------------------------------------------------------

    async def use_sources(self, scopes: Mapping[str, str]) -> None:
        """Each configured source's scope (Settings.source_scopes): digests of one scope with equal
        ids are one digest. Stored rows follow the config (see DigestRepo.rescope); a source not
        listed is its own scope."""
        async with self.transaction() as tx:
            moved = await tx.digests.rescope(scopes)
        self._scopes = dict(scopes)
        for source, count in moved.items():
            log.info("%d stored digests of source %s now belong to scope %s", count, source, scopes[source])

    async def record_incoming(self, incoming: Incoming) -> RecordResult:
        """Store one source result: new | duplicate | changed or republished (kept, not resent) |
        error (logged once)."""
        scope = self._scopes.get(incoming.source, incoming.source)
        async with self.transaction() as tx:
            return await tx.digests.record(incoming, scope, self.clock())

    async def source_known(self, source: str) -> bool:
        async with self.transaction(write=False) as tx:
            return await tx.digests.source_known(source)

    async def latest_seq(self) -> int | None:
        """The version /latest shows; rows are never rewritten, so it keys caches of renderings."""
        async with self._statement(write=False) as tx:
            return await tx.digests.latest_seq()

    async def load_digests(self, seqs: Collection[int]) -> dict[int, Digest]:
        """Stored ok digests by seq, decoded in a worker thread after the lock is released: a large
        digest holds up neither the event loop nor anyone waiting for the database."""
        async with self._statement(write=False) as tx:
            models = await tx.digests.models(seqs)
        return await asyncio.to_thread(_decode_all, models)

    # -- subscriptions -----------------------------------------------------------------------

    async def get_subscription(
        self, platform: str, chat_id: str, thread_id: str | None = None
    ) -> Subscription | None:
        async with self._statement(write=False) as tx:
            return await tx.subscriptions.get(platform, chat_id, thread_id)

    async def get_subscription_by_id(self, subscription_id: int) -> Subscription | None:
        async with self._statement(write=False) as tx:
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
            return await tx.subscriptions.subscribe(
                platform,
                chat_id,
                thread_id,
                kind=kind,
                title=title,
                created_by=created_by,
                language=language,
                timezone=timezone,
                categories=categories,
                now=self.clock(),
            )

    async def _deactivate(self, subscription_id: int, status: str, reason: str | None) -> None:
        async with self.transaction() as tx:
            now = self.clock()
            await tx.subscriptions.require(subscription_id)
            await tx.subscriptions.set_inactive(subscription_id, status, reason, now)
            await tx.deliveries.skip_pending(
                subscription_id, f"{status}: {reason}" if reason else status, now
            )

    async def unsubscribe(self, subscription_id: int) -> None:
        """Status unsubscribed (settings kept for a later /subscribe); unsent messages are dropped."""
        await self._deactivate(subscription_id, "unsubscribed", None)

    async def pause(self, subscription_id: int, reason: str) -> None:
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
            return await tx.subscriptions.resume(subscription_id, self.clock())

    async def update_subscription(
        self,
        subscription_id: int,
        *,
        filter: Filter | None = None,
        schedule: str | None = None,
        timezone: str | None = None,
        language: str | None = None,
        quiet: str | None = _UNSET,
        title: str | None = None,
    ) -> Subscription:
        """Change settings; None leaves one unchanged, except `quiet=None`, which clears quiet hours.

        Raises ValueError naming the bad value (schedule, time zone, language, quiet hours) and
        KeyError for an unknown id; a changed schedule or time zone recomputes the next due time.
        """
        async with self.transaction() as tx:
            return await tx.subscriptions.update(
                subscription_id,
                self.clock(),
                filter=filter,
                schedule=schedule,
                timezone=timezone,
                language=language,
                quiet=quiet,
                title=title,
            )

    async def migrate_chat(
        self, platform: str, old_chat_id: str, new_chat_id: str, new_kind: str
    ) -> list[int]:
        """A chat moved to a new id and kind (the platform says which): its subscriptions and unsent
        messages follow it.

        Returns the ids of the subscriptions that moved; one whose thread is already subscribed in
        the new chat is unsubscribed instead (and its unsent messages dropped).
        """
        async with self.transaction() as tx:
            now = self.clock()
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
        async with self.transaction(write=False) as tx:
            return await tx.subscriptions.list_for_creator(platform, created_by)

    async def sync_broadcasts(
        self,
        broadcasts: Iterable[Broadcast],
        vocabulary: Vocabulary,
        *,
        default_timezone: str = "UTC",
        default_language: str = "zh",
    ) -> list[Subscription]:
        """Make origin=config rows match the config; raises ValueError naming `broadcasts.N...`.

        Unsent messages of broadcasts no longer listed are dropped with them, as on /unsubscribe.
        """
        async with self.transaction() as tx:
            now = self.clock()
            kept = await tx.subscriptions.sync_broadcasts(
                broadcasts,
                vocabulary,
                default_timezone=default_timezone,
                default_language=default_language,
                now=now,
            )
            await tx.deliveries.skip_inactive(now)
        return kept

    # -- upkeep ------------------------------------------------------------------------------

    async def checkpoint(self) -> bool:
        """Copy the WAL into the database file and truncate it, so pruned space is reused rather
        than the WAL growing; True when done. Readers in other processes are waited for only
        briefly (the store stays locked meanwhile): a busy checkpoint is simply retried next time."""
        async with self._lock, self._guard(write=True):
            await self._conn.execute(f"PRAGMA busy_timeout = {CHECKPOINT_WAIT_MS}")
            try:
                rows = await self._conn.execute_fetchall("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                await self._conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        return not next(iter(rows))[0]

    def file_size(self) -> int:
        """Bytes on disk: the database file plus its WAL (0 for an in-memory database)."""
        total = 0
        for name in (self.path, f"{self.path}-wal"):
            with contextlib.suppress(OSError):
                total += os.stat(name).st_size
        return total

    # -- reports -----------------------------------------------------------------------------

    async def stats(self, now: datetime) -> dict[str, Any]:
        """Owner statistics: subscriptions by platform/kind/status, 24 h deliveries, the last fan-out,
        and the database's size on disk."""
        async with self.transaction(write=False) as tx:
            subscriptions = await tx.subscriptions.counts()
            deliveries = await tx.deliveries.counts_since(now - timedelta(days=1))
            open_rows = await tx.deliveries.open_count()
            last = await tx.digests.last_info()
            if last is not None:
                fanout = await tx.deliveries.fanout(last["seq"])
                states: dict[str, int] = fanout["states"]
                done = not states.get("pending") and not states.get("sending")
                last_sent = fanout["last_sent_at"]
                last = {
                    **last,
                    "deliveries": states,
                    "fanout_seconds": round((last_sent - last["stored_at"]).total_seconds(), 3)
                    if done and last_sent
                    else None,
                }
        return {
            "subscriptions": subscriptions,
            "deliveries_24h": deliveries,
            "open": open_rows,
            "last_digest": last,
            "database_bytes": self.file_size(),
        }

    async def delivery_summary(self, subscription_id: int) -> dict[str, Any]:
        """For /status: last_sent_at, pending (unsent rows), last_error and last_error_at."""
        async with self.transaction(write=False) as tx:
            return await tx.deliveries.summary(subscription_id)

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

    # -- delivery engine ---------------------------------------------------------------------

    async def recover_interrupted(self) -> int:
        """At start-up: rows a crash left `sending` become `interrupted` and are never resent."""
        async with self._statement() as tx:
            return await tx.deliveries.interrupt_sending(self.clock())

    async def claim_due(
        self,
        now: datetime,
        limit: int,
        platforms: Collection[str],
        exclude: Collection[int] = (),
        *,
        fresh_since: datetime | None = None,
    ) -> list[Delivery]:
        """Due rows to send now, in order; with `fresh_since`, none first due before it (too old to
        send). Quiet hours are checked here, as rows are handed out, so they hold every send (fresh
        rows, retries, rows deferred for a rate limit, a backlog that ran into the night, settings
        changed after planning): such a row is put back until they end."""
        async with self._statement(write=False) as tx:
            rows = await tx.deliveries.claim(now, limit, platforms, exclude, fresh_since)
        held = {row.id: at for row in rows if (at := after_quiet(row.quiet, row.timezone, now)) > now}
        if held:
            async with self.transaction() as tx:
                await tx.deliveries.defer(held, now)
        return [row for row in rows if row.id not in held]

    async def next_attempt_at(
        self, platforms: Collection[str], *, fresh_since: datetime | None = None
    ) -> datetime | None:
        async with self._statement(write=False) as tx:
            return await tx.deliveries.next_attempt_at(platforms, fresh_since)

    async def mark_sending(self, delivery_id: int, now: datetime) -> bool:
        """Committed before the platform call: the record that a send may have happened."""
        async with self._statement() as tx:
            return await tx.deliveries.mark_sending(delivery_id, now)

    async def mark_sent(self, delivery_id: int, message_id: str, now: datetime) -> None:
        async with self._statement() as tx:
            await tx.deliveries.mark_sent(delivery_id, message_id, now)

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
        async with self._statement() as tx:
            await tx.deliveries.retry(delivery_id, at, error, now, refund=refund, waited=waited)

    async def mark_uncertain(self, delivery_id: int, error: str, now: datetime) -> None:
        async with self._statement() as tx:
            await tx.deliveries.mark_uncertain(delivery_id, error, now)

    async def expire_stale(self, due_before: datetime, error: str, now: datetime, limit: int) -> Expired:
        """One batch of the expiry sweep (one statement, so the lock is held only briefly)."""
        async with self._statement() as tx:
            return await tx.deliveries.expire(due_before, error, now, limit)

    async def defer_delivery(self, delivery_id: int, at: datetime, now: datetime) -> None:
        async with self._statement() as tx:
            await tx.deliveries.defer({delivery_id: at}, now)

    async def fail_delivery(self, delivery_id: int, error: str, now: datetime) -> None:
        async with self._statement() as tx:
            await tx.deliveries.fail(delivery_id, error, now)

    async def use_plain(self, delivery_id: int, error: str, now: datetime) -> None:
        """The platform refused the formatting: this row is sent as plain text from now on."""
        async with self._statement() as tx:
            await tx.deliveries.set_plain(delivery_id, error, now)

    async def chat_gone(self, delivery: Delivery, reason: str, now: datetime) -> None:
        """Fail this row, skip the subscription's other unsent rows and pause it, all at once."""
        async with self.transaction() as tx:
            await tx.deliveries.fail(delivery.id, reason, now)
            await tx.deliveries.skip_pending(delivery.subscription_id, f"chat gone: {reason}", now)
            await tx.subscriptions.set_inactive(delivery.subscription_id, "paused", reason, now)

    async def interrupt(self, delivery_ids: Collection[int], now: datetime) -> int:
        """Sends abandoned at shutdown: their fate is unknown, so they are never retried."""
        async with self._statement() as tx:
            return await tx.deliveries.interrupt(delivery_ids, now)


def _decode_all(models: dict[int, str]) -> dict[int, Digest]:
    return {seq: decode_digest(model) for seq, model in models.items()}


async def _use_wal(conn: aiosqlite.Connection) -> None:
    """Switch to WAL, retrying "database is locked" for up to the busy timeout: switching the
    journal mode needs an exclusive lock and SQLite does not call the busy handler for it, so two
    programs opening one brand-new file at once would otherwise fail at random."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            await conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.01)


async def _quick_check(conn: aiosqlite.Connection, path: str) -> None:
    """Refuse a damaged file at start-up rather than fail on its broken pages while running."""
    rows = await conn.execute_fetchall(f"PRAGMA quick_check({QUICK_CHECK_PROBLEMS})")
    problems = [" ".join(str(row[0]).split()) for row in rows]
    if problems != ["ok"]:
        raise StoreError(f"{path}: the database is damaged ({'; '.join(problems)}); {DAMAGED_HINT}")


async def _schema_version(conn: aiosqlite.Connection) -> int:
    rows = await conn.execute_fetchall("PRAGMA user_version")
    return int(next(iter(rows))[0])


async def _migrate(conn: aiosqlite.Connection, path: str) -> None:
    """Apply every migration newer than PRAGMA user_version, all in one transaction.

    The version is read again after BEGIN IMMEDIATE: another process opening the same fresh file
    at the same moment may have migrated it while this one waited for the write lock.
    """
    migrations = load_migrations()
    latest = migrations[-1].version if migrations else 0
    current = await _schema_version(conn)
    if current >= latest:
        _check_not_newer(current, latest, path)
        return
    await conn.execute("BEGIN IMMEDIATE")
    try:
        current = await _schema_version(conn)
        _check_not_newer(current, latest, path)
        for migration in (m for m in migrations if m.version > current):
            for statement in split_statements(migration.sql):
                try:
                    await conn.execute(statement)
                except sqlite3.Error as exc:
                    raise StoreError(f"{path}: migration {migration.name} failed: {exc}") from exc
        await conn.execute(f"PRAGMA user_version = {latest}")
    except BaseException:
        await conn.rollback()
        raise
    await conn.commit()
    if current < latest:
        log.info("database %s migrated from schema %d to %d", path, current, latest)


def _check_not_newer(current: int, latest: int, path: str) -> None:
    if current > latest:
        raise StoreError(f"{path}: schema version {current} is newer than this program knows ({latest})")
