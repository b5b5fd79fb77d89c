"""Set-based fan-out: a digest's ledger rows written by the database from the subscriptions table.

The planner renders each distinct *reading* (the subscription columns a rendering depends on) once
and records its payload ids here, in `fanout_variants`, keyed by the digest and the reading's id.
Readings are numbered by the database itself (migration 014): the `readings` table holds each one's
key, a JSON array of its columns, and triggers keep every subscription's `reading_id` pointing at
its own, so the fan-out joins on an integer and builds no key per subscription. The expander
(bot/delivery/expander.py) then turns each batch of subscriptions (an id range), as the engine
drains the ledger, into its delivery rows with one ``INSERT ... SELECT`` joining
the subscriptions to their variants: no Python object per row. A reading that renders to nothing is
stored as part 0, which the join skips.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from bot.store.connection import Connection, Dialect, Row
from bot.store.dialect import json_array, json_ids, json_lookup
from bot.store.ledger_insert import insert_deliveries
from bot.store.times import to_db

_INSTANT_INDEX = "status = 'active' AND schedule = 'instant'"  # subscriptions_instant's condition
# The batch (after, last] of instant subscriptions not yet given digest seq; parameters: after,
# last, seq.
_RANGE = "s.id > ? AND s.id <= ? AND s.status = 'active' AND s.schedule = 'instant' AND s.schedule_seq < ?"
_VARIANTS = "fanout_variants v WHERE v.digest_seq = ? AND v.reading_id"
# A variant `v` whose payload body retention emptied or removed: rendered again, never sent empty.
_EMPTIED = "v.part > 0 AND NOT EXISTS (SELECT 1 FROM payloads p WHERE p.id = v.payload_id AND p.body != '')"
# SQLite's CROSS JOIN keeps the subscriptions as the outer loop (their id range, by the partial
# index); PostgreSQL's planner picks the order itself and allows no ON after CROSS JOIN.
_OUTER_FIRST: dict[Dialect, str] = {"sqlite": "CROSS JOIN", "postgres": "JOIN"}


def _readings(rows: Iterable[Row]) -> dict[int, tuple[Any, ...]]:
    """(id, key) rows as reading id -> its column values, in READING_COLUMNS' order."""
    return {int(reading_id): tuple(json.loads(key)) for reading_id, key in rows}


class FanOutRepo:
    """Fan-out queries on one connection; the caller owns the transaction."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def batch_end(self, after: int, limit: int) -> tuple[int, int]:
        """(how many active instant subscriptions follow id `after`, up to `limit`; the last one's id,
        or `after` when none does), read from their partial index: `limit` entries at most."""
        rows = await self._conn.fetchall(
            f"SELECT id FROM subscriptions WHERE {_INSTANT_INDEX} AND id > ? ORDER BY id LIMIT 1 OFFSET ?",
            (after, limit - 1),
        )
        if rows:
            return limit, int(next(iter(rows))[0])
        rows = await self._conn.fetchall(  # the last batch: fewer than `limit` remain
            f"SELECT count(*), coalesce(max(id), CAST(? AS BIGINT)) FROM subscriptions"
            f" WHERE {_INSTANT_INDEX} AND id > ?",
            (after, after),
        )
        count, last = next(iter(rows))
        return int(count), int(last)

    async def readings_in_use(self) -> dict[int, tuple[Any, ...]]:
        """Every reading of the active instant subscriptions: id -> column values. One probe of the
        partial index on reading_id per known reading, so it costs the number of readings, not of
        subscriptions."""
        rows = await self._conn.fetchall(
            "SELECT r.id, r.key FROM readings r WHERE EXISTS (SELECT 1 FROM subscriptions s"
            " WHERE s.reading_id = r.id AND s.status = 'active' AND s.schedule = 'instant')"
        )
        return _readings(rows)

    async def missing_readings(self, seq: int, after: int, last: int) -> dict[int, tuple[Any, ...]]:
        """Readings of the batch (after, last] with no usable variant: id -> column values. A variant
        whose body retention emptied or removed meanwhile is not usable: it is rendered again rather
        than sent as nothing. Past the first batches every reading has its variant: a probe that
        stops at the first subscription without one (and at the first emptied variant) answers that
        without reading the batch's readings, which is what the full query costs."""
        probe = await self._conn.fetchall(
            f"SELECT 1 FROM subscriptions s WHERE {_RANGE}"
            f" AND NOT EXISTS (SELECT 1 FROM {_VARIANTS} = s.reading_id)"
            f" UNION ALL SELECT 1 FROM fanout_variants v WHERE v.digest_seq = ? AND {_EMPTIED} LIMIT 1",
            (after, last, seq, seq, seq),
        )
        if not probe:
            return {}
        rows = await self._conn.fetchall(
            "SELECT r.id, r.key FROM readings r"
            f" WHERE r.id IN (SELECT s.reading_id FROM subscriptions s WHERE {_RANGE})"
            f" AND (NOT EXISTS (SELECT 1 FROM {_VARIANTS} = r.id)"
            f" OR EXISTS (SELECT 1 FROM {_VARIANTS} = r.id AND {_EMPTIED}))",
            (after, last, seq, seq, seq),
        )
        return _readings(rows)

    async def unexpanded(self, seq: int) -> int:
        """Subscriptions a digest's fan-out has not written rows for yet (0 once it is done): the
        active instant ones past its cursor, counted on their partial index. Each is one chat still
        to come, whatever its number of parts (or none, when its filter keeps nothing)."""
        rows = await self._conn.fetchall(
            f"SELECT count(*) FROM subscriptions WHERE {_INSTANT_INDEX} AND id >"
            " (SELECT plan_cursor FROM digests WHERE seq = ? AND plan_state = 'pending')",
            (seq,),
        )
        return int(next(iter(rows))[0])

    async def save_variants(self, seq: int, variants: Mapping[int, Sequence[int]]) -> None:
        """Payload ids per reading id, in part order (none: the reading gets no message); they
        replace what an earlier render of that reading left (another planner's, or an emptied one)."""
        rows: list[tuple[int, int, int, int, int | None]] = []
        for reading_id, payload_ids in variants.items():
            parts = len(payload_ids)
            rows.extend((seq, reading_id, part, parts, pid) for part, pid in enumerate(payload_ids, start=1))
            if not parts:
                rows.append((seq, reading_id, 0, 0, None))
        await self._conn.execute(
            "DELETE FROM fanout_variants WHERE digest_seq = ?"
            f" AND reading_id IN {json_ids(self._conn.dialect)}",
            (seq, json.dumps(list(variants))),
        )
        await self._conn.executemany(
            "INSERT INTO fanout_variants (digest_seq, reading_id, part, parts, payload_id)"
            " VALUES (?, ?, ?, ?, ?)",
            rows,
        )

    async def quiet_pairs(self, seq: int, after: int, last: int) -> dict[str, tuple[str, str]]:
        """The batch's distinct (quiet hours, time zone): key -> pair; their due times come back to
        `insert` under the same key."""
        pair = json_array(self._conn.dialect, ["s.quiet", "s.timezone"])
        rows = await self._conn.fetchall(
            f"SELECT DISTINCT {pair}, s.quiet, s.timezone FROM subscriptions s"
            f" WHERE {_RANGE} AND s.quiet IS NOT NULL",
            (after, last, seq),
        )
        return {row[0]: (row[1], row[2]) for row in rows}

    async def insert(
        self,
        seq: int,
        after: int,
        last: int,
        *,
        quiet_due: Mapping[str, datetime],
        now: datetime,
    ) -> int:
        """The batch's rows, one statement; rows that exist already are left alone (re-planning is
        harmless). Every row is due now, or when its chat's quiet hours end (`quiet_due`, by the keys
        of `quiet_pairs`); a pair missing there makes its rows due now, never drops them: the engine
        checks quiet hours again as it claims a row. Returns the rows added."""
        dialect = self._conn.dialect
        quiet_due_at = json_lookup(dialect, "?", json_array(dialect, ["s.quiet", "s.timezone"]))
        stamp = to_db(now)
        return await insert_deliveries(
            self._conn,
            "INSERT INTO deliveries (subscription_id, unit, part, parts, digest_seq, platform,"
            " chat_id, thread_id, kind, payload_id, state, next_attempt_at, due_at, created_at, updated_at)"
            " SELECT id, CAST(? AS TEXT), part, parts, CAST(? AS BIGINT), platform, chat_id, thread_id, kind,"
            " payload_id, 'pending', due, due, CAST(? AS TEXT), CAST(? AS TEXT) FROM ("
            "  SELECT s.id, v.part, v.parts, s.platform, s.chat_id, s.thread_id, s.kind, v.payload_id,"
            f"  CASE WHEN s.quiet IS NULL THEN CAST(? AS TEXT) ELSE coalesce({quiet_due_at}, CAST(? AS TEXT))"
            "  END AS due"
            f"  FROM subscriptions s {_OUTER_FIRST[dialect]} fanout_variants v"
            "  ON v.digest_seq = ? AND v.reading_id = s.reading_id AND v.part > 0"
            f"  WHERE {_RANGE} ORDER BY s.id, v.part) AS batch"
            " WHERE true ON CONFLICT DO NOTHING",
            (
                f"d{seq}",
                seq,
                stamp,
                stamp,
                stamp,
                json.dumps({pair: to_db(due) for pair, due in quiet_due.items()}),
                stamp,
                seq,
                after,
                last,
                seq,
            ),
            each=(seq, "pending"),
        )

    async def forget(self, seq: int) -> None:
        """The digest's variants once its fan-out is done."""
        await self._conn.execute("DELETE FROM fanout_variants WHERE digest_seq = ?", (seq,))
