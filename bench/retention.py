"""Retention benchmark: how long pruning holds the database, and whether the file stays bounded.

    python bench/retention.py [--subscriptions 5000] [--digests 20] [--polls 300] [--entry-kb 1000]

Phase 1 fans `--digests` digests out to `--subscriptions` chats with the real planner, finishes
every row (the chats are paused, which skips them), moves the clock 31 days on and runs one pruning
pass while a probe issues a store read in a loop, as chat commands would: the probe's worst wait is
how long a command can be held up by pruning. Phase 2 records a feed entry that changes on every
poll (`--entry-kb` of text each time) with an hourly pass every 10 polls and prints the file size
(database plus WAL) as it goes.

Targets: probe wait < 250 ms at worst; the file after all polls < 2x its size after the first pass.
Exit status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import logging
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from store_probe import probe

from bot.core.model import Category, Digest, Item, Span, Vocabulary
from bot.delivery.config import RetentionConfig
from bot.delivery.expander import fan_out
from bot.delivery.retention import Pruner
from bot.platforms.registry import default_renderers
from bot.sources.base import Incoming
from bot.store.db import Store
from bot.store.subscriptions import NewSubscription

T0 = datetime(2026, 1, 1, tzinfo=UTC)
VOCABULARY = Vocabulary([Category("tech", "技术进展", "Tech"), Category("other", "其他", "Other")])


class Clock:
    """The store's wall clock, moved on by hand."""

    def __init__(self) -> None:
        self.current = T0

    def now(self) -> datetime:
        return self.current

    def monotonic(self) -> float:
        return (self.current - T0).total_seconds()

    async def sleep(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)


def digest(digest_id: str, text: str) -> Digest:
    items = tuple(
        Item(number=n, title=f"{digest_id} item {n}", summary=((Span(text),),), categories=("tech",))
        for n in range(1, 11)
    )
    return Digest(id=digest_id, title=f"digest {digest_id}", date=T0, items=items)


def arrival(source: str, key: str, value: Digest, salt: str) -> Incoming:
    return Incoming(source, key, hashlib.sha256(f"{key}{salt}".encode()).hexdigest(), value)


async def prune_backlog(store: Store, clock: Clock, subscriptions: int, digests: int) -> float:
    async with store.transaction() as tx:
        await tx.subscriptions.insert_many(
            (NewSubscription("telegram", str(n), "private") for n in range(1, subscriptions + 1)), T0
        )
    for n in range(digests):
        await store.record_incoming(arrival("folder", f"/d/{n}.md", digest(f"d{n}", "摘要 " * 40), ""))
        await fan_out(store, VOCABULARY, renderers=default_renderers())
    for subscription_id in range(1, subscriptions + 1):
        await store.pause(subscription_id, "bench")
    rows = subscriptions * digests
    clock.current += timedelta(days=31)
    done, waits = asyncio.Event(), []
    prober = asyncio.create_task(probe(store, done, waits))
    started = time.perf_counter()
    report = await Pruner(store, RetentionConfig(), clock=store.clock).prune()
    elapsed = time.perf_counter() - started
    done.set()
    await prober
    worst = max(waits)
    print(
        f"backlog: {report.deliveries} of {rows} delivery rows and {report.payloads} payloads pruned"
        f" in {elapsed:.2f} s ({report.deliveries / elapsed:,.0f} rows/s)"
    )
    print(
        f"probe during the pass: {len(waits)} reads, median {statistics.median(waits) * 1000:.1f} ms,"
        f" worst {worst * 1000:.1f} ms"
    )
    return worst


async def changing_entry(store: Store, polls: int, entry_kb: int) -> tuple[int, int]:
    pruner = Pruner(store, RetentionConfig(), clock=store.clock)
    text = "新闻摘要内容，" * (entry_kb * 1024 // 210)  # ten items of 3-byte characters
    first = 0
    for poll in range(1, polls + 1):
        await store.record_incoming(arrival("feed", "entry", digest("entry", f"{poll} {text}"), str(poll)))
        if poll % 10 == 0:
            started = time.perf_counter()
            await pruner.prune()
            size = store.file_size()
            first = first or size
            if poll in (10, 50, 100) or poll == polls:
                print(
                    f"changing entry: after {poll} polls the file is {size / 2**20:.1f} MiB"
                    f" (pass {time.perf_counter() - started:.2f} s)"
                )
    return first, store.file_size()


async def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--subscriptions", type=int, default=5000)
    parser.add_argument("--digests", type=int, default=20)
    parser.add_argument("--polls", type=int, default=300)
    parser.add_argument("--entry-kb", type=int, default=1000)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # every changed poll logs a warning; figures only
    with tempfile.TemporaryDirectory() as folder:
        clock = Clock()
        async with await Store.open(Path(folder) / "backlog.db", clock=clock) as store:
            worst = await prune_backlog(store, clock, args.subscriptions, args.digests)
        async with await Store.open(Path(folder) / "entry.db") as store:
            first, last = await changing_entry(store, args.polls, args.entry_kb)
    ok = worst < 0.25 and last < 2 * first
    print("targets met" if ok else "TARGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
