"""The real delivery engine sending through the Telegram adapter to the fake Bot API server.

Broadcast-scale behaviour: Telegram's flood rules are enforced by the fake, a 429 storm and faults
are injected, and the ledger and the fake must agree that every chat got its messages exactly once.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fake_telegram import FakeTelegram
from fake_telegram_types import FloodRules, blocked, flood, migrated
from telegram_helpers import OWNER, TOKEN, VOCABULARY, running, small_digest, store_digest, telegram_config
from waiting import ledger_settled, wait_for

from bot.delivery.config import DeliveryConfig, RateLimits
from bot.delivery.engine import DeliveryEngine
from bot.delivery.expander import fan_out
from bot.platforms.registry import default_renderers
from bot.store.db import Store

pytestmark = pytest.mark.filterwarnings("ignore:.*`retry_after`:DeprecationWarning")
CHATS = range(10_000, 10_200)
BLOCKED = 10_007
MIGRATING, MIGRATED_TO = -4_000_001, -1_004_000_001
STORM = 40


async def subscribe_all(store: Store) -> None:
    for chat in CHATS:
        await store.subscribe(
            "telegram",
            str(chat),
            None,
            kind="private",
            title="",
            created_by=str(chat),
            language="en",
            timezone="UTC",
            categories=frozenset({"robotics"}) if chat % 2 else None,
        )
    await store.subscribe(
        "telegram",
        str(MIGRATING),
        None,
        kind="group",
        title="Old group",
        created_by="1",
        language="zh",
        timezone="UTC",
        categories=None,
    )


async def test_429_storm_during_broadcast_to_200_chats_delivers_each_message_once(tmp_path: Path) -> None:
    limits = RateLimits(global_per_second=150, per_chat_per_second=5, per_group_per_minute=60)
    rules = FloodRules(
        global_per_second=150, global_burst=150, per_chat_per_second=5, per_chat_burst=5, group_per_minute=60
    )
    async with FakeTelegram(TOKEN, flood_rules=rules) as fake:
        fake.user(OWNER)
        for chat in CHATS:
            fake.user(chat)
        fake.add_chat(MIGRATING, "group", title="Old group")
        fake.add_chat(MIGRATED_TO, "supergroup", title="Old group")
        async with running(tmp_path, fake, telegram_config(fake, rate_limits=limits)) as bot:
            await subscribe_all(bot.store)
            fake.fail(BLOCKED, blocked)
            fake.fail(MIGRATING, lambda: migrated(MIGRATED_TO))
            fake.fail(None, lambda: flood(1), times=STORM)
            await store_digest(bot.store, small_digest())
            assert await fan_out(bot.store, VOCABULARY, renderers=default_renderers()) == len(CHATS) + 1

            engine = DeliveryEngine(
                bot.store,
                {"telegram": bot.platform.sender},
                bot.limiter,
                DeliveryConfig(concurrency=16, backoff_base=0.05),
            )
            running_engine = asyncio.create_task(engine.run())
            expected = {chat for chat in CHATS if chat != BLOCKED} | {MIGRATED_TO}
            try:
                await fake.wait_for(lambda: all(fake.sent_to(c) for c in expected), timeout=60)
                # Every row final (sent, or failed for the blocked chat): anything sent twice is in.
                rows = len(CHATS) + 1
                await wait_for(lambda: ledger_settled(bot.store.path, rows), 10, "every row in a final state")
            finally:
                await engine.stop(grace=1)
                await running_engine

            per_chat = Counter(m.chat_id for messages in fake.messages.values() for m in messages)
            assert set(per_chat) == expected
            assert set(per_chat.values()) == {1}
            assert fake.refused == []  # the engine's pacing never tripped Telegram's own limits
            storm = [p for name, p in fake.requests if name == "sendmessage"]
            assert len(storm) == len(expected) + STORM + 2  # + the blocked one + the pre-migration one
            robotics_only = fake.sent_to(10_001)[0].visible
            assert "robotics item 1" in robotics_only and "jobs item" not in robotics_only
            assert "jobs item 2" in fake.sent_to(10_000)[0].visible

            blocked_sub = await bot.store.get_subscription("telegram", str(BLOCKED))
            assert blocked_sub is not None and blocked_sub.status == "paused"
            assert blocked_sub.paused_reason == "Forbidden: bot was blocked by the user"
            assert len([p for p in storm if p["chat_id"] == BLOCKED]) == 1  # never retried
            moved = await bot.store.get_subscription("telegram", str(MIGRATED_TO))
            assert moved is not None and moved.status == "active"
            last = (await bot.store.stats(datetime.now(UTC)))["last_digest"]
            assert last["deliveries"] == {"sent": len(expected), "failed": 1}
            assert last["fanout_seconds"] is not None
