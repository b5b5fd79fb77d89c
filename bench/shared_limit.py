"""Bot-wide rate limit across processes: a token bucket in PostgreSQL vs leased shares of the limit.

    python bench/shared_limit.py --url postgresql://user@host:port/db [--limit 200] [--seconds 6]

Three "processes" (each with its own connections, as separate processes would have; the sends
themselves are not made, only their instants recorded) share one global limit, in three scenarios:
`uneven` (one process has no work), `join` (the third starts half-way), `death` (one dies a third
of the way in, without releasing anything). The two schemes:

- bucket: bot.store.rate_buckets, each send takes a token from one row (batches of up to 10);
- shares: each process heartbeats a lease row every second (expiring after 3 s) and paces itself
  locally at limit / (live leases).

Prints per scenario and scheme: sends per second achieved (and % of the limit), the most sends in
any one-second window (must stay <= the limit), and database round trips per send. Everything is
created in a throwaway schema of the given database and dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from importlib.resources import files
from typing import Any

import asyncpg

from bot.core.clock import SystemClock
from bot.delivery.ratelimit import TokenBucket, global_shape
from bot.store.rate_buckets import SharedBucket, SharedTokens

SENDERS = 8  # concurrent sends per busy process, as the engine's workers
HEARTBEAT = 1.0
LEASE = 3.0
SHARES_SQL = """
CREATE TABLE rate_shares (platform TEXT NOT NULL, holder TEXT NOT NULL, expires TIMESTAMPTZ NOT NULL,
                          PRIMARY KEY (platform, holder))
"""
RENEW_SQL = """
INSERT INTO rate_shares VALUES ('telegram', $1, clock_timestamp() + make_interval(secs => $2))
ON CONFLICT (platform, holder) DO UPDATE SET expires = EXCLUDED.expires
"""
LIVE_SQL = "SELECT count(*) FROM rate_shares WHERE platform = 'telegram' AND expires > clock_timestamp()"


@dataclass
class Plan:
    """When each of the three processes lives: (start, stop) seconds; those in `idle` have no work."""

    name: str
    spans: list[tuple[float, float]]
    idle: frozenset[int] = frozenset()


@dataclass
class Run:
    sent: list[float] = field(default_factory=list)
    round_trips: int = 0


def scenarios(seconds: float) -> list[Plan]:
    whole = (0.0, seconds)
    return [
        Plan("uneven", [whole, whole, whole], idle=frozenset({0})),
        Plan("join", [whole, whole, (seconds / 2, seconds)]),
        Plan("death", [whole, whole, (0.0, seconds / 3)]),
    ]


async def busy(until: float, take: Callable[[], Awaitable[object]], run: Run, idle: bool) -> None:
    if idle:
        await asyncio.sleep(max(0.0, until - time.monotonic()))
        return

    async def sender() -> None:
        while time.monotonic() < until:
            await take()
            run.sent.append(time.monotonic())

    await asyncio.gather(*(sender() for _ in range(SENDERS)))


async def bucket_process(
    connect: Callable[[], Awaitable[Any]],
    limit: float,
    t0: float,
    span: tuple[float, float],
    run: Run,
    idle: bool,
) -> None:
    await asyncio.sleep(max(0.0, t0 + span[0] - time.monotonic()))
    rate, capacity = global_shape(limit)
    bucket = SharedBucket(connect, "telegram", "global", rate=rate, capacity=capacity)
    gate = SharedTokens(bucket, SystemClock())
    try:
        await busy(t0 + span[1], gate.take, run, idle)
    finally:
        run.round_trips += bucket.round_trips
        await gate.close()  # a death: the bucket holds nothing for the dead


async def shares_process(
    connect: Callable[[], Awaitable[Any]],
    limit: float,
    t0: float,
    span: tuple[float, float],
    me: str,
    run: Run,
    idle: bool,
) -> None:
    await asyncio.sleep(max(0.0, t0 + span[0] - time.monotonic()))
    conn = await connect()
    clock = SystemClock()
    local: list[TokenBucket] = []

    async def heartbeat() -> None:
        while True:
            await conn.execute(RENEW_SQL, me, LEASE)
            live = max(1, int(await conn.fetchval(LIVE_SQL)))
            run.round_trips += 2
            rate, capacity = global_shape(limit / live)
            if local:
                local[0].rate, local[0].capacity = rate, capacity
            else:
                local.append(TokenBucket.full(rate, capacity, clock.monotonic()))
            await asyncio.sleep(HEARTBEAT)

    async def take() -> float:
        bucket, now = local[0], clock.monotonic()
        slot = bucket.available_at(now)
        bucket.take(slot)
        if slot > now:
            await asyncio.sleep(slot - now)
        return slot

    beating = asyncio.create_task(heartbeat())
    while not local:
        await asyncio.sleep(0.01)
    try:
        await busy(t0 + span[1], take, run, idle)
    finally:
        beating.cancel()
        await asyncio.gather(beating, return_exceptions=True)
        conn.terminate()  # dies without giving its lease back


def worst_window(sent: list[float]) -> int:
    """The most sends within any one-second window."""
    sent = sorted(sent)
    return max((bisect.bisect_right(sent, s + 1.0) - i for i, s in enumerate(sent)), default=0)


async def measure(url: str, scheme: str, plan: Plan, limit: float, seconds: float) -> Run:
    schema = f"bench_{os.getpid()}_{scheme}_{plan.name}"
    admin = await asyncpg.connect(url)
    await admin.execute(f"CREATE SCHEMA {schema}")
    await admin.execute(f"SET search_path TO {schema}")
    await admin.execute(
        files("bot.store").joinpath("migrations/postgres/011_coordination.sql").read_text("utf-8")
    )
    await admin.execute(SHARES_SQL)

    async def connect() -> Any:
        return await asyncpg.connect(url, server_settings={"search_path": schema})

    run = Run()
    t0 = time.monotonic() + 0.2
    try:
        tasks = []
        for n, span in enumerate(plan.spans):
            idle = n in plan.idle
            if scheme == "bucket":
                tasks.append(bucket_process(connect, limit, t0, span, run, idle))
            else:
                tasks.append(shares_process(connect, limit, t0, span, f"p{n}", run, idle))
        await asyncio.gather(*tasks)
    finally:
        await admin.execute(f"DROP SCHEMA {schema} CASCADE")
        await admin.close()
    return run


async def main_async(url: str, limit: float, seconds: float) -> None:
    print(f"limit {limit:g}/s, {seconds:g} s per run, 3 processes x {SENDERS} senders")
    print(f"{'scenario':8} {'scheme':7} {'sends/s':>8} {'% limit':>8} {'worst 1 s':>9} {'trips/send':>10}")
    for plan in scenarios(seconds):
        for scheme in ("bucket", "shares"):
            run = await measure(url, scheme, plan, limit, seconds)
            rate = len(run.sent) / seconds
            print(
                f"{plan.name:8} {scheme:7} {rate:8.1f} {100 * rate / limit:7.1f}% {worst_window(run.sent):9d}"
                f" {run.round_trips / max(1, len(run.sent)):10.3f}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--url", default=os.environ.get("DIGESTBOT_TEST_POSTGRES_URL"), help="a PostgreSQL URL"
    )
    parser.add_argument("--limit", type=float, default=200.0, help="the global limit, sends per second")
    parser.add_argument("--seconds", type=float, default=6.0, help="length of each run")
    args = parser.parse_args()
    if not args.url:
        parser.error("--url (or DIGESTBOT_TEST_POSTGRES_URL) is required: a PostgreSQL database to work in")
    asyncio.run(main_async(args.url, args.limit, args.seconds))


if __name__ == "__main__":
    main()
