"""Responsiveness benchmark: commands and the event loop while a large digest is fanned out.

    python bench/lock.py [--size-kb 512] [--subscriptions 1000]

Plans a digest of about `--size-kb` KB for N subscriptions with distinct category filters (so
nearly every subscription needs its own rendering) with the real planner, renderers and SQLite
store. Meanwhile another chat sends /status every 20 ms and a ticker measures how late the event
loop wakes up. Then /latest is timed cold (select + render in a worker thread) and cached.

Prints: planning time; command reply times (median, max); the worst event-loop stall; /latest
cold and cached. Targets: every reply < 0.5 s, loop stalls < 0.1 s, cached /latest < 5 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bot.commands.model import Caller, ChatRef, Command
from bot.commands.service import CommandService
from bot.core.model import Category, Digest, Filter, Item, Span, Vocabulary
from bot.delivery.expander import fan_out
from bot.platforms.registry import default_renderers
from bot.sources.base import Incoming
from bot.store.db import Store
from bot.store.subscriptions import NewSubscription

PICKED = [f"c{n}" for n in range(12)]
VOCABULARY = Vocabulary(
    [Category(c, f"类别{c}", c.upper()) for c in PICKED] + [Category("rest", "其他", "Rest")]
)
NOW = datetime.now(UTC)
OTHER = ChatRef("telegram", "-200", None, kind="supergroup", title="Another chat")
CALLER = Caller("7", language="en")


def big_digest(size_kb: int) -> Digest:
    """Two ~1 KB items per picked category; the rest of the size in items nobody's filter picks."""
    items: list[Item] = []
    while len(items) < 2 * len(PICKED) or sum(len(i.text().encode()) for i in items) < size_kb * 1024:
        n = len(items) + 1
        category = PICKED[n % len(PICKED)] if n <= 2 * len(PICKED) else "rest"
        text = f"第{n}条：某公司发布新一代芯片与算力平台，分析人士认为这将影响行业格局。" * 12
        items.append(
            Item(
                n,
                f"第{n}条新闻",
                url=f"https://news.example/{n}",
                summary=((Span(text),),),
                categories=(category,),
            )
        )
    return Digest("bench-lock", "基准测试", NOW, items=tuple(items), source="bench")


def filters(count: int) -> list[Filter]:
    subsets = (frozenset(s) for r in range(1, len(PICKED) + 1) for s in itertools.combinations(PICKED, r))
    return [Filter(categories=subset) for subset in itertools.islice(subsets, count)]


async def ticker(stalls: list[float], stop: asyncio.Event) -> None:
    """How late a 10 ms sleep wakes up: the time the loop could not run anything else."""
    while not stop.is_set():
        started = time.perf_counter()
        await asyncio.sleep(0.01)
        stalls.append(time.perf_counter() - started - 0.01)


async def commands(service: CommandService, replies: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        started = time.perf_counter()
        await service.handle(Command("status", (), OTHER, CALLER))
        replies.append(time.perf_counter() - started)
        await asyncio.sleep(0.02)


async def run(size_kb: int, count: int, folder: Path) -> bool:
    store = await Store.open(folder / "bench.db")
    try:
        async with store.transaction() as tx:
            subs = (
                NewSubscription("telegram", str(n), "private", filter=f) for n, f in enumerate(filters(count))
            )
            await tx.subscriptions.insert_many(subs, NOW)
        recorded = await store.record_incoming(Incoming("bench", "big.md", "h1", big_digest(size_kb)))
        assert recorded.seq is not None
        service = CommandService(store, VOCABULARY, renderers=default_renderers())
        stop, stalls, replies = asyncio.Event(), [0.0], [0.0]
        watchers = [
            asyncio.create_task(ticker(stalls, stop)),
            asyncio.create_task(commands(service, replies, stop)),
        ]
        started = time.perf_counter()
        added = await fan_out(store, VOCABULARY, renderers=default_renderers())
        planning = time.perf_counter() - started
        stop.set()
        await asyncio.gather(*watchers)
        started = time.perf_counter()
        await service.handle(Command("latest", (), OTHER, CALLER))
        cold = time.perf_counter() - started
        cached: list[float] = []
        for _ in range(20):
            started = time.perf_counter()
            await service.handle(Command("latest", (), OTHER, CALLER))
            cached.append(time.perf_counter() - started)
    finally:
        await store.close()
    worst_reply, worst_stall, latest = max(replies), max(stalls), statistics.median(cached)
    print(f"planning: {planning:.2f} s for {count} subscriptions, {added} rows, digest ~{size_kb} KB")
    print(
        f"/status from another chat meanwhile: {len(replies) - 1} replies, median "
        f"{statistics.median(replies) * 1000:.1f} ms, max {worst_reply * 1000:.1f} ms  [target < 500 ms]"
    )
    print(f"worst event-loop stall: {worst_stall * 1000:.1f} ms  [target < 100 ms]")
    print(f"/latest: cold {cold * 1000:.1f} ms, cached median {latest * 1000:.2f} ms  [target < 5 ms]")
    return worst_reply < 0.5 and worst_stall < 0.1 and latest < 0.005


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-kb", type=int, default=512)
    parser.add_argument("--subscriptions", "-n", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        ok = asyncio.run(run(args.size_kb, args.subscriptions, Path(folder)))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
