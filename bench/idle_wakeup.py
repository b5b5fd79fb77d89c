"""An idle engine's wake-up on PostgreSQL with a big outbox: `next_attempt_at` and `release_leases`.

    python bench/idle_wakeup.py --url postgresql://user@host:port/db [--rows 200000] [--repeat 20]

Fills the (migrated, empty) database with `--rows` pending rows due in the coming hours, a few of
them claimed by another process (live leases), then times the two statements an idle process runs
under its store lock: when the next row is due, and giving its leases back at shutdown. Prints the
median and worst milliseconds of each. The rows stay: use a throwaway database.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import asyncpg

from bot.store.db import Store
from bot.store.times import to_db

LEASED = 40  # rows another process holds: a claim's worth
COLUMNS = ("unit", "part", "parts", "platform", "chat_id", "kind", "payload_id", "state",
           "next_attempt_at", "due_at", "created_at", "updated_at", "lease_owner", "lease_until")  # fmt: skip


async def fill(url: str, rows: int, now: datetime) -> None:
    conn = await asyncpg.connect(url)
    try:
        payload = await conn.fetchval("INSERT INTO payloads (hash, body) VALUES ('h', '{}') RETURNING id")
        stamp = to_db(now)
        leased = ("other:1:x", to_db(now + timedelta(seconds=30)))
        records = [
            (f"b{n}", 1, 1, "telegram", str(n), "private", payload, "pending",
             to_db(now + timedelta(seconds=60 + n % 36000)), stamp, stamp, stamp,
             *(leased if n < LEASED else (None, None)))
            for n in range(rows)
        ]  # fmt: skip
        await conn.copy_records_to_table("deliveries", records=records, columns=COLUMNS)
        await conn.execute("ANALYZE deliveries")
    finally:
        await conn.close()


async def timed(repeat: int, operation: Callable[[], Awaitable[object]]) -> list[float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        await operation()
        times.append((time.perf_counter() - started) * 1000)
    return times


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="a throwaway PostgreSQL database")
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    now = datetime.now(UTC)
    async with await Store.open(args.url) as store:
        await fill(args.url, args.rows, now)
        since = now - timedelta(days=1)
        results = {
            "next_attempt_at": await timed(
                args.repeat, lambda: store.next_attempt_at(["telegram"], fresh_since=since)
            ),
            "release_leases": await timed(args.repeat, store.release_leases),
        }
        print(f"{args.rows} pending rows, {LEASED} leased by another process:")
        for name, times in results.items():
            print(f"  {name:16} median {statistics.median(times):7.2f} ms  worst {max(times):7.2f} ms")


if __name__ == "__main__":
    asyncio.run(main())
