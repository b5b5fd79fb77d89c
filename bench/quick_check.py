"""Start-up cost of the damage check: `Store.open` (PRAGMA quick_check, O(size)) on a large database.

    python bench/quick_check.py [--mb 100] [--db PATH]

Fills a database through the real store API (digests with long summaries) until it reaches the
wanted size, then times opening it three times (pages in the OS cache, the usual case for a
restart). Prints the figures; there is no target: the check runs once per start.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bot.core.model import Digest, Item, Span
from bot.sources.base import Incoming
from bot.store.db import Store

SUMMARY = "据报道，该平台在训练与推理上性能提升显著，并将于明年面向更多开发者开放。" * 20


def big_digest(number: int) -> Digest:
    """About 100 KB stored: 40 items with a long rich-text summary each."""
    return Digest(
        id=f"bench-{number}",
        title=f"bench digest {number}",
        date=datetime(2025, 6, 1, 8, 0, tzinfo=UTC),
        items=tuple(
            Item(
                number=n,
                title=f"item {n} of digest {number}",
                author="bench",
                url=f"https://news.example/{number}/{n}",
                summary=((Span(f"{number}-{n} "), Span(SUMMARY), Span("重点", bold=True)),),
                categories=("tech",),
            )
            for n in range(1, 41)
        ),
        categories=("tech",),
        source="bench",
    )


def size_mb(path: Path) -> float:
    total = sum(os.path.getsize(p) for p in (path, Path(f"{path}-wal")) if p.exists())
    return total / 1_000_000


async def fill(path: Path, megabytes: float) -> int:
    digests = 0
    async with await Store.open(path) as store:
        while size_mb(path) < megabytes:
            for _ in range(50):
                digest = big_digest(digests)
                key = f"/bench/{digests}.md"
                await store.record_incoming(Incoming("bench", key, f"h{digests}", digest, history=True))
                digests += 1
    return digests


async def timed_open(path: Path) -> float:
    started = time.perf_counter()
    store = await Store.open(path)
    elapsed = time.perf_counter() - started
    await store.close()
    return elapsed


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mb", type=float, default=100.0, help="database size to reach (MB)")
    parser.add_argument("--db", type=Path, help="database file (default: a temporary one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.db or Path(tmp) / "bench.db"
        started = time.perf_counter()
        digests = await fill(path, args.mb)
        print(f"filled {size_mb(path):.0f} MB ({digests} digests) in {time.perf_counter() - started:.1f} s")
        for attempt in (1, 2, 3):
            print(f"open with quick_check, run {attempt}: {await timed_open(path):.3f} s")


if __name__ == "__main__":
    asyncio.run(main())
