"""The platform's global rate limit held across every process of the bot: a token bucket in PostgreSQL.

A platform's global limit (30 messages a second, say) is per bot, whichever process sends. Each
(platform, scope) has one row in `rate_buckets`; a process takes tokens with one
`UPDATE ... RETURNING` that computes the refill since the last take on the database's clock
(`clock_timestamp()`, so hosts need not agree on the time), in batches sized by the process's
recent pace, at most `BATCH` per round trip.
Takes are reservations (the bucket may go below zero), each token coming due at its own instant;
one not handed to a sender within `LATE_SECONDS` of that instant is dropped rather than spent in a
bunch with the next ones. So the bot as a whole sends at most `rate * t + capacity` messages in any
`t` seconds, give or take the round trip's jitter and a busy event loop's lateness, as in one
process (the row is shaped as the in-process global bucket, so that no one-second window holds
more than the platform's limit).

Why a shared bucket rather than leased shares (each live process heartbeats a lease row every
second and paces itself at limit / live leases): bench/shared_limit.py, 3 processes x 8 senders,
6-second runs, three runs at 200/s and one at 1,000/s (sends/s as % of the limit; most sends in any
one-second window):

- one process alive but without work: bucket 95-97% (worst window 199/200, 998/1000); shares
  65-71% (the idle process's third is never used);
- a third process joining half-way: bucket 97%, 197-201/200; shares 107%, 297/200 (the new process
  paces at 1/3 at once, the others keep 1/2 until their next heartbeat; processes starting
  together each see only themselves at first, at the full limit);
- a process dying a third of the way in: bucket 95-96%, 199/200; shares 81-87% (its share is lost
  until its lease expires), and 264/200 and 1331/1000 in runs whose start overshot.

Exceeding the limit is the one thing that must not happen (the platform answers 429 and may hold the
bot back for a while), and leaving a third of it unused is what operators move to several
processes to avoid. The bucket costs one short UPDATE per batch: 0.10-0.12 round trips per send
(batches sized by each process's recent pace, at most 10), about 100 statements a second at
1,000 sends/s, little for PostgreSQL; shares cost almost nothing (two statements per process per
second). The bucket's other cost: sends wait for the database, so while it is unreachable sending
pauses (the outbox cannot be claimed then anyway).

The row follows the platform's broadcast pace: `RateLimiter.set_broadcast_rate` (paid
broadcasts, and their fall-back to the free limit) reshapes it for every process with the next
take. Command replies' own free-limit bucket during a paid broadcast stays in each process.

Per-chat and per-group limits stay in each process's RateLimiter. That holds as long as one chat's
due rows go out through one engine at a time (the outbox claim takes a chat's due rows together, or
a chat's parts wait for their predecessors as they do in one process): two processes then send to
the same chat only when a claim changes hands, a message or two at most, well inside a chat's
burst. A claim that spreads one chat's rows over several processes at once would need the chat's
budget shared too: the same table takes a scope per chat (`chat:<id>`), at one round trip a send.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import math
from typing import Any

from bot.core.clock import Clock
from bot.store.coordination import DATABASE_ERRORS, Connect, why

log = logging.getLogger(__name__)

BATCH = 10
LOOKAHEAD_SECONDS = 0.1  # a batch covers about this long of the process's recent pace
LATE_SECONDS = 0.02  # a reserved token not handed out this long after it came due is dropped
RETRY_SECONDS = 1.0  # pause between attempts while the database is unreachable

# The pace is written when this process starts and when it changes it (reshape); after a
# reconnect the row is only created if missing, never set back to this process's older idea of
# the pace (another process may have changed it meanwhile, e.g. fallen back to the free limit).
SHAPE_SQL = """
INSERT INTO rate_buckets (platform, scope, tokens, rate, capacity) VALUES ($1, $2, $4, $3, $4)
ON CONFLICT (platform, scope) DO UPDATE SET rate = EXCLUDED.rate, capacity = EXCLUDED.capacity
"""
ENSURE_SQL = """
INSERT INTO rate_buckets (platform, scope, tokens, rate, capacity) VALUES ($1, $2, $4, $3, $4)
ON CONFLICT (platform, scope) DO NOTHING
"""
# Takes are reservations, as in the in-process TokenBucket: `tokens` may go below zero, and `stamp`
# is then the instant the bucket is accounted up to; the n tokens taken come due one by one from
# it. The row is locked before it is refilled up to the clock read with it; a clock read before a
# wait for another taker's lock may lie behind that taker's stamp, which refills nothing (so no
# interval is ever counted twice).
TAKE_SQL = """
WITH level AS (
    SELECT b.platform, b.scope, b.rate, c.now, greatest(b.stamp, c.now) AS at,
           CASE WHEN b.stamp >= c.now THEN b.tokens
                ELSE least(b.capacity, b.tokens + extract(epoch FROM c.now - b.stamp)::float8 * b.rate)
           END AS tokens
    FROM rate_buckets AS b, (SELECT clock_timestamp() AS now) AS c
    WHERE b.platform = $1 AND b.scope = $2
    FOR UPDATE OF b
)
UPDATE rate_buckets AS b SET tokens = level.tokens - $3::int, stamp = level.at
FROM level WHERE b.platform = level.platform AND b.scope = level.scope
RETURNING level.tokens AS level, extract(epoch FROM level.at - level.now)::float8 AS ahead, level.rate
"""


class SharedBucket:
    """One `rate_buckets` row on a dedicated connection (reconnected after a failure)."""

    def __init__(self, connect: Connect, platform: str, scope: str, *, rate: float, capacity: float) -> None:
        if rate <= 0 or capacity < 1:
            raise ValueError(f"a token bucket needs rate > 0 and capacity >= 1, got {rate}, {capacity}")
        self._connect = connect
        self.platform, self.scope = platform, scope
        self.rate, self.capacity = rate, capacity
        self._conn: Any = None
        self._shaped = False  # this process's pace is written (at start, and after a reshape)
        self._ensured = False  # the row exists, as far as this connection knows
        self.round_trips = 0  # takes sent to the database (what the limit costs it)

    def reshape(self, rate: float, capacity: float) -> None:
        """A new pace for the whole bot, written to the row with the next take."""
        self.rate, self.capacity, self._shaped = rate, capacity, False

    async def take(self, wanted: int) -> list[float]:
        """Reserve `wanted` tokens: for each, in how many seconds (from the reply) it comes due.

        Raises a database error when the server cannot be reached."""
        try:
            if self._conn is None or self._conn.is_closed():
                self._conn = await self._connect()
                self._ensured = False
            if not self._shaped:
                await self._conn.execute(SHAPE_SQL, self.platform, self.scope, self.rate, self.capacity)
                self._shaped = self._ensured = True
            elif not self._ensured:
                await self._conn.execute(ENSURE_SQL, self.platform, self.scope, self.rate, self.capacity)
                self._ensured = True
            self.round_trips += 1
            row = await self._conn.fetchrow(TAKE_SQL, self.platform, self.scope, wanted)
        except DATABASE_ERRORS:
            self._forget()
            raise
        level, ahead, rate = float(row["level"]), max(0.0, float(row["ahead"])), float(row["rate"])
        return [ahead + max(0.0, k - level) / rate for k in range(1, wanted + 1)]

    def _forget(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.terminate()

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.close()


class SharedTokens:
    """What one process's RateLimiter takes a platform's global tokens from (see the module doc).

    Callers queue on one lock, first come first served; the one at the head reserves a batch sized
    by how many are waiting. Each caller then sleeps until its token comes due.
    """

    def __init__(self, bucket: SharedBucket, clock: Clock) -> None:
        self._bucket = bucket
        self._clock = clock
        self._lock = asyncio.Lock()
        self._waiting = 0
        self._due: list[float] = []  # a heap of the instants (monotonic) reserved tokens come due
        self._used = 0  # tokens handed out since the last fetch, at that fetch's instant:
        self._fetched_at = clock.monotonic()  # the process's recent pace, which sizes the next batch
        self._down = False

    async def take(self) -> float:
        """Wait for one token of the bot-wide budget; the instant it came due."""
        self._waiting += 1
        try:
            async with self._lock:
                while not self._fresh():
                    await self._fetch()
                due = heapq.heappop(self._due)
                self._used += 1
        finally:
            self._waiting -= 1
        wait = due - self._clock.monotonic()
        if wait > 0:
            await self._clock.sleep(wait)
        return due

    def reshape(self, rate: float, capacity: float) -> None:
        """The platform's pace changed (a paid broadcast began or fell back to the free limit);
        tokens reserved at the old pace are dropped, so a slower pace holds from the next send."""
        self._bucket.reshape(rate, capacity)
        self._due.clear()

    def refund(self, due: float) -> None:
        """Give back a token taken but not used (its send must wait for something else first)."""
        heapq.heappush(self._due, due)

    def _fresh(self) -> bool:
        """Drop tokens too old to send on now without bunching up with the other processes' sends."""
        oldest = self._clock.monotonic() - LATE_SECONDS
        while self._due and self._due[0] < oldest:
            heapq.heappop(self._due)
        return bool(self._due)

    def _batch(self) -> int:
        """As many tokens as wait now, or as the recent pace uses in LOOKAHEAD_SECONDS, at most BATCH:
        a busy process makes few round trips, an idle one reserves (and may waste) little."""
        now = self._clock.monotonic()
        pace = self._used / max(now - self._fetched_at, 1e-3)
        self._used, self._fetched_at = 0, now
        return min(BATCH, max(self._waiting, math.ceil(pace * LOOKAHEAD_SECONDS)))

    async def _fetch(self) -> None:
        try:
            offsets = await self._bucket.take(self._batch())
        except DATABASE_ERRORS as exc:
            if not self._down:
                log.warning("rate limit: cannot reach the database (%s); sends wait", why(exc))
                self._down = True
            await self._clock.sleep(RETRY_SECONDS)
            return
        if self._down:
            log.info("rate limit: database reachable again")
            self._down = False
        now = self._clock.monotonic()
        for offset in offsets:
            heapq.heappush(self._due, now + offset)

    async def close(self) -> None:
        await self._bucket.close()
