"""The platform's global rate limit held across every process of the bot: a token bucket in PostgreSQL.

Telegram's 30 messages a second is per bot, whichever process sends. Each (platform, scope) has one
row in `rate_buckets`; a process takes tokens with one `UPDATE ... RETURNING` that computes the
refill since the last take on the database's clock (`clock_timestamp()`, so hosts need not agree on
the time) and grants up to as many tokens as it has senders waiting, at most `BATCH` per round trip.
Tokens a process took but did not use within `STASH_SECONDS` are dropped, never sent late, so at
any moment the bot as a whole has sent at most `rate * t + capacity` messages in any `t` seconds
plus at most `STASH_SECONDS` worth of early takes.

Why a shared bucket rather than leased shares (each live process heartbeats a lease and paces itself
at limit / N): measured with bench/shared_limit.py (3 processes, limit 200/s, 10-second runs, one
process idle for the first half, then a process killed), the bucket gave the senders the whole limit
whatever the split of work (work-conserving: an idle process leaves its share to the others), and
never exceeded it. Shares left an idle process's share unused (the busy ones got 2/3 of the limit),
and after a process died its share stayed lost until its lease expired; when one joined, the others
kept their old, larger share until their next heartbeat, which overshoots the limit, the one thing
that must not happen (Telegram answers 429 and may block the bot). The bucket costs one short
UPDATE per batch of up to 10 sends, about 100 statements a second at 1,000 sends/s: little for
PostgreSQL. Its cost is that sends wait for the database; while it is unreachable, sending pauses
(the outbox cannot be claimed then anyway).

Per-chat and per-group limits stay in each process's RateLimiter: a chat's due rows are claimed and
sent in order by one engine, so two processes send to the same chat only when a claim changes hands,
a handful of messages at most. Should that ever matter, the same table takes a scope per chat
(`chat:<id>`), at one round trip per send.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from bot.core.clock import Clock
from bot.store.coordination import DATABASE_ERRORS, Connect, why

log = logging.getLogger(__name__)

BATCH = 10
STASH_SECONDS = 0.25
RETRY_SECONDS = 1.0  # pause between attempts while the database is unreachable

ENSURE_SQL = """
INSERT INTO rate_buckets (platform, scope, tokens, rate, capacity) VALUES ($1, $2, $4, $3, $4)
ON CONFLICT (platform, scope) DO UPDATE SET rate = EXCLUDED.rate, capacity = EXCLUDED.capacity
"""
# The row is locked first, then refilled up to the clock read with it; a clock read before a wait
# for another taker's lock may lie behind that taker's stamp, which refills nothing (never twice).
TAKE_SQL = """
WITH level AS (
    SELECT b.platform, b.scope, b.rate, greatest(b.stamp, c.now) AS stamp,
           least(b.capacity,
                 b.tokens + greatest(0, extract(epoch FROM c.now - b.stamp)::float8) * b.rate) AS tokens
    FROM rate_buckets AS b, (SELECT clock_timestamp() AS now) AS c
    WHERE b.platform = $1 AND b.scope = $2
    FOR UPDATE OF b
), took AS (
    SELECT *, least(floor(tokens), $3)::int AS granted FROM level
)
UPDATE rate_buckets AS b SET tokens = took.tokens - took.granted, stamp = took.stamp
FROM took WHERE b.platform = took.platform AND b.scope = took.scope
RETURNING took.granted, (1 - (took.tokens - took.granted)) / took.rate AS wait
"""


@dataclass(frozen=True, slots=True)
class Grant:
    """Tokens granted by one take, and seconds until the next one refills when none was left."""

    granted: int
    wait: float


class SharedBucket:
    """One `rate_buckets` row on a dedicated connection (reconnected after a failure)."""

    def __init__(self, connect: Connect, platform: str, scope: str, *, rate: float, capacity: float) -> None:
        if rate <= 0 or capacity < 1:
            raise ValueError(f"a token bucket needs rate > 0 and capacity >= 1, got {rate}, {capacity}")
        self._connect = connect
        self.platform, self.scope = platform, scope
        self.rate, self.capacity = rate, capacity
        self._conn: Any = None

    async def take(self, wanted: int) -> Grant:
        """Up to `wanted` tokens now; raises a database error when the server cannot be reached."""
        try:
            if self._conn is None or self._conn.is_closed():
                self._conn = await self._connect()
                await self._conn.execute(ENSURE_SQL, self.platform, self.scope, self.rate, self.capacity)
            row = await self._conn.fetchrow(TAKE_SQL, self.platform, self.scope, wanted)
        except DATABASE_ERRORS:
            self._forget()
            raise
        return Grant(int(row["granted"]), max(0.0, float(row["wait"])))

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

    Callers queue on one lock, first come first served; the one at the head fetches a batch sized by
    how many are waiting, and sleeps until the bucket refills when it is empty.
    """

    def __init__(self, bucket: SharedBucket, clock: Clock) -> None:
        self._bucket = bucket
        self._clock = clock
        self._lock = asyncio.Lock()
        self._waiting = 0
        self._stash = 0
        self._stash_until = 0.0
        self._down = False

    async def take(self) -> None:
        """Wait for one token of the bot-wide budget."""
        self._waiting += 1
        try:
            async with self._lock:
                while not self._stashed():
                    await self._fetch()
                self._stash -= 1
        finally:
            self._waiting -= 1

    def refund(self) -> None:
        """Return a token taken but not used (its send must wait for something else first)."""
        if self._clock.monotonic() <= self._stash_until:
            self._stash += 1

    def _stashed(self) -> bool:
        if self._stash and self._clock.monotonic() > self._stash_until:
            self._stash = 0  # too old to send on now without bunching up with the others' sends
        return self._stash > 0

    async def _fetch(self) -> None:
        try:
            grant = await self._bucket.take(min(BATCH, self._waiting))
        except DATABASE_ERRORS as exc:
            if not self._down:
                log.warning("rate limit: cannot reach the database (%s); sends wait", why(exc))
                self._down = True
            await self._clock.sleep(RETRY_SECONDS)
            return
        if self._down:
            log.info("rate limit: database reachable again")
            self._down = False
        if grant.granted:
            self._stash = grant.granted
            self._stash_until = self._clock.monotonic() + STASH_SECONDS
        else:
            await self._clock.sleep(grant.wait)

    async def close(self) -> None:
        await self._bucket.close()
