"""Telegram long polling with several processes on one PostgreSQL database: one poller, a takeover.

Two TelegramPlatforms (two processes' worth: each its own store, lease connection and PTB
application) against the fake Bot API; leases from a real PostgreSQL (tests/pg_cluster.py).
"""

from __future__ import annotations

import time
from contextlib import AsyncExitStack
from pathlib import Path

import asyncpg
from fake_telegram import FakeTelegram
from fake_telegram_types import FloodRules
from telegram_helpers import OWNER, TOKEN, VOCABULARY, limiter_for, telegram_config
from waiting import wait_for

from bot.commands.service import CommandService
from bot.platforms.registry import default_renderers
from bot.platforms.telegram.adapter import TelegramPlatform
from bot.store.coordination import APPLICATION_NAME, LockSession
from bot.store.db import Store


async def start_process(
    stack: AsyncExitStack, folder: Path, fake: FakeTelegram, url: str
) -> TelegramPlatform:
    """One bot process's Telegram side, with its own lease connection; undone by `stack`."""
    folder.mkdir()
    store = await Store.open(folder / "db.sqlite")
    stack.push_async_callback(store.close)
    session = LockSession.for_url(url, heartbeat=1.0)
    stack.push_async_callback(session.close)
    config = telegram_config(fake)
    service = CommandService(store, VOCABULARY, default_language="en", renderers=default_renderers())
    platform = TelegramPlatform(
        config, service, default_language="en", limiter=limiter_for(config), leases=session.lease
    )
    stack.push_async_callback(platform.stop)
    await platform.start()
    return platform


async def kill_lease_connection(url: str, pid_of_poller: int) -> None:
    conn = await asyncpg.connect(url)
    try:
        assert await conn.fetchval("SELECT pg_terminate_backend($1)", pid_of_poller)
    finally:
        await conn.close()


async def lease_backends(url: str) -> list[int]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT DISTINCT l.pid FROM pg_locks l JOIN pg_stat_activity a USING (pid)"
            " WHERE l.locktype = 'advisory' AND l.granted AND a.application_name = $1",
            APPLICATION_NAME,
        )
        return [row["pid"] for row in rows]
    finally:
        await conn.close()


async def test_one_process_polls_and_another_takes_over_within_ten_seconds(
    tmp_path: Path,
    postgres_url: str,
) -> None:
    async with FakeTelegram(TOKEN, flood_rules=FloodRules(enabled=False)) as fake, AsyncExitStack() as stack:
        owner = fake.user(OWNER, language="en")
        first = await start_process(stack, tmp_path / "a", fake, postgres_url)
        second = await start_process(stack, tmp_path / "b", fake, postgres_url)
        assert (first.polling, second.polling) == (True, False)
        fake.push_message(OWNER, "/help", sender=owner)
        await fake.wait_for(lambda: len(fake.sent_to(OWNER)) == 1, message="one reply to /help")

        (pid,) = await lease_backends(postgres_url)
        await kill_lease_connection(postgres_url, pid)  # the poller's database link is gone
        started = time.monotonic()
        await wait_for(lambda: second.polling and not first.polling, 10, "the other process polling")
        assert time.monotonic() - started < 10
        fake.push_message(OWNER, "/help", sender=owner)
        await fake.wait_for(lambda: len(fake.sent_to(OWNER)) == 2, message="the second /help answered")
        assert len(fake.sent_to(OWNER)) == 2  # answered once, by the new poller


async def test_without_leases_the_platform_polls_as_before(tmp_path: Path) -> None:
    async with FakeTelegram(TOKEN, flood_rules=FloodRules(enabled=False)) as fake:
        owner = fake.user(OWNER, language="en")
        store = await Store.open(tmp_path / "db.sqlite")
        config = telegram_config(fake)
        service = CommandService(store, VOCABULARY, default_language="en", renderers=default_renderers())
        platform = TelegramPlatform(config, service, default_language="en", limiter=limiter_for(config))
        try:
            await platform.start()
            assert platform.polling
            fake.push_message(OWNER, "/help", sender=owner)
            await fake.wait_for(lambda: len(fake.sent_to(OWNER)) == 1, message="a reply to /help")
        finally:
            await platform.stop()
            await store.close()
        assert not platform.polling
