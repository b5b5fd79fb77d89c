"""Expiry benchmark: how long the sweep of stale queued rows holds up the rest of the bot.

    python bench/expiry.py [--subscriptions 20000] [--digests 5]

Fans `--digests` digests out to `--subscriptions` Telegram chats with the real planner while
Telegram is not running, moves the clock past delivery.max_age and lets the real engine (with no
platform sender) run its first sweep, while a probe issues a store read in a loop, as chat commands
would. Prints the rows expired per second and the probe's worst wait.

Target: probe wait < 250 ms at worst. Exit status 1 when it is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from store_probe import probe

from bot.core.clock import SystemClock
from bot.core.model import Category, Digest, Item, Span, Vocabulary
from bot.delivery.config import DeliveryConfig
from bot.delivery.engine import DeliveryEngine
from bot.delivery.expander import fan_out
from bot.delivery.ratelimit import RateLimiter
from bot.platforms.registry import default_renderers
from bot.sources.base import Incoming
from bot.store.db import Store
from bot.store.subscriptions import NewSubscription

T0 = datetime(2026, 1, 1, tzinfo=UTC)
VOCABULARY = Vocabulary([Category("tech", "技术进展", "Tech"), Category("other", "其他", "Other")])


class Later(SystemClock):
    """Real sleeps; the wall clock a fixed span ahead (the planner dates rows by the real one)."""

    def __init__(self, offset: timedelta) -> None:
        self.offset = offset

    def now(self) -> datetime:
        return super().now() + self.offset


async def run(store: Store, subscriptions: int, digests: int) -> float:
    async with store.transaction() as tx:
        await tx.subscriptions.insert_many(
            (NewSubscription("telegram", str(n), "private") for n in range(1, subscriptions + 1)), T0
        )
    for n in range(digests):
        items = (Item(number=1, title=f"item {n}", summary=((Span("摘要 " * 40),),), categories=("tech",)),)
        value = Digest(id=f"d{n}", title=f"digest {n}", date=T0, items=items)
        await store.record_incoming(Incoming("folder", f"/d/{n}.md", f"h{n}", value))
        await fan_out(store, VOCABULARY, renderers=default_renderers())
    config = DeliveryConfig()
    later = Later(timedelta(seconds=config.max_age + 60))
    engine = DeliveryEngine(store, {}, RateLimiter({}, later), config, clock=later)
    done, waits = asyncio.Event(), []
    prober = asyncio.create_task(probe(store, done, waits))
    started = time.perf_counter()
    await engine.drain(horizon=0)
    elapsed = time.perf_counter() - started
    done.set()
    await prober
    stats = await store.stats(later.now())
    expired = stats["deliveries_24h"].get("expired", 0)
    worst = max(waits)
    print(
        f"sweep: {expired} of {subscriptions * digests} queued rows expired in {elapsed:.2f} s"
        f" ({expired / elapsed:,.0f} rows/s)"
    )
    print(
        f"probe during the sweep: {len(waits)} reads, median {statistics.median(waits) * 1000:.1f} ms,"
        f" worst {worst * 1000:.1f} ms"
    )
    return worst


async def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--subscriptions", type=int, default=20_000)
    parser.add_argument("--digests", type=int, default=5)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)  # the sweep's one line per digest shows
    with tempfile.TemporaryDirectory() as folder:
        async with await Store.open(Path(folder) / "expiry.db") as store:
            worst = await run(store, args.subscriptions, args.digests)
    ok = worst < 0.25
    print("targets met" if ok else "TARGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
