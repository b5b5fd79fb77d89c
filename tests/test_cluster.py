"""A process's links to the others (bot.cluster), as the app builds them for a PostgreSQL database."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import asyncpg

from bot.cluster import Cluster
from bot.core.clock import SystemClock
from bot.delivery.config import RateLimits
from bot.delivery.ratelimit import RatePolicy
from bot.sources.directory import DirectoryWatcher

POLICY = RatePolicy(RateLimits(global_per_second=30, per_chat_per_second=1))


async def test_two_processes_share_leases_wake_ups_and_one_bucket(
    tmp_path: Path,
    postgres_url: str,
) -> None:
    clock = SystemClock()
    one, two = Cluster(postgres_url, clock), Cluster(postgres_url, clock)
    woken = asyncio.Event()
    try:
        assert await one.lease("digestbot:poll:telegram").try_acquire()
        assert not await two.lease("digestbot:poll:telegram").try_acquire()

        two.listen({"deliveries": woken.set})
        one.listen({})
        await asyncio.sleep(0.5)  # both listening
        one.publish("deliveries")
        await asyncio.wait_for(woken.wait(), 5)

        gates = [
            one.shared_limits({"telegram": POLICY})["telegram"],
            two.shared_limits({"telegram": POLICY})["telegram"],
        ]
        await asyncio.gather(*(gate.take() for gate in gates for _ in range(3)))
        conn = await asyncpg.connect(postgres_url)
        try:
            row = await conn.fetchrow("SELECT rate, capacity FROM rate_buckets WHERE platform = 'telegram'")
        finally:
            await conn.close()
        assert (row["rate"], row["capacity"]) == (29.0, 1.0)  # the in-process global bucket's shape

        folder = tmp_path / "posts"
        folder.mkdir()
        post = folder / "a.md"
        post.write_text(
            "---\ntitle: T\ndate: 2031-04-02T08:00:00+08:00\n---\n\n1.  [A - B](https://e.org/a)\n"
        )
        os.utime(post, (time.time() - 60, time.time() - 60))
        sources = [c.leased(DirectoryWatcher("posts", folder)) for c in (one, two)]
        assert [len(await s.poll()) for s in sources] == [1, 0]  # polled by one process only
        assert sources[1].next_delay == 5.0
    finally:
        await one.close()
        await two.close()
    reopened = Cluster(postgres_url, clock)
    try:  # closing gave everything back
        assert await reopened.lease("digestbot:poll:telegram").try_acquire()
    finally:
        await reopened.close()
