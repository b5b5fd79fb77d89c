"""Discord send benchmark: the real engine and Discord sender against the fake Discord in its own process.

    python bench/send_discord.py [--channels 300] [--parts 2] [--global-limit 50] [--rate 45] [--rounds 3]

The server is the project's loopback Discord (tests/fake_discord.py) run in a child process, with
Discord's limits enforced: the global 50 requests/s per bot (sliding one-second window) and per-route
buckets, keyed like Discord's by route and major parameter (the channel), `--route-limit` requests
per `--route-window` seconds (5 per 5 s, Discord's message bucket), announced in X-RateLimit-*
headers as Discord does. Anything beyond gets a 429 (global or route), counted by the server.

The bot side is what `digestbot run` runs: the real DiscordPlatform (discord.py over the fake
gateway and REST), one digest planned by the real planner for N channels, and the real delivery
engine with its RateLimiter at `discord.rate_limits` (`--rate` per second, `--per-channel`).
Printed per round and as the median: messages/s from the first to the last message the server
stored, bot-process CPU per message (user + system time of this process while sending), and 429s.
Targets: 0 refusals and >= 90% of the configured pace (`--rate`, itself 90% of Discord's limit: the
rest absorbs jitter between the bot and Discord). Exit status 1 when a target is missed. Figures on
a busy machine are pessimistic (CPU is shared with the server and anything else).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import gc
import json
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from aiohttp import web  # noqa: E402
from fake_discord import FakeDiscord  # noqa: E402
from fake_discord_validation import rate_limited_answer  # noqa: E402

TOKEN = "MTMxMDAw.fake-discord-bot-token.for-bench"
MAJOR = re.compile(r"^(/api/v\d+/(?:channels|guilds|webhooks)/\d+)")


class LimitedDiscord(FakeDiscord):
    """The fake Discord with its announced limits enforced: 429 beyond the global or a route limit."""

    def __init__(self, *, global_limit: int, route_limit: int, route_window: float) -> None:
        super().__init__(TOKEN, route_limit=route_limit)
        self.global_limit = global_limit
        self.route_window = route_window
        self.recent: collections.deque[float] = collections.deque()
        self.windows: dict[str, tuple[float, int]] = {}
        self.refused = {"global": 0, "route": 0}
        self.stored: list[float] = []

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        now = time.monotonic()
        if request.path.startswith("/api/") and "/interactions/" not in request.path:
            while self.recent and self.recent[0] <= now - 1.0:
                self.recent.popleft()
            if len(self.recent) >= self.global_limit:
                self.refused["global"] += 1
                return rate_limited_answer(self.recent[0] + 1.0 - now, True)
            key = self._route_key(request)
            started, used = self.windows.get(key, (now, 0))
            if now - started >= self.route_window:
                started, used = now, 0
            if used >= self.route_limit:
                self.refused["route"] += 1
                return rate_limited_answer(started + self.route_window - now, False)
            self.recent.append(now)
            self.windows[key] = (started, used + 1)
        response: web.StreamResponse = await super()._middleware(request, handler)
        if request.method == "POST" and request.path.endswith("/messages") and response.status < 300:
            self.stored.append(time.monotonic())
        return response

    def _route_key(self, request: web.Request) -> str:
        major = MAJOR.match(request.path)
        route = re.sub(r"/\d{15,}", "/:id", request.path)
        return f"{request.method}{route}{major.group(1) if major else ''}"

    def _rate_headers(self, request: web.Request, response: web.StreamResponse) -> None:
        """What Discord announces for this route and channel: limit, remaining, reset."""
        started, used = self.windows.get(self._route_key(request), (time.monotonic(), 0))
        reset_after = max(0.0, started + self.route_window - time.monotonic())
        route = re.sub(r"/\d{15,}", "/:id", request.path)
        response.headers["X-RateLimit-Limit"] = str(self.route_limit)
        response.headers["X-RateLimit-Remaining"] = str(max(0, self.route_limit - used))
        response.headers["X-RateLimit-Reset"] = f"{time.time() + reset_after:.3f}"
        response.headers["X-RateLimit-Reset-After"] = f"{reset_after:.3f}"
        response.headers["X-RateLimit-Bucket"] = f"{abs(hash(request.method + route)):x}"


async def serve(args: argparse.Namespace) -> None:
    """The child process: start the limited fake with N channels, say where, answer `stats` lines."""
    fake = LimitedDiscord(
        global_limit=args.global_limit, route_limit=args.route_limit, route_window=args.route_window
    )
    await fake.start()
    guild = fake.add_guild("bench")
    channels = [fake.add_channel(guild, f"news-{n}").id for n in range(args.channels)]
    gc.collect()
    gc.freeze()  # the instrument must not stall: a full collection here bunches arrivals into 429s
    print(json.dumps({"api_base": fake.api_base, "gateway_url": fake.gateway_url, "channels": channels}))
    sys.stdout.flush()
    reader = asyncio.StreamReader()
    await asyncio.get_running_loop().connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), sys.stdin
    )
    while line := (await reader.readline()).decode().strip():
        if line == "stats":
            stored, fake.stored = fake.stored, []
            refused, fake.refused = fake.refused, {"global": 0, "route": 0}
            print(json.dumps({"stored": stored, "refused": refused}))
            sys.stdout.flush()
    await fake.stop()


def bench_digest(number: int, items: int) -> Any:
    """A digest of `items` items with long summaries (several Create Message bodies per channel)."""
    from datetime import UTC, datetime

    from bot.core.model import Digest, Item, Span

    body = "Warehouse robots, evaluation jobs and inference costs: what changed this week. " * 6
    return Digest(
        f"2031.05.{number:02d}.08",
        f"2031.05.{number:02d}.08 AI digest",
        datetime(2031, 5, number, 8, tzinfo=UTC),
        tuple(
            Item(n, f"Item {n}: robots", None, f"https://example.org/{n}", ((Span(body),),), ("robotics",))
            for n in range(1, items + 1)
        ),
    )


def open_rows(database: Path) -> tuple[int, int]:
    """(delivery rows, rows still pending or sending), read beside the bot as the dashboard would."""
    import sqlite3
    from contextlib import closing

    with closing(sqlite3.connect(database)) as raw:
        total, waiting = raw.execute(
            "SELECT count(*), coalesce(sum(state IN ('pending', 'sending')), 0) FROM deliveries"
        ).fetchone()
    return int(total), int(waiting)


class Server:
    """The child process running LimitedDiscord; `stats()` collects (and resets) what it saw."""

    def __init__(self, args: argparse.Namespace) -> None:
        command = [sys.executable, __file__, "--serve", "--channels", str(args.channels)]
        command += ["--global-limit", str(args.global_limit), "--route-limit", str(args.route_limit)]
        command += ["--route-window", str(args.route_window)]
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None and self.process.stdin is not None
        self.info: dict[str, Any] = json.loads(self.process.stdout.readline())

    def stats(self) -> dict[str, Any]:
        assert self.process.stdout is not None and self.process.stdin is not None
        self.process.stdin.write("stats\n")
        self.process.stdin.flush()
        result: dict[str, Any] = json.loads(self.process.stdout.readline())
        return result

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=10)


async def measure(args: argparse.Namespace, server: Server) -> list[dict[str, float]]:
    """Run `args.rounds` broadcasts of a new digest to every channel; one result per round."""
    from pydantic import SecretStr

    from bot.commands.service import CommandService
    from bot.core.clock import SystemClock
    from bot.core.model import Category, Vocabulary
    from bot.delivery.config import DeliveryConfig, RateLimits
    from bot.delivery.engine import DeliveryEngine
    from bot.delivery.expander import fan_out
    from bot.delivery.ratelimit import RateLimiter, RatePolicy
    from bot.platforms.discord.client import DiscordPlatform
    from bot.platforms.discord.config import DiscordConfig
    from bot.platforms.registry import default_renderers
    from bot.sources.base import Incoming
    from bot.store.db import Store

    vocabulary = Vocabulary([Category("robotics", "机器人", "Robotics")])
    limits = RateLimits(global_per_second=args.rate, per_chat_per_second=args.per_channel)
    results = []
    with tempfile.TemporaryDirectory() as folder:
        store = await Store.open(Path(folder) / "bench.db")
        renderers = default_renderers()
        service = CommandService(store, vocabulary, default_language="en", renderers=renderers)
        config = DiscordConfig(
            token=SecretStr(TOKEN),
            api_base=server.info["api_base"],
            gateway_url=server.info["gateway_url"],
            rate_limits=limits,
        )
        platform = DiscordPlatform(config, service, default_language="en", guild_ready_timeout=0.05)
        await platform.start()
        for channel in server.info["channels"]:
            await store.subscribe(
                "discord", channel, None, kind="guild_channel", title="", created_by="1",
                language="en", timezone="UTC", categories=None,
            )  # fmt: skip
        limiter = RateLimiter({"discord": RatePolicy(limits)}, SystemClock())
        engine = DeliveryEngine(store, {"discord": platform.sender}, limiter, DeliveryConfig(concurrency=16))
        running = asyncio.create_task(engine.run())
        try:
            for number in range(1, args.rounds + 1):
                digest = bench_digest(number, args.items)
                await store.record_incoming(Incoming("bench", f"{number}.md", f"key-{number}", digest))
                before, _ = await asyncio.to_thread(open_rows, store.path)
                cpu = resource.getrusage(resource.RUSAGE_SELF)
                planned = await fan_out(store, vocabulary, renderers=renderers)
                engine.wake()
                while (await asyncio.to_thread(open_rows, store.path))[1]:
                    await asyncio.sleep(0.05)
                after = resource.getrusage(resource.RUSAGE_SELF)
                total, _ = await asyncio.to_thread(open_rows, store.path)
                seen = server.stats()
                stored = seen["stored"]
                span = stored[-1] - stored[0] if len(stored) > 1 else float("nan")
                seconds = after.ru_utime + after.ru_stime - cpu.ru_utime - cpu.ru_stime
                results.append(
                    {
                        "messages": len(stored),
                        "planned": planned,
                        "rows": total - before,
                        "rate": (len(stored) - 1) / span,
                        "cpu_us": 1e6 * seconds / max(1, len(stored)),
                        "refused_global": seen["refused"]["global"],
                        "refused_route": seen["refused"]["route"],
                    }
                )
                print(
                    f"round {number}: {len(stored)} messages, {results[-1]['rate']:.1f} msg/s, "
                    f"{results[-1]['cpu_us']:.0f} us CPU/message, 429s: {seen['refused']}",
                    flush=True,
                )
        finally:
            await engine.stop(grace=1)
            await running
            await platform.stop()
            await store.close()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--channels", type=int, default=300)
    parser.add_argument("--items", type=int, default=12, help="items per digest (sets the parts per channel)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--global-limit", type=int, default=50, help="the server's requests/s per bot")
    parser.add_argument("--route-limit", type=int, default=5)
    parser.add_argument("--route-window", type=float, default=5.0)
    parser.add_argument("--rate", type=float, default=45.0, help="discord.rate_limits.global_per_second")
    parser.add_argument(
        "--per-channel", type=float, default=4.0, help="discord.rate_limits.per_chat_per_second"
    )
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve(args))
        return 0
    server = Server(args)
    try:
        results = asyncio.run(measure(args, server))
    finally:
        server.close()
    rate = statistics.median(r["rate"] for r in results)
    cpu = statistics.median(r["cpu_us"] for r in results)
    refused = sum(r["refused_global"] + r["refused_route"] for r in results)
    print(
        f"median of {len(results)}: {rate:.1f} msg/s ({rate / args.global_limit:.0%} of the "
        f"{args.global_limit}/s limit, {rate / args.rate:.0%} of the configured {args.rate:g}/s), "
        f"{cpu:.0f} us bot CPU per message, {refused} refusals (429)"
    )
    return 0 if refused == 0 and rate >= 0.9 * args.rate else 1


if __name__ == "__main__":
    sys.exit(main())
