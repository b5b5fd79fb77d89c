"""The operator's error chat: problems summarised at most once a minute, through the outbox,
never with a secret in them; against the fake Bot API for Telegram."""

from __future__ import annotations

import asyncio
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from clocks import ManualClock
from fake_telegram import FakeTelegram
from fake_telegram_types import FloodRules, blocked
from telegram_helpers import OWNER, TOKEN, VOCABULARY, running, small_digest, store_digest
from waiting import ledger_settled, wait_for

from bot.core.errors import DigestError
from bot.delivery.config import DeliveryConfig
from bot.delivery.engine import DeliveryEngine
from bot.delivery.expander import fan_out
from bot.delivery.reports import MAX_REPORT_CHARS, REPORT_EVERY, ProblemReporter, ReportTarget
from bot.platforms import telegram
from bot.platforms.registry import default_renderers
from bot.store.db import Store

pytestmark = pytest.mark.filterwarnings("ignore:.*`retry_after`:DeprecationWarning")
ERROR_CHAT = -1_009_000
SECRET = "s3cr3t-value-that-must-not-leak"


def report_rows(path: str) -> list[tuple[str, str, str]]:
    with closing(sqlite3.connect(path)) as raw:
        return raw.execute(
            "SELECT d.chat_id, d.state, p.body FROM deliveries d JOIN payloads p ON p.id = d.payload_id"
            " WHERE d.subscription_id IS NULL ORDER BY d.id"
        ).fetchall()


def target() -> ReportTarget:
    return ReportTarget("telegram", str(ERROR_CHAT), "group", telegram.SPEC.plain_message)


async def test_problems_are_aggregated_into_one_summary_a_minute(store: Store, clock: ManualClock) -> None:
    reporter = ProblemReporter(store, [target()], clock, secrets=[SECRET])
    running_reporter = asyncio.create_task(reporter.run())
    try:
        reporter.paused("telegram", "42", "Forbidden: bot was blocked by the user")
        await wait_for(lambda: len(report_rows(store.path)) == 1, 5, "the first summary at once")
        for n in range(10):
            reporter.failed("telegram", str(n), f"gave up after 8 attempts: token {SECRET} <b>")
        reporter.rejected("local", str(DigestError("posts/bad.md", "missing title", 3)))
        await asyncio.sleep(0.05)
        assert len(report_rows(store.path)) == 1  # the next one waits for the minute to pass
        await clock.advance(REPORT_EVERY)
        await wait_for(lambda: len(report_rows(store.path)) == 2, 5, "the second summary")
    finally:
        running_reporter.cancel()
        await asyncio.gather(running_reporter, return_exceptions=True)
    first, second = (row[2] for row in report_rows(store.path))
    assert "1 chats paused" in first and "blocked by the user" in first
    assert "10 deliveries failed for good" in second and "1 digests rejected" in second
    assert "posts/bad.md:3: missing title" in second
    assert second.count("gave up") == 3  # the first examples only: memory and text stay bounded
    assert SECRET not in second and "[REDACTED]" in second
    assert "&lt;b&gt;" in second  # escaped for Telegram HTML
    assert '"parse_mode":"HTML"' in second


async def test_a_summary_is_bounded_and_nothing_is_sent_without_problems(
    store: Store, clock: ManualClock
) -> None:
    reporter = ProblemReporter(store, [target()], clock, language="zh")
    assert not await reporter.flush()
    for n in range(1000):
        reporter.rejected(f"feed-{n}", "x" * 10_000)
    text = reporter.summary()
    assert text is not None and len(text) <= MAX_REPORT_CHARS and text.startswith("digestbot 问题汇总")
    assert "1000 篇摘要被拒绝" in text
    assert await reporter.flush() and not await reporter.flush()


async def test_a_blocked_chat_is_reported_in_the_error_chat(tmp_path: Path) -> None:
    async with FakeTelegram(TOKEN, flood_rules=FloodRules(enabled=False)) as fake:
        fake.user(OWNER)
        fake.user(501)
        fake.user(502)
        fake.add_chat(ERROR_CHAT, "supergroup", title="ops")
        async with running(tmp_path, fake) as bot:
            for chat in (501, 502):
                await bot.store.subscribe(
                    "telegram",
                    str(chat),
                    None,
                    kind="private",
                    title="",
                    created_by=str(chat),
                    language="en",
                    timezone="UTC",
                    categories=None,
                )
            fake.fail(502, blocked)
            await store_digest(bot.store, small_digest())
            await fan_out(bot.store, VOCABULARY, renderers=default_renderers())
            engine: DeliveryEngine | None = None
            reporter = ProblemReporter(
                bot.store, [target()], bot.store.clock, on_enqueued=lambda: engine and engine.wake()
            )
            engine = DeliveryEngine(
                bot.store, {"telegram": bot.platform.sender}, bot.limiter, DeliveryConfig(), problems=reporter
            )
            tasks = [asyncio.create_task(engine.run()), asyncio.create_task(reporter.run())]
            try:
                await fake.wait_for(lambda: bool(fake.sent_to(ERROR_CHAT)), timeout=10)
                await wait_for(lambda: ledger_settled(bot.store.path, 3), 10, "digest rows and the summary")
            finally:
                tasks[1].cancel()
                await engine.stop(grace=1)
                await asyncio.gather(*tasks, return_exceptions=True)
            [summary] = fake.sent_to(ERROR_CHAT)
            assert (
                "1 chats paused" in summary.visible and "502: Forbidden: bot was blocked" in summary.visible
            )
            assert TOKEN not in summary.visible
