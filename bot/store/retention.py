"""Retention: the SQL that prunes finished history, one bounded batch per call.

Each method looks at no more than `limit` candidate rows, so the caller can run it in short
transactions and let the bot's own work through in between. What is never pruned, whatever its age:
the first version of a digest (deliveries and de-duplication refer to it) and its newest versions
(/latest, scheduled posts), unfinished deliveries and the payloads they send, deliveries a scheduled
subscription's next post must leave out (digests it already got on their own), and each
subscription's newest sent row (its last delivery in /status).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from bot.store.connection import Connection, Dialect
from bot.store.dialect import json_ids
from bot.store.times import to_db

FINAL_STATES = ("sent", "failed", "skipped", "interrupted", "uncertain", "expired")
C = TypeVar("C")

# Newest first per digest (its identity is scope and id: two sources' equal ids are two digests);
# the original of a changed digest is not a revision, so it stays.
_OLD_REVISIONS = """
SELECT seq FROM (
  SELECT seq, row_number() OVER (PARTITION BY scope, digest_id ORDER BY seq DESC) AS newer
  FROM digests WHERE revision_of IS NOT NULL) AS r
WHERE newer > ? AND seq > ? AND NOT EXISTS (SELECT 1 FROM deliveries x WHERE x.digest_seq = seq)
ORDER BY seq LIMIT ?
"""

_OLD_ERRORS = """
SELECT seq FROM (
  SELECT seq, row_number() OVER (PARTITION BY source, key ORDER BY seq DESC) AS newer
  FROM digests WHERE status = 'error') AS r
WHERE newer > ? AND seq > ?
ORDER BY seq LIMIT ?
"""


def _delete_finished(dialect: Dialect) -> str:
    """Of a window of finished rows (a JSON id list), those no rule keeps."""
    return f"""
DELETE FROM deliveries
WHERE id IN {json_ids(dialect)}
  AND state IN {FINAL_STATES}
  AND NOT EXISTS (
    SELECT 1 FROM subscriptions s
    WHERE s.id = deliveries.subscription_id AND s.next_due_at IS NOT NULL
      AND deliveries.digest_seq > s.schedule_seq)
  AND NOT (state = 'sent' AND sent_at = (
    SELECT max(m.sent_at) FROM deliveries m
    WHERE m.subscription_id = deliveries.subscription_id AND m.state = 'sent'))
"""


# A payload a digest still being expanded will write rows for: kept, like one a pending row uses (the
# expander would render it again, but it would be work thrown away). The table holds the variants of
# the digests being expanded only: a few thousand rows at most.
_NOT_A_VARIANT = "NOT EXISTS (SELECT 1 FROM fanout_variants v WHERE v.payload_id = payloads.id)"


def _drop_bodies(dialect: Dialect) -> str:
    """Of a window of payloads (a JSON id list), empty the bodies last queued before the cutoff
    (`used_at`, stamped by DeliveryRepo.payload_ids) that no unfinished row uses (one seek in
    deliveries_open_by_payload)."""
    return f"""
UPDATE payloads SET body = ''
WHERE id IN {json_ids(dialect)} AND {_NOT_A_VARIANT}
  AND coalesce(used_at, '') < ?
  AND NOT EXISTS (
    SELECT 1 FROM deliveries x WHERE x.payload_id = payloads.id AND x.state IN ('pending', 'sending'))
"""


@dataclass(frozen=True, slots=True)
class Batch(Generic[C]):
    """What one call did: rows removed (or bodies dropped), and the position the next call goes on
    after (None once this call reached the end of what there is to look at)."""

    pruned: int
    after: C | None


class RetentionRepo:
    """Pruning queries on one connection; the caller owns the transaction."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def _delete_digests(self, select_sql: str, keep: int, after: int, limit: int) -> Batch[int]:
        rows = await self._conn.fetchall(select_sql, (keep, after, limit))
        seqs = [row[0] for row in rows]
        if seqs:
            await self._conn.execute(
                f"DELETE FROM digests WHERE seq IN {json_ids(self._conn.dialect)}", (json.dumps(seqs),)
            )
        return Batch(len(seqs), seqs[-1] if len(seqs) == limit else None)

    async def prune_revisions(self, keep: int, after: int, limit: int) -> Batch[int]:
        """Changed versions of a digest beyond its `keep` newest (the first version always stays)."""
        return await self._delete_digests(_OLD_REVISIONS, keep, after, limit)

    async def prune_errors(self, keep: int, after: int, limit: int) -> Batch[int]:
        """Broken versions of one file or feed entry beyond its `keep` newest."""
        return await self._delete_digests(_OLD_ERRORS, keep, after, limit)

    async def prune_deliveries(
        self, before: datetime, after: tuple[str, int], limit: int
    ) -> Batch[tuple[str, int]]:
        """Finished rows last updated before `before`, looking at `limit` rows after `after`
        (updated_at, id): rows that must stay are stepped over instead of being looked at again."""
        window = list(
            await self._conn.fetchall(
                "SELECT updated_at, id FROM deliveries WHERE updated_at < ? AND (updated_at, id) > (?, ?)"
                " AND state NOT IN ('pending', 'sending') ORDER BY updated_at, id LIMIT ?",
                (to_db(before), *after, limit),
            )
        )
        if not window:
            return Batch(0, None)
        ids = json.dumps([row[1] for row in window])
        deleted = await self._conn.execute(_delete_finished(self._conn.dialect), (ids,))
        last = window[-1]
        return Batch(deleted, (last[0], last[1]) if len(window) == limit else None)

    async def prune_orphan_payloads(self, after: int, limit: int) -> Batch[int]:
        """Payloads no delivery uses any more (their rows were pruned), nor a fan-out's variant."""
        window = await self._conn.fetchall(
            "SELECT id FROM payloads WHERE id > ? ORDER BY id LIMIT ?", (after, limit)
        )
        if not window:
            return Batch(0, None)
        ids = [row[0] for row in window]
        deleted = await self._conn.execute(
            f"DELETE FROM payloads WHERE id IN {json_ids(self._conn.dialect)} AND {_NOT_A_VARIANT}"
            " AND NOT EXISTS (SELECT 1 FROM deliveries x WHERE x.payload_id = payloads.id)",
            (json.dumps(ids),),
        )
        return Batch(deleted, ids[-1] if len(ids) == limit else None)

    async def drop_payload_bodies(self, before: datetime, after: int, limit: int) -> Batch[int]:
        """Empty the body of payloads last queued before `before` whose deliveries all finished;
        the rows stay (history), and the same rendering needed again restores it (DeliveryRepo.add)."""
        window = await self._conn.fetchall(
            "SELECT id FROM payloads WHERE body != '' AND id > ? ORDER BY id LIMIT ?", (after, limit)
        )
        if not window:
            return Batch(0, None)
        ids = [row[0] for row in window]
        dropped = await self._conn.execute(_drop_bodies(self._conn.dialect), (json.dumps(ids), to_db(before)))
        return Batch(dropped, ids[-1] if len(ids) == limit else None)
