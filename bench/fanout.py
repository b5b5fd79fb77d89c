"""Fan-out benchmark: plan one digest for N subscriptions, then send a sample through the engine.

    python bench/fanout.py --subscriptions 100000 [--sample 3000] [--rate 1000] [--db PATH]

Subscriptions are mixed like a real deployment: Telegram private chats, groups and channels plus
Discord channels; several category sets, some keyword filters, quiet hours, four time zones, two
languages, and some `at HH:MM` schedules (which instant fan-out skips). Planning uses the real
select() and renderers. The send phase runs the real engine and SQLite ledger with a fake Telegram
sender (5 ms simulated latency) and a configured global limit, stopping after `--sample` messages.

Targets: planning 100k subscriptions < 5 s; achieved send rate >= 90% of the limit; CPU per
delivered message < 1 ms; peak RSS < 300 MB. Exit status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import sys
import tempfile
import time
from collections import deque
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.core.clock import SystemClock
from bot.core.model import Category, Digest, Filter, Item, Span, Vocabulary
from bot.delivery.config import DeliveryConfig, RateLimits
from bot.delivery.engine import DeliveryEngine
from bot.delivery.outcome import Outcome, Payload, Sent, Target
from bot.delivery.planner import Planner
from bot.delivery.ratelimit import RateLimiter, RatePolicy
from bot.platforms.registry import default_renderers
from bot.platforms.telegram.spec import GROUP_KINDS
from bot.sources.base import Incoming
from bot.store.db import Store
from bot.store.subscriptions import NewSubscription

VOCABULARY = Vocabulary(
    [
        Category("industry", "人工智能产业", "AI industry"),
        Category("tech", "技术进展", "Tech"),
        Category("macro", "宏观经济", "Macro"),
        Category("policy", "政策与治理", "Policy"),
        Category("jobs", "就业市场", "Jobs"),
        Category("robotics", "机器人", "Robotics"),
        Category("other", "其他", "Other"),
    ]
)
CATEGORY_SETS = [
    frozenset(),
    frozenset({"tech"}),
    frozenset({"policy"}),
    frozenset({"tech", "industry"}),
    frozenset({"macro", "jobs"}),
    frozenset({"robotics"}),
    frozenset({"policy", "macro", "jobs"}),
]
KEYWORDS = [("芯片",), ("GPU", "算力"), ("融资",)]
ZONES = ["Asia/Shanghai", "UTC", "Europe/Berlin", "America/New_York"]
SCHEDULES = ["at 08:00", "at 08:00,20:00", "at 12:30"]
LATENCY = 0.005
NOW = datetime.now(UTC)


def mixed_subscriptions(count: int, rng: random.Random) -> Iterator[NewSubscription]:
    for n in range(count):
        discord = n % 5 == 0
        roll = rng.random()
        kind = "guild_channel" if discord else "private" if roll < 0.85 else rng.choice(["group", "channel"])
        keywords = rng.random() < 0.05
        yield NewSubscription(
            platform="discord" if discord else "telegram",
            chat_id=str(n) if discord or kind == "private" else f"-100{n}",
            kind=kind,
            filter=Filter(
                rng.choice(CATEGORY_SETS),
                include=rng.choice(KEYWORDS) if keywords and rng.random() < 0.5 else (),
                exclude=rng.choice(KEYWORDS) if keywords else (),
            ),
            schedule=rng.choice(SCHEDULES) if rng.random() < 0.15 else "instant",
            timezone=rng.choice(ZONES),
            language="zh" if rng.random() < 0.7 else "en",
            quiet="23:00-07:00" if rng.random() < 0.05 else None,
        )


def sample_digest() -> Digest:
    """A 16-item digest in the real format's shape (own text), spread over the categories."""
    ids = [c.id for c in VOCABULARY]
    return Digest(
        id="bench-1",
        title="基准测试 过去4小时全球AI发生了什么",
        date=NOW.astimezone(ZoneInfo("Asia/Shanghai")),
        items=tuple(
            Item(
                number=n,
                title=f"第{n}条：某公司发布新一代芯片与算力平台 - 记者{n}",
                author=f"记者{n}",
                url=f"https://news.example/bench/{n}",
                summary=(
                    (
                        Span("据报道，该平台在训练与推理上"),
                        Span("性能提升显著", bold=True),
                        Span("，并将于明年面向更多开发者开放。分析人士认为这将影响行业格局。" * 2),
                    ),
                ),
                categories=(ids[n % len(ids)],),
            )
            for n in range(1, 17)
        ),
        categories=("人工智能产业", "技术进展"),
        source="bench",
    )


class PacedPlatform:
    """A fake Telegram: answers after a simulated latency, records when each send arrived."""

    platform = "telegram"

    def __init__(self, sample: int) -> None:
        self.sample = sample
        self.arrivals: list[float] = []
        self.reached = asyncio.Event()
        self.busiest_second = 0
        self._window: deque[float] = deque()

    async def send(self, target: Target, payload: Payload) -> Outcome:
        now = time.monotonic()
        self.arrivals.append(now)
        self._window.append(now)
        while self._window[0] <= now - 1:
            self._window.popleft()
        self.busiest_second = max(self.busiest_second, len(self._window))
        if len(self.arrivals) >= self.sample:
            self.reached.set()
        await asyncio.sleep(LATENCY)
        return Sent(str(len(self.arrivals)))

    def plain(self, payload: Payload) -> Payload:
        return payload


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


async def run(subscriptions: int, sample: int, rate: float, db: Path) -> bool:
    async with await Store.open(db) as store:
        started = time.perf_counter()
        async with store.transaction() as tx:
            created = await tx.subscriptions.insert_many(
                mixed_subscriptions(subscriptions, random.Random(1)), NOW
            )
        print(f"setup: {created} subscriptions in {time.perf_counter() - started:.1f} s")
        await store.record_incoming(Incoming("bench", "bench-1.md", "bench-hash", sample_digest()))

        started = time.perf_counter()
        messages = await Planner(store, VOCABULARY, renderers=default_renderers()).plan_pending()
        plan_seconds = time.perf_counter() - started
        plan_ok = plan_seconds < 5 * max(1.0, subscriptions / 100_000)
        print(
            f"plan: {messages} messages in {plan_seconds:.2f} s  [target < 5 s per 100k: {verdict(plan_ok)}]"
        )

        platform = PacedPlatform(sample)
        limits = RateLimits(global_per_second=rate, per_chat_per_second=1, per_group_per_minute=20)
        limiter = RateLimiter({"telegram": RatePolicy(limits, GROUP_KINDS)}, SystemClock())
        engine = DeliveryEngine(store, {"telegram": platform}, limiter, DeliveryConfig(concurrency=16))
        cpu_before = cpu_seconds()
        draining = asyncio.create_task(engine.drain(horizon=5))  # ends early when the ledger runs dry
        reached = asyncio.create_task(platform.reached.wait())
        await asyncio.wait({draining, reached}, return_when=asyncio.FIRST_COMPLETED)
        await engine.stop(grace=5)
        await draining
        reached.cancel()
        cpu_used = cpu_seconds() - cpu_before

    arrivals = platform.arrivals[:sample]
    sent = len(platform.arrivals)
    achieved = (len(arrivals) - 1) / (arrivals[-1] - arrivals[0]) if len(arrivals) > 1 else 0.0
    rate_ok = achieved >= 0.9 * rate
    cpu_us = cpu_used / max(1, sent) * 1e6
    rss = peak_rss_mb()
    print(
        f"send (Telegram rows): {len(arrivals)} messages at {achieved:.0f}/s = {achieved / rate:.1%}"
        f" of the {rate:.0f}/s limit, busiest second {platform.busiest_second}"
        f"  [target >= 90%: {verdict(rate_ok)}]"
    )
    cpu_ok = cpu_us < 1000
    print(f"cpu: {cpu_us:.0f} µs per delivered message ({sent} sent)  [target < 1000 µs: {verdict(cpu_ok)}]")
    print(f"peak rss: {rss:.0f} MB  [target < 300 MB: {verdict(rss < 300)}]")
    return plan_ok and rate_ok and cpu_ok and rss < 300


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscriptions", "-n", type=int, default=10_000, help="1000, 10000 or 100000")
    parser.add_argument("--sample", type=int, default=3000, help="messages to send in the send phase")
    parser.add_argument("--rate", type=float, default=1000.0, help="configured global sends per second")
    parser.add_argument("--db", type=Path, help="SQLite file to use (default: a temporary one)")
    args = parser.parse_args()
    if args.subscriptions < 1 or args.sample < 2 or args.rate <= 0:
        parser.error("--subscriptions >= 1, --sample >= 2 and --rate > 0 are required")
    with tempfile.TemporaryDirectory() as folder:
        db = args.db or Path(folder) / "fanout.db"
        return 0 if asyncio.run(run(args.subscriptions, args.sample, args.rate, db)) else 1


if __name__ == "__main__":
    sys.exit(main())
