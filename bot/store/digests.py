"""The digests table: every document a source produced, parsed or broken, in arrival order.

De-duplication lives here because only the database remembers across restarts what was seen.
A digest's identity is (scope, digest id): the scope is its source's name, or the source it
republishes (`same_as`), so two publications whose titles start with the same stamp stay apart.
The same (source, key, hash) or the same (identity, hash) is a duplicate; a known identity with a
new hash is a *changed* digest (or, from another source of the scope, a *republished* one), recorded
for /latest but never sent again (chats would see the same news twice); a broken document is stored
once with its file, line and reason.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from bot.core.codec import CodecError, digest_from_dict, digest_to_dict
from bot.core.errors import DigestError
from bot.core.model import Digest
from bot.store.connection import Connection
from bot.store.times import from_db, to_db

if TYPE_CHECKING:
    from bot.sources.base import Incoming

log = logging.getLogger(__name__)

RecordStatus = Literal["new", "duplicate", "changed", "republished", "error", "history"]


@dataclass(frozen=True, slots=True)
class RecordResult:
    """What `record_incoming` did; `seq` is the stored row (None for a duplicate)."""

    status: RecordStatus
    source: str
    key: str
    seq: int | None = None
    digest: Digest | None = None
    error: DigestError | None = None

    @property
    def deliverable(self) -> bool:
        """True when the planner has new work: only brand-new ok digests are fanned out."""
        return self.status == "new"


def encode_digest(digest: Digest) -> str:
    return json.dumps(digest_to_dict(digest), ensure_ascii=False, separators=(",", ":"))


def decode_digest(text: str) -> Digest:
    return digest_from_dict(json.loads(text))


class DigestRepo:
    """Digest queries on one connection; the caller owns the transaction."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def _exists(self, sql: str, params: tuple[object, ...]) -> bool:
        return bool(await self._conn.fetchall(sql, params))

    async def record(self, incoming: Incoming, scope: str, now: datetime) -> RecordResult:
        """Store one source result; `scope` is the source's canonical name (see `use_sources`)."""
        source, key, content_hash = incoming.source, incoming.key, incoming.content_hash
        if await self._exists(
            "SELECT 1 FROM digests WHERE source = ? AND key = ? AND content_hash = ?",
            (source, key, content_hash),
        ):
            return RecordResult("duplicate", source, key)
        result = incoming.result
        if isinstance(result, Digest):
            try:
                model = encode_digest(result)
            except CodecError as exc:
                result = DigestError(key, f"cannot store the parsed digest: {exc}")
        if isinstance(result, DigestError):
            seq = await self._insert(
                "INSERT INTO digests (source, scope, key, content_hash, status, error_reason, error_line,"
                " error_source, stored_at, plan_state) VALUES (?, ?, ?, ?, 'error', ?, ?, ?, ?, 'none')",
                (source, scope, key, content_hash, result.reason, result.line, result.source, to_db(now)),
            )
            log.warning("digest rejected: %s", result)
            return RecordResult("error", source, key, seq=seq, error=result)
        known = list(
            await self._conn.fetchall(
                "SELECT seq, source, content_hash, revision_of FROM digests"
                " WHERE scope = ? AND digest_id = ? AND status = 'ok' ORDER BY seq",
                (scope, result.id),
            )
        )
        if any(row["content_hash"] == content_hash for row in known):
            return RecordResult("duplicate", source, key, digest=result)
        # Revisions point at the first version (a root retention never prunes), even when the oldest
        # row of this scope is itself a revision: a scope migrated or re-scoped from older rows.
        first = (known[0]["revision_of"] or known[0]["seq"]) if known else None
        seq = await self._insert(
            "INSERT INTO digests (digest_id, source, scope, key, content_hash, status, model, revision_of,"
            " stored_at, plan_state) VALUES (?, ?, ?, ?, ?, 'ok', ?, ?, ?, ?)",
            (
                result.id,
                source,
                scope,
                key,
                content_hash,
                model,
                first,
                to_db(now),
                "pending" if first is None and not incoming.history else "none",
            ),
        )
        name = f"{scope}/{result.id}"
        if first is not None and not any(row["source"] == source for row in known):
            log.info("digest %s republished by %s (%s); stored, not sent again", name, source, key)
            return RecordResult("republished", source, key, seq=seq, digest=result)
        if first is not None:
            log.warning("digest %s changed after it was published (%s); stored, not sent again", name, key)
            return RecordResult("changed", source, key, seq=seq, digest=result)
        if incoming.history:
            log.info("digest %s (%s) stored as history, not sent", name, key)
            return RecordResult("history", source, key, seq=seq, digest=result)
        log.info("new digest %s (%s, %d items)", name, key, len(result.items))
        return RecordResult("new", source, key, seq=seq, digest=result)

    async def rescope(self, scopes: Mapping[str, str]) -> dict[str, int]:
        """Give each source's rows its current scope: rows stored before a `same_as` was added (or
        removed) join their digests' identity, so an edit of one is not taken for a new digest."""
        moved: dict[str, int] = {}
        for source, scope in scopes.items():
            changed = await self._conn.execute(
                "UPDATE digests SET scope = ? WHERE source = ? AND scope != ?", (scope, source, scope)
            )
            if changed:
                moved[source] = changed
        return moved

    async def _insert(self, sql: str, params: tuple[object, ...]) -> int:
        row = await self._conn.fetchone(f"{sql} RETURNING seq", params)
        return int(row[0]) if row is not None else 0

    async def to_plan(self) -> list[int]:
        """Digests waiting to be planned (their readings rendered), oldest first."""
        rows = await self._conn.fetchall(
            "SELECT seq FROM digests WHERE plan_state = 'pending' AND planned_at IS NULL ORDER BY seq"
        )
        return [row["seq"] for row in rows]

    async def to_expand(self) -> list[int]:
        """Planned digests whose ledger rows are still being written, oldest first."""
        rows = await self._conn.fetchall(
            "SELECT seq FROM digests WHERE plan_state = 'pending' AND planned_at IS NOT NULL ORDER BY seq"
        )
        return [row["seq"] for row in rows]

    async def expansion(self, seq: int) -> tuple[int, datetime] | None:
        """(cursor, fan-out instant) of a planned digest whose rows are still being written; None
        when it is not planned or done. On PostgreSQL the digest row stays locked until the
        transaction ends: two processes' expanders write its batches one after the other, each
        from the cursor the other committed. (SQLite's write transaction excludes other writers.)"""
        lock = " FOR UPDATE" if self._conn.dialect == "postgres" else ""
        rows = await self._conn.fetchall(
            "SELECT plan_cursor, planned_at FROM digests WHERE seq = ? AND plan_state = 'pending'"
            f" AND planned_at IS NOT NULL{lock}",
            (seq,),
        )
        if not rows:
            return None
        cursor, planned_at = next(iter(rows))
        instant = from_db(planned_at)
        return None if instant is None else (int(cursor), instant)

    async def mark_planned(self, seq: int, now: datetime) -> bool:
        """Record the fan-out instant of a digest whose readings are rendered (its rows' due and
        creation time); False when another planner did first (or it is not pending)."""
        return bool(
            await self._conn.execute(
                "UPDATE digests SET planned_at = ? WHERE seq = ? AND plan_state = 'pending'"
                " AND planned_at IS NULL",
                (to_db(now), seq),
            )
        )

    async def advance_plan(self, seq: int, cursor: int, *, done: bool, now: datetime) -> None:
        """Move the cursor forward (never back: a slower writer cannot undo a faster one's batch);
        a digest done without a fan-out instant gets `now` as its planned_at."""
        await self._conn.execute(
            "UPDATE digests SET plan_cursor = CASE WHEN plan_cursor < ? THEN ? ELSE plan_cursor END,"
            " plan_state = ?, planned_at = coalesce(planned_at, ?) WHERE seq = ?",
            (cursor, cursor, "done" if done else "pending", to_db(now) if done else None, seq),
        )

    async def max_seq(self) -> int:
        rows = await self._conn.fetchall("SELECT coalesce(max(seq), 0) FROM digests")
        return int(next(iter(rows))[0])

    async def scheduled_after(
        self, subscription_id: int, after_seq: int, upto_seq: int, limit: int, since: datetime | None = None
    ) -> list[tuple[int, int]]:
        """What one scheduled post covers: (seq, seq of its newest version), oldest first.

        Fanned-out digests in (after_seq, upto_seq], minus those the subscription already got on
        their own (it was instant when they were planned), each in its latest version: an edit that
        arrived before the post is not news to this chat yet. At most the newest `limit`: after a
        long outage a scheduled post carries the latest news, not a merge of everything missed.
        With `since` (a weekly roundup), only digests stored from then on.
        """
        rows = await self._conn.fetchall(
            "SELECT d.seq, (SELECT max(r.seq) FROM digests r WHERE r.scope = d.scope"
            " AND r.digest_id = d.digest_id AND r.status = 'ok') FROM digests d"
            " WHERE d.seq > ? AND d.seq <= ? AND d.status = 'ok' AND d.revision_of IS NULL"
            " AND d.plan_state != 'none' AND d.stored_at >= ?"
            " AND NOT EXISTS (SELECT 1 FROM deliveries x WHERE x.subscription_id = ?"
            " AND x.unit = 'd' || d.seq)"
            " ORDER BY d.seq DESC LIMIT ?",
            (after_seq, upto_seq, "" if since is None else to_db(since), subscription_id, limit),
        )
        return [(row[0], row[1]) for row in reversed(list(rows))]
