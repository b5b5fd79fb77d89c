"""Weekly roundup benchmark: N weekly subscriptions due at once over a week of real-size digests.

    python bench/roundup.py [--subscriptions 2000] [--digests 42] [--schedule "at 09:00"] [--db PATH]

The week is the bundled sample digest published `--digests` times under new ids, with half of its
links repeated from the previous digest (stories that come back, with edited text) and half new.
Subscriptions mix Telegram and Discord, seven category sets, some keyword filters, four time
zones and two languages, all `weekly Mon 09:00` (or `--schedule`, to compare with a daily merged
post of the same digests); one scheduler pass (the real store file, the real
selection and renderers) writes every roundup. It prints the time of that pass, per subscription,
the distinct renderings, the ledger rows and the peak RSS.
Targets: under 10 ms per subscription on average (the daily path's cost: each chat is its own short
transaction); peak RSS under 300 MB. Exit status 1 when missed.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.config import load_settings
from bot.core.classify import classify
from bot.core.model import Digest, Filter
from bot.core.parse import load_digest
from bot.delivery.scheduler import Scheduler
from bot.platforms.registry import default_renderers
from bot.sources.base import Incoming
from bot.store.db import Store
from bot.store.subscriptions import NewSubscription

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "digests" / "2025.11.20.20.md"
VOCABULARY = load_settings(ROOT / "config.example.yaml").vocabulary()
MONDAY = datetime(2026, 11, 30, 0, 0, tzinfo=UTC)  # before 09:00 Monday in every zone below
ZONES = ["Asia/Shanghai", "UTC", "Europe/Berlin", "America/New_York"]
KEYWORDS = [("芯片",), ("GPU", "算力"), ("融资",)]


class BenchClock:
    """A wall clock the benchmark sets; nothing here sleeps."""

    def __init__(self, now: datetime) -> None:
        self.current = now

    def now(self) -> datetime:
        return self.current

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(0)


def week(count: int) -> list[Digest]:
    """`count` digests: each repeats half of the previous one's links (edited) and adds new ones."""
    base = classify(load_digest(SAMPLE), VOCABULARY)
    result = []
    for n in range(count):
        items = tuple(
            replace(
                item,
                url=f"{item.url}?w={n - 1 if i % 2 and n else n}",
                title=f"{item.title} ({n})",
            )
            for i, item in enumerate(base.items)
        )
        result.append(replace(base, id=f"bench.{n:03d}", items=items))
    return result


def subscriptions(count: int, schedule: str, rng: random.Random) -> list[NewSubscription]:
    categories = [c.id for c in VOCABULARY]
    sets = [frozenset()] + [frozenset(rng.sample(categories, k)) for k in (1, 1, 2, 2, 3)]
    return [
        NewSubscription(
            platform="discord" if n % 5 == 0 else "telegram",
            chat_id=str(n),
            kind="guild_channel" if n % 5 == 0 else "private",
            filter=Filter(rng.choice(sets), rng.choice(KEYWORDS) if rng.random() < 0.05 else ()),
            schedule=schedule,
            timezone=rng.choice(ZONES),
            language=rng.choice(["zh", "en"]),
        )
        for n in range(count)
    ]


async def run(count: int, digests: int, schedule: str, path: Path) -> bool:
    clock = BenchClock(MONDAY)
    async with await Store.open(path, clock=clock) as store:
        async with store.transaction() as tx:
            await tx.subscriptions.insert_many(subscriptions(count, schedule, random.Random(7)), clock.now())
        for digest in week(digests):
            await store.record_incoming(Incoming("bench", f"{digest.id}.md", digest.id, digest))
        clock.current = MONDAY + timedelta(hours=15)  # 09:00 has passed everywhere
        scheduler = Scheduler(store, VOCABULARY, renderers=default_renderers(), clock=clock)
        started = time.perf_counter()
        rows = await scheduler.run_due()
        elapsed = time.perf_counter() - started
        async with store.statement(write=False) as tx:
            payloads = (await tx.conn.fetchall("SELECT count(*) FROM payloads"))[0][0]
    per_sub = elapsed / count * 1000
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{count} subscriptions ({schedule}) over {digests} digests: {elapsed:.2f} s ({per_sub:.2f} ms each)"
    )
    print(f"ledger rows {rows}, distinct message bodies {payloads}, peak RSS {rss:.0f} MB")
    return per_sub < 10 and rss < 300


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscriptions", type=int, default=2000)
    parser.add_argument("--digests", type=int, default=42)
    parser.add_argument("--schedule", default="weekly Mon 09:00")
    parser.add_argument("--db", type=Path, help="database file (default: a temporary one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        ok = asyncio.run(
            run(args.subscriptions, args.digests, args.schedule, args.db or Path(folder) / "bench.db")
        )
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
