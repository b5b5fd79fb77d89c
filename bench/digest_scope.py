"""Cost of scoping digest ids by source: migration 003 on a large database, and the start-up re-scope.

    python bench/digest_scope.py [--mb 100] [--db PATH]

Builds a schema-2 database (before scoped ids) of about `--mb` megabytes of large digests from two
sources, then times: opening it (migration 003 writes the new column into every row, once), a
start with nothing to re-scope (every start), and a start that adds a `same_as` (every row of one
source joins the other's scope). Prints the figures; there is no target.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from quick_check import big_digest, size_mb

from bot.store.db import Store
from bot.store.digests import encode_digest
from bot.store.schema import load_migrations


def build_version_2(path: Path, megabytes: float) -> int:
    """Rows straight into a schema-2 file: the store of this version would migrate it on open."""
    now = datetime(2025, 6, 1, tzinfo=UTC).isoformat()
    rows = 0
    with sqlite3.connect(path) as raw:
        for migration in load_migrations()[:2]:
            raw.executescript(migration.sql)
        raw.execute("PRAGMA user_version = 2")
        while size_mb(path) < megabytes:
            model = encode_digest(big_digest(rows))
            source = ("site", "feed")[rows % 2]
            raw.execute(
                "INSERT INTO digests (digest_id, source, key, content_hash, status, model, stored_at,"
                " plan_state) VALUES (?, ?, ?, ?, 'ok', ?, ?, 'done')",
                (f"bench-{rows}", source, f"/{source}/{rows}.md", f"h{rows}", model, now),
            )
            rows += 1
            if rows % 50 == 0:
                raw.commit()
    return rows


async def timed_open(path: Path, scopes: dict[str, str]) -> tuple[float, float]:
    started = time.perf_counter()
    async with await Store.open(path) as store:
        opened = time.perf_counter()
        await store.use_sources(scopes)
        return opened - started, time.perf_counter() - opened


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=100.0)
    parser.add_argument("--db", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = args.db or Path(folder) / "bench.db"
        rows = build_version_2(path, args.mb)
        print(f"schema-2 database: {rows} digests, {size_mb(path):.0f} MB")
        own = {"site": "site", "feed": "feed"}
        migrate, _ = await timed_open(path, own)
        print(f"open with migration 003 (every row rewritten once): {migrate:.2f} s")
        _, steady = await timed_open(path, own)
        print(f"re-scope at a start with the same config: {steady * 1000:.1f} ms")
        _, joined = await timed_open(path, {"site": "site", "feed": "site"})
        print(f"re-scope at a start that adds same_as ({rows // 2} rows move): {joined:.2f} s")


if __name__ == "__main__":
    asyncio.run(main())
