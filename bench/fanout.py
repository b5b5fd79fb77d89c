"""Fan-out benchmark: planning, then expansion into ledger rows, for N subscriptions; an engine send.

    python bench/fanout.py [--sizes 10000,100000,1000000] [--sample 3000] [--rate 1000] [--keep DIR]

Subscriptions are mixed like a real deployment: Telegram private chats, groups and channels plus
Discord channels; several category sets, some keyword filters, quiet hours, four time zones, two
languages, and some `at HH:MM` schedules (which instant fan-out skips). Planning and expansion use
the real select() and renderers and the real SQLite ledger.

Planning (bot/delivery/planner.py) renders every reading the subscriptions use and records the
fan-out instant: the digest is planned when it returns, before any ledger row exists. Expansion
(bot/delivery/expander.py) then writes the rows; the app does it batch by batch as the engine drains
them, this bench runs it to completion unthrottled (`expand_all`) and reports its cost per row and
its rows per second.

Each size runs in fresh processes: one writes the subscriptions, another plans and expands, so that
process's peak RSS (ru_maxrss) is planning and expansion alone (plus imports), not the set-up's.
Its CPU figure counts every thread of that process (renders and the database thread included).
The send phase (smallest size only, a process and database of its own) plans, then runs the real
engine fed by the expander (as the app wires them) with an in-process fake Telegram sender (5 ms
simulated latency, no HTTP): an engine-only figure, not the platform path (bench/send.py).

While it plans and expands, a chat sends /status every 50 ms: the slowest reply is how long a
command waits for the fan-out (its batches are short transactions).

Targets: planning 1M subscriptions < 5 s; peak RSS flat in N (1M within 50 MB of 10k); every
/status answered within 1 s; achieved send rate >= 90% of the limit; engine CPU per message < 1 ms.
Exit status 1 when a target is missed.

Figures measured on a shared, busy machine are pessimistic: compare sizes and variants measured in
one run rather than runs made at different times.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.commands.model import Caller, ChatRef, Command
from bot.commands.service import CommandService
from bot.core.clock import SystemClock
from bot.core.model import Category, Digest, Filter, Item, Span, Vocabulary
from bot.delivery.config import DeliveryConfig, RateLimits
from bot.delivery.engine import DeliveryEngine
from bot.delivery.expander import Expander, stock_for
from bot.delivery.outcome import Outcome, Payload, Sent, Target
from bot.delivery.planner import Planner, share_the_interpreter
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


DIGEST_SEQ = 1  # the one digest the set-up stores
SETUP_CHUNK = 50_000  # subscriptions per set-up transaction: the set-up's memory stays small too
PLAN_TARGET_SECONDS = 5.0  # for 1M subscriptions
RSS_GROWTH_MB = 50.0  # peak RSS at the largest size minus the smallest's
REPLY_SECONDS = 1.0  # a command answered while a fan-out is planned
SEND_PATIENCE = 30.0  # seconds the send phase waits for its sample beyond twice its time at the rate
CHAT = ChatRef("telegram", "-200", None, kind="supergroup", title="Another chat")
CALLER = Caller("7", language="en")


async def setup(subscriptions: int, db: Path) -> None:
    """The subscriptions and one new digest to plan, written by a process of their own."""
    rows = mixed_subscriptions(subscriptions, random.Random(1))
    async with await Store.open(db) as store:
        for _ in range(0, subscriptions, SETUP_CHUNK):
            async with store.transaction() as tx:
                await tx.subscriptions.insert_many(itertools.islice(rows, SETUP_CHUNK), NOW)
        await store.record_incoming(Incoming("bench", "bench-1.md", "bench-hash", sample_digest()))


async def status_replies(service: CommandService, replies: list[float], stop: asyncio.Event) -> None:
    """/status from a chat every 50 ms while the fan-out is planned: how long a command waits."""
    while not stop.is_set():
        started = time.perf_counter()
        await service.handle(Command("status", (), CHAT, CALLER))
        replies.append(time.perf_counter() - started)
        await asyncio.sleep(0.05)


async def plan(db: Path) -> dict[str, float]:
    """Plan the digest, then expand it to completion, each timed, while a chat sends /status."""
    async with await Store.open(db) as store:
        share_the_interpreter()  # as the app does
        service = CommandService(store, VOCABULARY, renderers=default_renderers())
        stop, replies = asyncio.Event(), [0.0]
        commands = asyncio.create_task(status_replies(service, replies, stop))
        started, cpu_before = time.perf_counter(), cpu_seconds()
        readings = await Planner(store, VOCABULARY, renderers=default_renderers()).plan_digest(DIGEST_SEQ)
        planned, planned_cpu, replies_planning = time.perf_counter(), cpu_seconds(), len(replies)
        expanded_from = time.perf_counter()
        messages = await Expander(store, VOCABULARY, renderers=default_renderers()).expand_all()
        stop.set()
        await commands
        return {
            "readings": readings or 0,
            "messages": messages,
            "seconds": planned - started,
            "cpu": planned_cpu - cpu_before,
            "expansion": time.perf_counter() - expanded_from,
            "rss": peak_rss_mb(),
            "reply_planning": max(replies[:replies_planning]),
            "reply_expanding": max(replies[replies_planning:], default=0.0),
            "reply": max(replies),
        }


async def send(db: Path, sample: int, rate: float) -> dict[str, float]:
    """Plan, then the engine fed by the expander (wired as in the app) with an in-process fake
    sender: what the engine costs by itself, with the rows written as it drains them."""
    async with await Store.open(db) as store:
        await Planner(store, VOCABULARY, renderers=default_renderers()).plan_pending()
        platform = PacedPlatform(sample)
        limits = RateLimits(global_per_second=rate, per_chat_per_second=1, per_group_per_minute=20)
        limiter = RateLimiter({"telegram": RatePolicy(limits, GROUP_KINDS)}, SystemClock())
        expander = Expander(
            store,
            VOCABULARY,
            renderers=default_renderers(),
            stock=stock_for(rate),
            platforms=["telegram"],
            on_enqueued=lambda: engine.wake(),
        )
        engine = DeliveryEngine(
            store,
            {"telegram": platform},
            limiter,
            DeliveryConfig(concurrency=16),
            on_claimed=expander.claimed,
        )
        cpu_before = cpu_seconds()
        expanding = asyncio.create_task(expander.run())
        sending = asyncio.create_task(engine.run())  # not drain(): the first rows are not written yet
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(platform.reached.wait(), SEND_PATIENCE + 2 * sample / rate)
        await engine.stop(grace=5)
        await sending
        expander.stop()
        await expanding
        cpu_used = cpu_seconds() - cpu_before
    arrivals = platform.arrivals[:sample]
    achieved = (len(arrivals) - 1) / (arrivals[-1] - arrivals[0]) if len(arrivals) > 1 else 0.0
    return {
        "send_rate": achieved,
        "send_cpu_us": cpu_used / max(1, len(platform.arrivals)) * 1e6,
        "busiest": platform.busiest_second,
    }


def child(*args: str) -> dict[str, float]:
    """Run this script in a fresh process; its last output line is a JSON result."""
    done = subprocess.run(
        [sys.executable, __file__, *args], check=True, capture_output=True, text=True, env=os.environ
    )
    return dict(json.loads(done.stdout.splitlines()[-1]))


def measure(sizes: list[int], sample: int, rate: float, folder: Path) -> bool:
    """Each size set up and planned in fresh processes; prints one table row per size."""
    print(
        "| subscriptions | readings | planning (wall) | planning (CPU) | messages | expansion (wall)"
        " | per message | messages/s | peak RSS | slowest /status planning / expanding |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    results: dict[int, dict[str, float]] = {}
    for size in sizes:
        db = folder / f"fanout-{size}.db"
        child("--setup", str(size), "--db", str(db))
        got = results[size] = child("--plan", "--db", str(db))
        messages = max(1, int(got["messages"]))
        print(
            f"| {size:,} | {int(got['readings']):,} | {got['seconds']:.2f} s | {got['cpu']:.2f} s"
            f" | {int(got['messages']):,} | {got['expansion']:.2f} s"
            f" | {got['expansion'] / messages * 1e6:.1f} µs | {messages / got['expansion']:,.0f}"
            f" | {got['rss']:.0f} MB | {got['reply_planning']:.2f} s / {got['reply_expanding']:.2f} s |",
            flush=True,
        )
        _remove(db)
    largest, smallest = results[sizes[-1]], results[sizes[0]]
    checks = {
        f"planning {sizes[-1]:,} < {PLAN_TARGET_SECONDS:.0f} s": largest["seconds"]
        < PLAN_TARGET_SECONDS * max(1.0, sizes[-1] / 1_000_000),
        f"peak RSS flat (+{largest['rss'] - smallest['rss']:.0f} MB from {sizes[0]:,})": largest["rss"]
        - smallest["rss"]
        < RSS_GROWTH_MB,
        "every /status answered within 1 s": all(got["reply"] < REPLY_SECONDS for got in results.values()),
    }
    if sample:
        db = folder / f"send-{sizes[0]}.db"
        child("--setup", str(sizes[0]), "--db", str(db))
        first = child("--send", "--db", str(db), "--sample", str(sample), "--rate", str(rate))
        _remove(db)
        print(
            f"send, engine fed by the expander (in-process fake sender, {LATENCY * 1000:.0f} ms latency,"
            f" no HTTP): {first['send_rate']:.0f}/s of the {rate:.0f}/s limit, busiest second"
            f" {first['busiest']:.0f}, {first['send_cpu_us']:.0f} µs CPU per message"
        )
        checks["engine send rate >= 90% of the limit"] = first["send_rate"] >= 0.9 * rate
        checks["engine CPU per message < 1 ms"] = first["send_cpu_us"] < 1000
    for name, ok in checks.items():
        print(f"{name}: {verdict(ok)}")
    return all(checks.values())


def _remove(db: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000", help="comma-separated subscription counts")
    parser.add_argument("--sample", type=int, default=3000, help="messages to send (0: no send phase)")
    parser.add_argument("--rate", type=float, default=1000.0, help="configured global sends per second")
    parser.add_argument("--keep", type=Path, help="folder for the databases (default: a temporary one)")
    parser.add_argument("--setup", type=int, help=argparse.SUPPRESS)  # child: write N subscriptions
    parser.add_argument("--plan", action="store_true", help=argparse.SUPPRESS)  # child: plan and expand
    parser.add_argument("--send", action="store_true", help=argparse.SUPPRESS)  # child: plan and send
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.setup is not None or args.plan or args.send:
        if args.db is None:
            parser.error("--setup, --plan and --send need --db")
        if args.setup is not None:
            asyncio.run(setup(args.setup, args.db))
            print("{}")
        elif args.plan:
            print(json.dumps(asyncio.run(plan(args.db))))
        else:
            print(json.dumps(asyncio.run(send(args.db, args.sample, args.rate))))
        return 0
    try:
        sizes = sorted({int(size) for size in args.sizes.split(",")})
    except ValueError:
        parser.error(f"--sizes: expected comma-separated whole numbers, got {args.sizes!r}")
    if not sizes or sizes[0] < 1 or args.sample == 1 or args.sample < 0 or args.rate <= 0:
        parser.error("--sizes >= 1, --sample 0 or >= 2 and --rate > 0 are required")
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
        return 0 if measure(sizes, args.sample, args.rate, args.keep) else 1
    with tempfile.TemporaryDirectory() as folder:
        return 0 if measure(sizes, args.sample, args.rate, Path(folder)) else 1


if __name__ == "__main__":
    sys.exit(main())
