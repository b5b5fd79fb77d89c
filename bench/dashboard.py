"""Dashboard benchmark: each HTTP endpoint's latency on a database with a million rows.

    python bench/dashboard.py [--subscriptions 1000000] [--deliveries 1000000] [--digests 20]

Builds a real database file (the bot's own migrations) with `--subscriptions` subscriptions (1 %
paused, with reasons) and `--deliveries` delivery rows: the newest digest is a broadcast to every
subscription caught mid-way (60 % sent over the last hours, some sending, the rest pending), the
older digests' rows all sent over the last 30 days. Then runs the real HTTP server on it and times
each endpoint (the dashboard, its progress JSON, /metrics, /healthz) over real HTTP requests.

Target: every endpoint under 100 ms (median). Exit status 1 when one is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp

from bot.core.clock import SystemClock
from bot.store.db import Store
from bot.store.ledger_insert import TALLY_SQLITE
from bot.store.times import to_db
from bot.web.config import HttpConfig
from bot.web.metrics import Metrics
from bot.web.server import PROGRESS_TTL, WebServer

TARGET_MS = 100.0
TOKEN = "bench-token-0123456789abcdef"
REQUESTS = 5


def subscriptions(count: int, now: datetime) -> Iterator[tuple[object, ...]]:
    stamp = to_db(now)
    for i in range(count):
        paused = i % 100 == 0
        reason = f"Forbidden: bot was blocked by the user ({i % 7})" if paused else None
        yield (
            i + 1,
            "chat",
            str(1_000_000 + i),
            "private",
            f"Chat <{i}>",
            '{"categories": [], "exclude": [], "include": []}',
            "paused" if paused else "active",
            reason,
            to_db(now - timedelta(minutes=i % 5000)) if paused else None,
            stamp,
        )


def deliveries(subs: int, count: int, digests: int, now: datetime) -> Iterator[tuple[object, ...]]:
    """The newest digest to every subscription (mid-broadcast), the rest spread over older digests."""
    broadcast = min(subs, count)
    for i in range(count):
        if i < broadcast:
            seq, sub = digests, i + 1
            state = "sent" if i < broadcast * 0.6 else "sending" if i < broadcast * 0.6 + 16 else "pending"
            sent_at = now - timedelta(seconds=(broadcast * 0.6 - i) * 0.02)
        else:
            seq, sub = 1 + i % max(digests - 1, 1), 1 + i % subs
            state, sent_at = "sent", now - timedelta(minutes=i % (30 * 24 * 60))
        stamp = to_db(sent_at)
        yield (sub, f"d{seq}", 1, 1, seq, "chat", str(sub), "private", 1, state, stamp, stamp, stamp, stamp,
               stamp if state == "sent" else None)  # fmt: skip


def build(path: Path, subs: int, rows: int, digests: int) -> None:
    asyncio.run(_migrate(path))
    now = datetime.now(UTC)
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("PRAGMA synchronous = OFF")
        conn.executemany(
            "INSERT INTO digests (seq, digest_id, source, scope, key, content_hash, status, model, stored_at,"
            " plan_state) VALUES (?, ?, 'bench', 'bench', ?, ?, 'ok', ?, ?, 'done')",
            (
                (s, f"2026.01.{s:02d}", f"k{s}", f"h{s}", f'{{"title": "Digest {s} <b>"}}', to_db(now))
                for s in range(1, digests + 1)
            ),
        )
        conn.execute("INSERT INTO payloads (id, hash, body) VALUES (1, 'h', '{}')")
        conn.executemany(
            "INSERT INTO subscriptions (id, platform, chat_id, kind, title, filter, status, paused_reason,"
            " paused_at, origin, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'user', ?, ?)",
            ((*row, row[-1]) for row in subscriptions(subs, now)),
        )
        conn.executemany(
            "INSERT INTO deliveries (subscription_id, unit, part, parts, digest_seq, platform, chat_id, kind,"
            " payload_id, state, next_attempt_at, due_at, created_at, updated_at, sent_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            deliveries(subs, rows, digests, now),
        )
        for tally in TALLY_SQLITE:  # what the store's inserts count (bot/store/ledger_insert.py)
            conn.execute(tally, (0,))
        conn.execute("ANALYZE")


async def _migrate(path: Path) -> None:
    store = await Store.open(path)
    await store.close()


async def measure(path: Path) -> dict[str, list[float]]:
    store = await Store.open(path)
    server = WebServer(HttpConfig(port=0, token=TOKEN), store, Metrics(), list, SystemClock())
    await server.start()
    timings: dict[str, list[float]] = {}
    headers = {"Authorization": f"Bearer {TOKEN}"}
    try:
        async with aiohttp.ClientSession(headers=headers) as session:
            for path_ in ("", "api/progress", "metrics", "healthz"):
                for _ in range(REQUESTS):
                    if path_ == "api/progress":
                        await asyncio.sleep(PROGRESS_TTL + 0.05)  # measure the query, not the cache
                    started = time.perf_counter()
                    async with session.get(server.url + path_) as response:
                        await response.read()
                        assert response.status == 200, (path_, response.status)
                    timings.setdefault(f"/{path_}", []).append((time.perf_counter() - started) * 1000)
    finally:
        await server.stop()
        await store.close()
    return timings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscriptions", type=int, default=1_000_000)
    parser.add_argument("--deliveries", type=int, default=1_000_000)
    parser.add_argument("--digests", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.db"
        started = time.perf_counter()
        build(path, args.subscriptions, args.deliveries, max(args.digests, 2))
        size = path.stat().st_size / 2**20
        print(f"built {args.subscriptions:,} subscriptions, {args.deliveries:,} deliveries "
              f"({size:.0f} MB) in {time.perf_counter() - started:.1f} s")  # fmt: skip
        timings = asyncio.run(measure(path))
    missed = False
    for endpoint, values in timings.items():
        median = statistics.median(values)
        missed = missed or median > TARGET_MS
        print(f"{endpoint:14} median {median:7.1f} ms   max {max(values):7.1f} ms   ({len(values)} requests)")
    print(f"target: median under {TARGET_MS:.0f} ms each: {'MISSED' if missed else 'met'}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
