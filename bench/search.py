"""Search benchmark: /search over a million stored items, and how large the index is.

    python bench/search.py [--items 1000000] [--per-digest 30] [--runs 7] [--keep PATH]

Builds a real database file: `--items` items in digests of `--per-digest` items, six digests a day
(so 1M items reach about 15 years back), stored through the digests table so the migration's
triggers fill the index exactly as intake does. Titles and summaries mix AI-news words with random
Chinese characters and some English. Then it times the store's search (the query /search runs, a
page of 10, through a chat filter of one category and with none) for a 2-character Chinese query
(LIKE over the last 30 days), a 4-character Chinese query and an English one, each `--runs`
times, and prints the median and worst of each, the hits found, and the index's size on disk.

Target: every median under 50 ms. Exit status 1 when one is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.core.model import Digest, Item, Span
from bot.core.search_query import parse_query
from bot.store.db import Store
from bot.store.digests import encode_digest

NOW = datetime(2026, 1, 1, tzinfo=UTC)
TARGET_MS = 50.0
BATCH = 500  # digests per transaction while building
CACHE_KIB = 1_000_000  # a large page cache for the build only (the bot runs with SQLite's default)
CATEGORIES = ("tech", "policy", "jobs", "industry", "robotics", "funding")
WORDS = [
    "人工智能",
    "机器人",
    "芯片",
    "大模型",
    "开源",
    "融资",
    "监管",
    "数据中心",
    "算力",
    "自动驾驶",
    "具身智能",
    "智能体",
    "训练",
    "推理",
    "半导体",
    "就业",
    "裁员",
    "招聘",
    "政策",
    "欧盟",
    "美国",
    "中国",
    "投资",
    "估值",
    "论文",
    "基准",
    "评测",
    "多模态",
    "语音",
    "视觉",
    "安全",
    "对齐",
    "版权",
    "能源",
    "电力",
    "云计算",
    "手机",
    "终端",
    "医疗",
    "教育",
    "金融",
    "制造",
    "工厂",
    "供应链",
    "出口",
    "管制",
    "标准",
    "隐私",
]
ENGLISH = [
    "robot",
    "transformer",
    "OpenAI",
    "GPU",
    "inference",
    "agent",
    "model",
    "open-source",
    "chip",
    "startup",
    "benchmark",
]
QUERIES = (("2-char zh", "芯片"), ("4-char zh", "人工智能"), ("english", "transformer"))


class Clock:
    """The store's clock, fixed at NOW (the 30-day window of short queries ends there)."""

    def now(self) -> datetime:
        return NOW

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class Words:
    """A Zipf-distributed vocabulary, like news text: the AI-news words above (most frequent first),
    then made-up words of 2-4 characters from 2,500 Chinese characters, and some English words."""

    def __init__(self, rng: random.Random, size: int = 5000) -> None:
        made = (
            "".join(chr(0x4E00 + rng.randrange(2500)) for _ in range(rng.randint(2, 4))) for _ in range(size)
        )
        english = (f" {word} " for word in ENGLISH)
        self.words = [*WORDS[:10], *english, *WORDS[10:], *made]
        self.weights = list(itertools.accumulate(1 / rank for rank in range(1, len(self.words) + 1)))
        self.rng = rng
        self.drawn: list[str] = []

    def sentence(self, length: int) -> str:
        """About `length` characters of words drawn by frequency (drawn 10,000 at a time: fast)."""
        parts: list[str] = []
        size = 0
        while size < length:
            if not self.drawn:
                self.drawn = self.rng.choices(self.words, cum_weights=self.weights, k=10_000)
            word = self.drawn.pop()
            parts.append(word)
            size += len(word)
        return "".join(parts)


def make_digest(words: Words, number: int, per_digest: int) -> Digest:
    date = NOW - timedelta(hours=4 * number)
    return Digest(
        id=f"d{number}",
        title=f"{date:%Y.%m.%d.%H} 摘要",
        date=date,
        items=tuple(
            Item(
                number=n,
                title=words.sentence(24),
                author="编辑部",
                url=f"https://news.example/{number}/{n}",
                summary=((Span(words.sentence(60)),), (Span(words.sentence(60)),)),
                categories=(words.rng.choice(CATEGORIES),),
            )
            for n in range(1, per_digest + 1)
        ),
    )


def build(path: Path, items: int, per_digest: int) -> float:
    """Store the digests oldest first, BATCH to a transaction (the triggers index them); seconds taken."""
    words = Words(random.Random(13))
    digests = -(-items // per_digest)
    started = time.perf_counter()
    with sqlite3.connect(path, isolation_level=None) as conn:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        conn.execute("BEGIN")
        for done, number in enumerate(range(digests - 1, -1, -1), start=1):
            model = encode_digest(make_digest(words, number, min(per_digest, items - number * per_digest)))
            conn.execute(
                "INSERT INTO digests (digest_id, source, scope, key, content_hash, status, model, stored_at,"
                " plan_state) VALUES (?, 'folder', 'folder', ?, ?, 'ok', ?, ?, 'done')",
                (f"d{number}", f"/d/{number}.md", f"h{number}", model, NOW.isoformat()),
            )
            if done % BATCH == 0:
                conn.execute("COMMIT")
                conn.execute("BEGIN")
        conn.execute("COMMIT")
    return time.perf_counter() - started


async def create(path: Path) -> None:
    """A new database file with the current schema."""
    async with await Store.open(path, clock=Clock()):
        pass


async def measure(path: Path, runs: int) -> bool:
    met = True
    async with await Store.open(path, clock=Clock()) as store:
        size = await store.search_index_size()
        print(
            f"index: {size / 2**20:.0f} MiB (search_items + FTS5), file {store.file_size() / 2**20:.0f} MiB"
        )
        for label, text in QUERIES:
            query = parse_query(text)
            for categories in (frozenset(), frozenset({"jobs"})):
                times: list[float] = []
                for _ in range(runs):
                    started = time.perf_counter()
                    page = await store.search(query, categories, limit=10)
                    times.append((time.perf_counter() - started) * 1000)
                median = statistics.median(times)
                met = met and median < TARGET_MS
                scope = "every category" if not categories else "one category"
                print(
                    f"{label:10} {text!r:14} {scope:15} median {median:6.1f} ms  worst {max(times):6.1f} ms"
                    f"  hits on page {len(page.hits)}{' (+more)' if page.more else ''}"
                )
    return met


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--per-digest", type=int, default=30)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--keep", type=Path, help="build (or reuse) the database at this path")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = args.keep or Path(folder) / "search.db"
        if not path.exists():
            asyncio.run(create(path))
            seconds = build(path, args.items, args.per_digest)
            print(f"stored {args.items} items in {seconds:.0f} s ({args.items / seconds:.0f} items/s)")
        met = asyncio.run(measure(path, args.runs))
    print("target met" if met else f"target missed: a median over {TARGET_MS:.0f} ms")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
