"""The bot-wide rate limit in PostgreSQL (tests/pg_cluster.py): three takers stay under one bound."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import asyncpg

from bot.core.clock import SystemClock
from bot.delivery.config import RateLimits
from bot.delivery.ratelimit import RateLimiter, RatePolicy
from bot.store.coordination import DATABASE_ERRORS
from bot.store.rate_buckets import SharedBucket, SharedTokens

RATE, CAPACITY = 100.0, 5.0


def connector(url: str) -> Any:
    async def connect() -> Any:
        return await asyncpg.connect(url)

    return connect


async def test_three_takers_never_get_more_than_rate_t_plus_capacity(postgres_url: str) -> None:
    """Three processes' gates, 8 senders each: by any instant t, at most rate * t + capacity sent."""
    clock = SystemClock()
    buckets = [
        SharedBucket(connector(postgres_url), "telegram", "global", rate=RATE, capacity=CAPACITY)
        for _ in range(3)
    ]
    gates = [SharedTokens(bucket, clock) for bucket in buckets]
    await buckets[0].take(0)  # the row exists, full, from here on
    start = time.monotonic()
    deadline = start + 2.0
    sent: list[float] = []

    async def sender(gate: SharedTokens) -> None:
        while time.monotonic() < deadline:
            await gate.take()
            sent.append(time.monotonic())

    try:
        await asyncio.gather(*(sender(gate) for gate in gates for _ in range(8)))
    finally:
        for gate in gates:
            await gate.close()
    sent.sort()
    # One token of slack: grants are timed on the server's clock and slept out on this process's,
    # read just after each grant; the two clocks' reads and the timers' wake-ups differ by well
    # under a millisecond (a tenth of a token here), never by a whole token.
    for count, instant in enumerate(sent, start=1):
        assert count <= RATE * (instant - start) + CAPACITY + 1, (instant - start, count)
    elapsed = sent[-1] - start
    assert len(sent) >= 0.9 * RATE * elapsed, (len(sent), elapsed)  # nothing left on the table either
    trips = sum(bucket.round_trips for bucket in buckets)
    assert trips <= len(sent) / 2, trips  # taken in batches, not a round trip per send


async def test_limiters_of_three_processes_share_one_pace(postgres_url: str) -> None:
    """Three RateLimiters (one per process) sending to many chats: together at most the global pace."""
    clock = SystemClock()
    policy = RatePolicy(RateLimits(global_per_second=1000, per_chat_per_second=1000))
    gates = [
        SharedTokens(
            SharedBucket(connector(postgres_url), "telegram", "global", rate=RATE, capacity=CAPACITY),
            clock,
        )
        for _ in range(3)
    ]
    limiters = [RateLimiter({"telegram": policy}, clock, shared={"telegram": gate}) for gate in gates]
    sent: list[float] = []
    start = time.monotonic()

    async def sender(limiter: RateLimiter, worker: int) -> None:
        for n in range(40):
            await limiter.acquire("telegram", f"{worker}-{n}", "private")
            sent.append(time.monotonic())

    try:
        await asyncio.gather(*(sender(limiters[w % 3], w) for w in range(9)))
    finally:
        for gate in gates:
            await gate.close()
    elapsed = max(sent) - start
    assert len(sent) == 360
    assert len(sent) <= RATE * elapsed + CAPACITY
    assert elapsed < 360 / RATE * 1.5  # and close to the pace, not far below it


async def test_a_chat_busy_meanwhile_gives_the_token_back(postgres_url: str) -> None:
    """Two sends to one chat at 1/s: the second waits for the chat, not with a token in hand."""
    clock = SystemClock()
    policy = RatePolicy(RateLimits(global_per_second=1000, per_chat_per_second=2))
    gate = SharedTokens(
        SharedBucket(connector(postgres_url), "telegram", "global", rate=RATE, capacity=CAPACITY), clock
    )
    limiter = RateLimiter({"telegram": policy}, clock, shared={"telegram": gate})
    try:
        start = time.monotonic()
        await asyncio.gather(*(limiter.acquire("telegram", "42", "private") for _ in range(3)))
        assert time.monotonic() - start >= 0.9  # 3 sends to one chat at 2/s
    finally:
        await gate.close()


async def test_a_paid_pace_reshapes_the_bucket_of_every_process(postgres_url: str) -> None:
    clock = SystemClock()
    policy = RatePolicy(RateLimits(global_per_second=30, per_chat_per_second=1000))
    gate = SharedTokens(
        SharedBucket(connector(postgres_url), "telegram", "global", rate=28.5, capacity=1.5), clock
    )
    limiter = RateLimiter({"telegram": policy}, clock, shared={"telegram": gate})
    conn = await asyncpg.connect(postgres_url)
    shape = "SELECT rate, capacity FROM rate_buckets WHERE platform = 'telegram'"
    try:
        await limiter.acquire("telegram", "1", "private")
        assert tuple(await conn.fetchrow(shape)) == (28.5, 1.5)
        limiter.set_broadcast_rate("telegram", 1000)  # paid broadcasts on
        await limiter.acquire("telegram", "2", "private")
        assert tuple(await conn.fetchrow(shape)) == (970.0, 30.0)
        limiter.set_broadcast_rate("telegram", None)  # refused: back to the free limit, bot-wide
        await limiter.acquire("telegram", "3", "private")
        assert tuple(await conn.fetchrow(shape)) == (29.0, 1.0)
    finally:
        await conn.close()
        await gate.close()


async def test_a_reconnect_does_not_set_back_a_pace_another_process_changed(postgres_url: str) -> None:
    """Process A falls back to the free pace; B, still at the paid one, loses and regains its
    connection: the row keeps A's pace (B only writes the pace at start and when it changes it)."""
    paid = SharedBucket(connector(postgres_url), "telegram", "global", rate=950.0, capacity=50.0)
    free = SharedBucket(connector(postgres_url), "telegram", "global", rate=950.0, capacity=50.0)
    conn = await asyncpg.connect(postgres_url)
    shape = "SELECT rate, capacity FROM rate_buckets WHERE platform = 'telegram'"
    try:
        await paid.take(1)
        await free.take(1)
        free.reshape(28.5, 1.5)  # A: the platform refused to charge
        await free.take(1)
        await conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid != pg_backend_pid()"
            " AND datname = current_database()"
        )
        for _ in range(3):  # B's next take fails on its dead connection, the one after reconnects
            try:
                await paid.take(1)
                break
            except DATABASE_ERRORS:
                continue
        assert tuple(await conn.fetchrow(shape)) == (28.5, 1.5)
    finally:
        await conn.close()
        await paid.close()
        await free.close()
