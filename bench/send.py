"""Send benchmark: digestbot's real send path against PTB + AIORateLimiter and a raw aiohttp floor.

    python bench/send.py [--chats 3000] [--rate 1000] [--rounds 3] [--concurrency 64]

The project's fake Telegram Bot API server (tests/fake_telegram.py, flood limits off) runs in a
separate process started by this script, so its CPU is not the bot's. In each round, one after the
other, the same message goes to every chat through:

- digestbot: the real engine, the real Telegram sender (lean JSON over aiohttp) and the real store
  (a temporary SQLite file), for a broadcast planned by the real planner and paced by the real
  rate limiter at `--rate` (planning is timed apart);
- ptb: what a user would write: `Bot.send_message` with PTB's `AIORateLimiter` at `--rate`;
- raw: aiohttp posting the JSON body, paced to `--rate`: the floor of any Python sender.

The digestbot variant leaves the process as the app does once started (a 1 ms GIL switch interval,
the start-up heap frozen out of the garbage collector's passes, young collections spaced out); that
stays for the variants after it, so from the first round on all three run in the same process state.

For each it prints msg/s (messages / time from the first send to the last answer) and the bot
process's CPU per message (time.process_time: every thread, the database's included), then the
medians over the rounds and digestbot's ratios to the others. Targets at a 1,000/s limit:
digestbot >= 950 msg/s and <= 500 us CPU per message, ahead of ptb on both. Exit status 1 when missed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import aiohttp

from bot.core.clock import SystemClock
from bot.core.heap import settle_heap
from bot.core.model import Category, Digest, Item, Span, Vocabulary
from bot.delivery.config import DeliveryConfig, RateLimits
from bot.delivery.engine import DeliveryEngine
from bot.delivery.expander import fan_out
from bot.delivery.planner import share_the_interpreter
from bot.delivery.ratelimit import RateLimiter, RatePolicy
from bot.platforms.registry import default_renderers
from bot.platforms.telegram.adapter import BOT_POOL_SIZE, TIMEOUTS
from bot.platforms.telegram.bot_api import BotApi
from bot.platforms.telegram.render import render_telegram
from bot.platforms.telegram.sender import TelegramSender
from bot.platforms.telegram.spec import GROUP_KINDS
from bot.render.options import RenderOptions
from bot.sources.base import Incoming
from bot.store.db import Store
from bot.store.subscriptions import NewSubscription

TOKEN = "7512345678:AAF-benchBENCHbenchBENCHbenchBENCH12"
FIRST_CHAT = 1_000_000
VOCABULARY = Vocabulary([Category("tech", "技术进展", "Tech"), Category("other", "其他", "Other")])
NOW = datetime.now(UTC)
VARIANTS = ("digestbot", "ptb", "raw")
TESTS = Path(__file__).resolve().parent.parent / "tests"


def digest() -> Digest:
    """Eight items with links and bold runs: one Telegram message of about 2 KB."""
    return Digest(
        id="send-bench",
        title="发送基准 Send benchmark",
        date=NOW,
        items=tuple(
            Item(
                number=n,
                title=f"第{n}条：某公司发布新一代芯片 story {n}",
                url=f"https://news.example/send/{n}",
                summary=(
                    (Span("据报道，该平台在训练与推理上"), Span("性能提升显著", bold=True), Span("。")),
                ),
                categories=("tech",),
            )
            for n in range(1, 9)
        ),
    )


@dataclass
class Result:
    messages: int
    seconds: float
    cpu: float

    @property
    def rate(self) -> float:
        return self.messages / self.seconds

    @property
    def cpu_us(self) -> float:
        return self.cpu / self.messages * 1e6


async def measured(messages: int, body: Callable[[], Awaitable[None]]) -> Result:
    cpu, started = time.process_time(), time.perf_counter()
    await body()
    return Result(messages, time.perf_counter() - started, time.process_time() - cpu)


async def digestbot(base_url: str, chats: int, rate: float, concurrency: int, folder: Path) -> Result:
    """The real engine, sender and store; planning happens before the clock starts."""
    db = folder / f"bench-{time.monotonic_ns()}.db"
    async with await Store.open(db) as store:
        async with store.transaction() as tx:
            await tx.subscriptions.insert_many(
                (NewSubscription("telegram", str(FIRST_CHAT + n), "private") for n in range(chats)),
                NOW,
            )
        await store.record_incoming(Incoming("bench", "send.md", "send-hash", digest()))
        started = time.perf_counter()
        planned = await fan_out(store, VOCABULARY, renderers=default_renderers())
        print(f"  (digestbot planned {planned} messages in {time.perf_counter() - started:.2f} s)")
        limits = RateLimits(global_per_second=rate, per_chat_per_second=1, per_group_per_minute=20)
        limiter = RateLimiter({"telegram": RatePolicy(limits, GROUP_KINDS)}, SystemClock())
        api = BotApi(TOKEN, base_url, TIMEOUTS, pool_size=BOT_POOL_SIZE)
        api.open()  # as the platform's start does
        engine = DeliveryEngine(
            store, {"telegram": TelegramSender(api)}, limiter, DeliveryConfig(concurrency=concurrency)
        )
        share_the_interpreter()  # the process as the app leaves it once started (bot/app.py)
        settle_heap()
        try:
            result = await measured(planned, lambda: engine.drain(horizon=0))
        finally:
            await api.close()
        stats = await store.stats(store.clock.now())
    sent = stats["deliveries_24h"].get("sent", 0)
    if sent != planned:
        raise SystemExit(f"digestbot sent {sent} of {planned}: {stats['deliveries_24h']}")
    return result


async def ptb(base_url: str, chats: int, rate: float, concurrency: int, text: str) -> Result:
    """`Bot.send_message` for every chat, `concurrency` at a time, paced by PTB's AIORateLimiter."""
    from telegram.ext import AIORateLimiter, ExtBot
    from telegram.request import HTTPXRequest

    limiter = AIORateLimiter(overall_max_rate=rate, overall_time_period=1, max_retries=0)
    request = HTTPXRequest(connection_pool_size=concurrency, pool_timeout=None)
    gate = asyncio.Semaphore(concurrency)  # unbounded, httpcore's pool bookkeeping goes quadratic
    async with ExtBot(TOKEN, base_url=base_url, request=request, rate_limiter=limiter) as bot:
        sent = 0

        async def one(chat: int) -> None:
            nonlocal sent
            async with gate:
                await bot.send_message(chat, text, parse_mode="HTML")
            sent += 1

        async def all_chats() -> None:
            await asyncio.gather(*(one(FIRST_CHAT + n) for n in range(chats)))

        result = await measured(chats, all_chats)
    assert sent == chats
    return result


async def raw(base_url: str, chats: int, rate: float, concurrency: int, text: str) -> Result:
    """JSON POSTs paced to `rate` (one every 1/rate s), at most `concurrency` in flight."""
    url = f"{base_url}{TOKEN}/sendMessage"
    gate = asyncio.Semaphore(concurrency)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:

        async def one(chat: int) -> None:
            body = json.dumps({"chat_id": chat, "text": text, "parse_mode": "HTML"}).encode()
            async with session.post(url, data=body, headers={"Content-Type": "application/json"}) as answer:
                assert (await answer.json())["ok"]
            gate.release()

        async def paced() -> None:
            loop = asyncio.get_running_loop()
            start, tasks = loop.time(), []
            for n in range(chats):
                delay = start + n / rate - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                await gate.acquire()
                tasks.append(asyncio.create_task(one(FIRST_CHAT + n)))
            await asyncio.gather(*tasks)

        return await measured(chats, paced)


def serve_fake(chats: int) -> None:
    """The fake Bot API server in this (separate) process: prints its URL, serves until stdin ends."""
    sys.path.insert(0, str(TESTS))
    from fake_telegram import FakeTelegram
    from fake_telegram_types import FloodRules

    async def serve() -> None:
        async with FakeTelegram(TOKEN, flood_rules=FloodRules(enabled=False)) as fake:
            for n in range(chats):
                fake.user(FIRST_CHAT + n)
            settle_heap()  # the instrument must not stall its answers for a full collection
            print(fake.base_url, flush=True)
            await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)

    asyncio.run(serve())


def report(name: str, results: list[Result]) -> tuple[float, float]:
    rate = statistics.median(r.rate for r in results)
    cpu = statistics.median(r.cpu_us for r in results)
    rounds = "  ".join(f"{r.rate:5.0f}/s {r.cpu_us:5.0f} us" for r in results)
    print(f"{name:<10} {rate:7.0f} msg/s {cpu:7.0f} us/msg   rounds: {rounds}")
    return rate, cpu


async def bench(args: argparse.Namespace, base_url: str) -> bool:
    text = render_telegram(digest(), RenderOptions(VOCABULARY))[0]["text"]
    results: dict[str, list[Result]] = {name: [] for name in VARIANTS}
    with tempfile.TemporaryDirectory() as folder:
        for round_number in range(1, args.rounds + 1):
            print(f"round {round_number}")
            variants: dict[str, Callable[[], Awaitable[Result]]] = {
                "digestbot": lambda: digestbot(
                    base_url, args.chats, args.rate, args.concurrency, Path(folder)
                ),
                "ptb": lambda: ptb(base_url, args.chats, args.rate, args.concurrency, text),
                "raw": lambda: raw(base_url, args.chats, args.rate, args.concurrency, text),
            }
            for name, run in variants.items():
                if name not in args.only:
                    continue
                result = await run()
                results[name].append(result)
                print(f"  {name:<10} {result.rate:6.0f} msg/s {result.cpu_us:6.0f} us/msg")
    print(
        f"\n{args.chats} chats, limit {args.rate:g}/s, concurrency {args.concurrency};"
        f" medians of {args.rounds} rounds"
    )
    medians = {name: report(name, rounds) for name, rounds in results.items() if rounds}
    if len(medians) < len(VARIANTS):
        return True
    (rate, cpu), (ptb_rate, ptb_cpu), (raw_rate, raw_cpu) = medians.values()
    print(
        f"digestbot / ptb: {rate / ptb_rate:.2f}x msg/s, {cpu / ptb_cpu:.2f}x CPU per message; "
        f"digestbot / raw: {rate / raw_rate:.2f}x msg/s, {cpu / raw_cpu:.2f}x CPU per message"
    )
    floor = 0.95 * args.rate
    ok = rate >= floor and cpu <= 500 and rate > ptb_rate and cpu < ptb_cpu
    print(f"targets (>= {floor:.0f} msg/s, <= 500 us/msg, ahead of ptb on both): {'ok' if ok else 'MISSED'}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chats", type=int, default=3000, help="chats to send one message each")
    parser.add_argument("--rate", type=float, default=1000.0, help="global sends per second")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the three variants")
    parser.add_argument("--concurrency", type=int, default=64, help="sends in flight (delivery.concurrency)")
    parser.add_argument(
        "--only", type=lambda v: v.split(","), default=list(VARIANTS), help="e.g. digestbot,raw (profiling)"
    )
    parser.add_argument("--serve-fake", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.chats < 1 or args.rate <= 0 or args.rounds < 1 or args.concurrency < 1:
        parser.error("--chats, --rate, --rounds and --concurrency must be positive")
    if args.serve_fake:
        serve_fake(args.chats)
        return 0
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve-fake", "--chats", str(args.chats)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        base_url = server.stdout.readline().strip()
        if not base_url:
            return 2
        return 0 if asyncio.run(bench(args, base_url)) else 1
    finally:
        if server.stdin is not None:
            server.stdin.close()
        server.wait(10)


if __name__ == "__main__":
    sys.exit(main())
