"""The bot's Telegram side wired as the app wires it, against the fake Bot API server.

The e2e, delivery and outcome tests all run the real TelegramPlatform and a real store behind the
fake; one harness keeps their config (token, admins, rate limits) and vocabulary the same. The `bot`
fixture (registered in conftest.py) is that harness with the owner known to the fake.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fake_telegram import FakeTelegram
from fake_telegram_types import FakeMessage, FloodRules
from pydantic import SecretStr

from bot.commands.config import CommandBudgetConfig
from bot.commands.service import CommandService
from bot.core.clock import SystemClock
from bot.core.model import Category, Digest, Item, Span, Vocabulary
from bot.delivery.config import RateLimits
from bot.delivery.ratelimit import RateLimiter, RatePolicy
from bot.net.proxy import Proxy
from bot.platforms import telegram
from bot.platforms.registry import default_renderers
from bot.platforms.telegram.adapter import TelegramPlatform
from bot.platforms.telegram.config import TelegramConfig
from bot.sources.base import Incoming
from bot.store.db import Store
from bot.store.subscriptions import Subscription

TOKEN = "7512345678:AAF-fakeFAKEfakeFAKEfakeFAKEfake12"
OWNER = 900
ROOMY = CommandBudgetConfig(burst=1000, refill_seconds=1)  # for tests that are not about floods
FAST = RateLimits(global_per_second=1000, per_chat_per_second=1000, per_group_per_minute=60000)
VOCABULARY = Vocabulary(
    [
        Category("robotics", "机器人", "Robotics", aliases=("robots",)),
        Category("jobs", "就业市场", "Jobs"),
        Category("tech", "技术进展", "Tech"),
        Category("other", "其他", "Other"),
    ]
)


@dataclass
class Bot:
    fake: FakeTelegram
    store: Store
    service: CommandService
    platform: TelegramPlatform
    limiter: RateLimiter

    async def say(
        self, chat_id: int, text: str, *, sender: dict[str, Any] | None, **extra: Any
    ) -> FakeMessage:
        """Send a message as a user and wait for the bot's (first new) answer in that chat."""
        before = len(self.fake.sent_to(chat_id))
        self.fake.push_message(chat_id, text, sender=sender, **extra)
        await self.fake.wait_for(lambda: len(self.fake.sent_to(chat_id)) > before)
        return self.fake.sent_to(chat_id)[before]

    async def press(
        self, message: FakeMessage, button_text: str, *, sender: dict[str, Any]
    ) -> dict[str, Any]:
        """Press the button labelled `button_text` and wait for the callback answer."""
        data = next(b["callback_data"] for b in message.buttons() if b["text"] == button_text)
        return await self.press_data(message, data, sender=sender)

    async def press_data(self, message: FakeMessage, data: str, *, sender: dict[str, Any]) -> dict[str, Any]:
        answered = len(self.fake.callback_answers)
        self.fake.push_callback(message, data, sender=sender)
        await self.fake.wait_for(lambda: len(self.fake.callback_answers) > answered)
        return self.fake.callback_answers[-1]


def telegram_config(fake: FakeTelegram, **extra: Any) -> TelegramConfig:
    values: dict[str, Any] = {
        "token": SecretStr(TOKEN),
        "base_url": fake.base_url,
        "admins": [OWNER],
        "rate_limits": FAST,
        "command_budget": ROOMY,
    }
    values.update(extra)
    return TelegramConfig(**values)


def limiter_for(config: TelegramConfig) -> RateLimiter:
    """What the app builds: one limiter with Telegram's policy, shared by replies and the engine."""
    return RateLimiter({"telegram": RatePolicy(config.rate_limits, telegram.SPEC.group_kinds)}, SystemClock())


@asynccontextmanager
async def running(
    tmp_path: Path, fake: FakeTelegram, config: TelegramConfig | None = None, proxy: Proxy | None = None
) -> AsyncIterator[Bot]:
    store = await Store.open(tmp_path / "db.sqlite")
    service = CommandService(store, VOCABULARY, default_language="zh", renderers=default_renderers())
    config = config or telegram_config(fake)
    limiter = limiter_for(config)
    platform = TelegramPlatform(config, service, default_language="zh", limiter=limiter, proxy=proxy)
    try:  # a start that fails must close the store too: its worker thread would keep pytest alive
        await platform.start()
        yield Bot(fake, store, service, platform, limiter)
    finally:
        await platform.stop()
        await store.close()


async def store_digest(store: Store, digest: Digest) -> None:
    """Record `digest` as a source would hand it over (a key unique to its id), ready to plan."""
    key = hashlib.sha256(digest.id.encode()).hexdigest()
    await store.record_incoming(Incoming("test", f"{digest.id}.md", key, digest))


def small_digest() -> Digest:
    """Four short items over three categories, with <, > and & in titles: one message per chat."""
    items = tuple(
        Item(
            number=n,
            title=f"{category} item {n} <b> & co",
            url=f"https://example.com/{n}",
            summary=((Span(f"Summary of item {n}: 进展 & 风险。"),),),
            categories=(category,),
        )
        for n, category in enumerate(("robotics", "jobs", "tech", "robotics"), start=1)
    )
    return Digest("2025-11-21-08", "AI digest 2025.11.21", datetime(2025, 11, 21, 8, tzinfo=UTC), items)


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[Bot]:
    async with FakeTelegram(TOKEN, flood_rules=FloodRules(enabled=False)) as fake:
        fake.user(OWNER, language="en")
        async with running(tmp_path, fake) as harness:
            yield harness


def sample_digest() -> Digest:
    """Enough items with long summaries to need several messages; text with <, > and & on purpose."""
    items = []
    for number in range(1, 25):
        category = ("robotics", "jobs", "tech")[number % 3]
        summary = (
            (Span(f"第 {number} 条：机器人 & 自动化 <进展> 的摘要。"), Span("重点", bold=True)),
            (Span("Details: a < b && c > d. " * 30),),
        )
        items.append(
            Item(
                number=number,
                title=f"Item {number}: {category} news <{number}>",
                url=f"https://example.com/{number}?a=1&b=2",
                summary=summary,
                categories=(category,),
            )
        )
    return Digest(
        id="2025-11-20-20",
        title="AI 日报 2025.11.20",
        date=datetime(2025, 11, 20, 20, tzinfo=UTC),
        items=tuple(items),
    )


async def paused(store: Store, chat_id: str, timeout: float = 5.0) -> Subscription:
    """The chat's subscription once it is paused (updates are handled in the background)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        sub = await store.get_subscription("telegram", chat_id)
        if sub is not None and sub.status == "paused":
            return sub
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"chat {chat_id} was not paused: {sub}")
        await asyncio.sleep(0.02)


@contextmanager
def debug_log() -> Iterator[io.StringIO]:
    """Everything logged meanwhile, through the real scrubbing setup; the root logger is restored."""
    stream = io.StringIO()
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    try:
        yield stream
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])
