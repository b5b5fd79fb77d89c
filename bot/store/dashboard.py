"""Aggregates for the HTTP server (dashboard, /metrics): counts over indexes, capped lists, no row dumps.

Every query reads a few rows of the small tables triggers keep up (`delivery_counts`,
`sent_per_hour`, migration 005) or a short index range, so each one stays in milliseconds with a
million subscriptions and deliveries (bench/dashboard.py measures it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.store.connection import Connection
from bot.store.database import Database
from bot.store.dialect import json_field
from bot.store.fanout import FanOutRepo
from bot.store.times import from_db, to_db

RATE_WINDOW = 10.0  # seconds of sends a broadcast's current rate is measured over
OPEN_STATES = ("pending", "sending")


@dataclass(frozen=True, slots=True)
class Progress:
    """One digest's fan-out: its rows by state, how many went out in the last RATE_WINDOW, and the
    subscriptions its expansion has not written rows for yet (counted as one open message each)."""

    digest_seq: int
    title: str
    stored_at: datetime | None
    states: dict[str, int]
    recent_sent: int
    unexpanded: int = 0

    @property
    def total(self) -> int:
        return sum(self.states.values()) + self.unexpanded

    @property
    def open(self) -> int:
        return sum(self.states.get(state, 0) for state in OPEN_STATES) + self.unexpanded

    @property
    def done(self) -> int:
        return self.total - self.open


@dataclass(frozen=True, slots=True)
class PausedChat:
    platform: str
    chat_id: str
    title: str
    reason: str
    paused_at: datetime | None


@dataclass(frozen=True, slots=True)
class Gauges:
    """What /metrics samples at each scrape."""

    queue: dict[str, int]
    paused: int


@dataclass(frozen=True, slots=True)
class Overview:
    """The dashboard page: sends per hour (oldest first), recent digests, paused chats."""

    hours: list[tuple[datetime, int]]
    digests: list[Progress]
    paused: list[PausedChat]
    paused_total: int


class DashboardOps(Database):
    """Read-only aggregates; each method is one read transaction."""

    async def gauges(self) -> Gauges:
        async with self.transaction(write=False) as tx:
            rows = await tx.conn.fetchall(
                "SELECT state, sum(count) FROM delivery_counts WHERE state IN ('pending', 'sending')"
                " GROUP BY state"
            )
            paused = await _paused_count(tx.conn)
        queue = dict.fromkeys(OPEN_STATES, 0)
        queue.update({state: int(count) for state, count in rows})  # PostgreSQL sums to numeric
        return Gauges(queue, paused)

    async def broadcast_progress(self, now: datetime) -> Progress | None:
        """The newest digest still being sent (or expanded), else the newest one sent at all; None
        before any. (Announcements and error-chat summaries are counted under seq 0 and are no
        broadcast here.)"""
        async with self.transaction(write=False) as tx:
            rows = await tx.conn.fetchall(
                "SELECT max(seq) FROM (SELECT max(digest_seq) AS seq FROM delivery_counts"
                " WHERE state IN ('pending', 'sending') AND digest_seq > 0"
                " UNION ALL SELECT max(seq) FROM digests"
                " WHERE plan_state = 'pending' AND planned_at IS NOT NULL) AS candidates"
            )
            seq = next(iter(rows))[0]
            if seq is None:
                rows = await tx.conn.fetchall(
                    "SELECT max(digest_seq) FROM delivery_counts WHERE digest_seq > 0"
                )
                seq = next(iter(rows))[0]
            if seq is None:
                return None
            found = await _progress(tx.conn, [seq], now)
        return found[0] if found else None

    async def overview(self, now: datetime, *, digests: int = 10, paused: int = 20) -> Overview:
        """The last 48 hours' sends per hour, the newest `digests` digests with their fan-out, and
        the newest `paused` paused chats with the total."""
        start = (now - timedelta(hours=47)).replace(minute=0, second=0, microsecond=0)
        async with self.transaction(write=False) as tx:
            conn = tx.conn
            counted = await conn.fetchall(
                "SELECT hour, count FROM sent_per_hour WHERE hour >= ? ORDER BY hour",
                (to_db(start)[:13],),
            )
            seqs = await conn.fetchall(
                "SELECT seq FROM digests WHERE status = 'ok' AND revision_of IS NULL"
                " ORDER BY seq DESC LIMIT ?",
                (digests,),
            )
            recent = await _progress(conn, [row[0] for row in seqs], now)
            paused_rows = await conn.fetchall(
                "SELECT platform, chat_id, title, coalesce(paused_reason, ''), paused_at FROM subscriptions"
                " WHERE status = 'paused' ORDER BY paused_at DESC LIMIT ?",
                (paused,),
            )
            paused_total = await _paused_count(conn)
        by_hour = {hour: count for hour, count in counted}
        hours = [start + timedelta(hours=h) for h in range(48)]
        return Overview(
            hours=[(hour, by_hour.get(to_db(hour)[:13], 0)) for hour in hours],
            digests=recent,
            paused=[PausedChat(p, c, t, r, from_db(at)) for p, c, t, r, at in paused_rows],
            paused_total=paused_total,
        )


async def _paused_count(conn: Connection) -> int:
    rows = await conn.fetchall("SELECT count(*) FROM subscriptions WHERE status = 'paused'")
    return int(next(iter(rows))[0])


async def _progress(conn: Connection, seqs: list[int], now: datetime) -> list[Progress]:
    """Each digest's rows by state (the trigger-kept counts), recent sends (an index range) and,
    while it is being expanded, the subscriptions still to reach (a count on their partial index)."""
    since = to_db(now - timedelta(seconds=RATE_WINDOW))
    found: list[Progress] = []
    for seq in seqs:
        head = await conn.fetchall(
            f"SELECT coalesce({json_field(conn.dialect, 'model', 'title')}, digest_id, ''), stored_at,"
            " plan_state FROM digests WHERE seq = ?",
            (seq,),
        )
        if not head:
            continue
        title, stored_at, plan_state = next(iter(head))
        unexpanded = await FanOutRepo(conn).unexpanded(seq) if plan_state == "pending" else 0
        rows = await conn.fetchall("SELECT state, count FROM delivery_counts WHERE digest_seq = ?", (seq,))
        recent = await conn.fetchall(
            "SELECT count(*) FROM deliveries WHERE digest_seq = ? AND state = 'sent' AND sent_at >= ?",
            (seq, since),
        )
        found.append(
            Progress(
                digest_seq=seq,
                title=str(title),
                stored_at=from_db(stored_at),
                states={state: count for state, count in rows},
                recent_sent=int(next(iter(recent))[0]),
                unexpanded=unexpanded,
            )
        )
    return found
