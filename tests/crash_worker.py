"""A real store + planner + engine broadcasting to 500 fake chats; tests/test_crash.py kills it with -9.

Usage: python tests/crash_worker.py DB_PATH_OR_URL SEND_LOG [SUBSCRIPTIONS [CONCURRENCY [fsync|flush]]]

The fake sender appends "<chat id> <sha1 of the text>" to SEND_LOG for every send, flushed and
fsynced before it returns, so the log is the ground truth of what "reached the platform" even when
the process dies a moment later. Run it again on the same files to finish the broadcast. `flush`
skips the fsync: a kill -9 cannot lose what write() handed to the kernel (only an OS crash could),
and an fsync per send on a busy disk would bound the send rate far below what a test may need.
Several workers may share one PostgreSQL database; LEASE_VARIABLE (seconds) shortens their leases so
a killed one's rows come back within the test.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from bot.core.clock import SystemClock
from bot.core.model import Category, Digest, Item, Span, Vocabulary
from bot.delivery.config import DeliveryConfig, RateLimits
from bot.delivery.engine import DeliveryEngine
from bot.delivery.expander import fan_out
from bot.delivery.outcome import Outcome, Payload, Sent, Target
from bot.delivery.ratelimit import RateLimiter, RatePolicy
from bot.platforms.registry import default_renderers
from bot.platforms.telegram.render import render_telegram
from bot.platforms.telegram.spec import GROUP_KINDS
from bot.render.options import RenderOptions
from bot.sources.base import Incoming
from bot.store.db import Store

LEASE_VARIABLE = "DIGESTBOT_CRASH_LEASE"
VOCABULARY = Vocabulary([Category("tech", "技术进展", "Tech"), Category("other", "其他", "Other")])
NETWORK_DELAY = 0.002


def text_hash(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()[:16]


class LoggingSender:
    """Appends one durable line per send, in the middle of a simulated network round trip."""

    platform = "telegram"

    def __init__(self, log: TextIO, *, fsync: bool = True) -> None:
        self._log = log
        self._fsync = fsync
        self._count = 0

    async def send(self, target: Target, payload: Payload) -> Outcome:
        await asyncio.sleep(NETWORK_DELAY)
        self._log.write(f"{target.chat_id} {text_hash(payload['text'])}\n")
        self._log.flush()
        if self._fsync:
            os.fsync(self._log.fileno())
        self._count += 1
        await asyncio.sleep(NETWORK_DELAY)
        return Sent(str(self._count))

    def plain(self, payload: Payload) -> Payload:
        return payload


def two_part_digest() -> Digest:
    """A digest just long enough that the real Telegram renderer splits it into exactly two parts."""
    for size in range(2, 400):
        digest = Digest(
            id="crash-test",
            title="崩溃测试 Crash test digest",
            date=datetime(2025, 6, 1, 8, 0, tzinfo=UTC),
            items=tuple(
                Item(
                    number=n,
                    title=f"第{n}条新闻 story {n}",
                    url=f"https://news.example/crash/{n}",
                    summary=((Span("一段足够长的摘要，" * 8), Span(f"story {n} details.", bold=True)),),
                    categories=("tech",),
                )
                for n in range(1, size + 1)
            ),
        )
        if len(render_telegram(digest, RenderOptions(VOCABULARY))) == 2:
            return digest
    raise RuntimeError("the Telegram renderer never produced exactly two parts")


async def setup(store: Store, subscriptions: int) -> None:
    if await store.get_subscription("telegram", "0") is not None:
        return
    await store.record_incoming(Incoming("crash", "crash.md", "crash-hash", two_part_digest()))
    for chat in range(subscriptions):
        await store.subscribe(
            "telegram",
            str(chat),
            None,
            kind="private",
            title="",
            created_by=None,
            language="zh",
            timezone="UTC",
        )


async def main(
    db: str, send_log: Path, subscriptions: int = 500, concurrency: int = 16, durability: str = "fsync"
) -> None:
    async with await Store.open(db) as store:
        if LEASE_VARIABLE in os.environ:
            store.lease = timedelta(seconds=float(os.environ[LEASE_VARIABLE]))
        await setup(store, subscriptions)
        await fan_out(store, VOCABULARY, batch_size=100, renderers=default_renderers())
        limits = RateLimits(global_per_second=1000, per_chat_per_second=100)
        limiter = RateLimiter({"telegram": RatePolicy(limits, GROUP_KINDS)}, SystemClock())
        config = DeliveryConfig(concurrency=concurrency, max_attempts=3)
        with send_log.open("a", encoding="utf-8") as log:
            sender = LoggingSender(log, fsync=durability == "fsync")
            await DeliveryEngine(store, {"telegram": sender}, limiter, config).drain()


if __name__ == "__main__":
    arguments: list[Any] = sys.argv[1:]
    if not 2 <= len(arguments) <= 5 or arguments[4:] not in ([], ["fsync"], ["flush"]):
        sys.exit(__doc__)
    counts = [int(value) for value in arguments[2:4]]
    asyncio.run(main(arguments[0], Path(arguments[1]), *counts, *arguments[4:]))
