"""A failing database (read-only, disk I/O error, disk full): no loop spins, the log says it once,
commands answer "temporarily unavailable", and everything resumes by itself once the fault is gone.

Faults are real SQLite failures where SQLite can make them on a live connection (`query_only` for a
read-only file, which stops even root; `max_page_count` for a full disk); an I/O error, which needs
a broken disk, is injected at the store's aiosqlite connection with the codes sqlite3 would give.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from app_helpers import (
    SAMPLE,
    drop_digest,
    example_categories,
    latest_digest,
    running_app,
    settings_for,
)
from clocks import START, ManualClock
from ledger_helpers import CONFIG, FakeSender, SpyRenderer, ledger, plan, subscribe
from sample_digests import VOCABULARY, incoming, make_digest
from waiting import wait_for

from bot.commands.model import Caller, ChatRef, Command
from bot.commands.service import CommandService
from bot.core.clock import SystemClock
from bot.delivery.config import RetentionConfig
from bot.delivery.engine import DeliveryEngine
from bot.delivery.ratelimit import RateLimiter
from bot.delivery.retention import Pruner
from bot.delivery.scheduler import Scheduler
from bot.platforms.registry import default_renderers
from bot.store.connection import SqliteConnection
from bot.store.db import Store, StoreUnavailable
from bot.store.retry import Backoff, retrying

_WRITE = re.compile(r"\s*(INSERT|UPDATE|DELETE|REPLACE|BEGIN IMMEDIATE)\b", re.IGNORECASE)
FAILING = "is failing"
RECOVERED = "works again"


def disk_io_error() -> sqlite3.OperationalError:
    """What sqlite3 raises when the disk refuses a write."""
    error = sqlite3.OperationalError("disk I/O error")
    error.sqlite_errorcode = sqlite3.SQLITE_IOERR_WRITE  # type: ignore[attr-defined]
    error.sqlite_errorname = "SQLITE_IOERR_WRITE"  # type: ignore[attr-defined]
    return error


class Faults:
    """Switchable failures of a store's own aiosqlite connection."""

    def __init__(self, store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
        assert isinstance(store._conn, SqliteConnection)
        self._conn: aiosqlite.Connection = store._conn.raw
        self._execute = self._conn.execute
        self.disk_errors = False
        for name in ("execute", "execute_fetchall", "executemany"):
            monkeypatch.setattr(self._conn, name, self._failing(getattr(self._conn, name)))

    def _failing(self, original: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        async def call(sql: str, *args: Any, **kwargs: Any) -> Any:
            if self.disk_errors and _WRITE.match(sql):
                raise disk_io_error()
            return await original(sql, *args, **kwargs)

        return call

    async def read_only(self, on: bool) -> None:
        await self._execute(f"PRAGMA query_only = {'ON' if on else 'OFF'}")

    async def full(self, on: bool) -> None:
        """A full disk: the database may not grow by a single page, and has no free page left to
        reuse (migrations that rebuild a table leave some behind)."""
        if on:
            await self._execute("VACUUM")
        rows = await self._conn.execute_fetchall("PRAGMA page_count")
        pages = next(iter(rows))[0] if on else 4_294_967_294
        await self._execute(f"PRAGMA max_page_count = {pages}")

    async def set(self, kind: str, on: bool) -> None:
        if kind == "read-only":
            await self.read_only(on)
        else:
            self.disk_errors = on


def problems(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.WARNING]


class StoreTime(SystemClock):
    """Real sleeps, but the store's fixed idea of now: the rows it plans are due, not long stale."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def now(self) -> datetime:
        return self._store.clock.now()


async def test_the_store_logs_one_line_when_it_fails_and_one_when_it_works_again(
    store: Store, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    faults = Faults(store, monkeypatch)
    await faults.read_only(True)
    with caplog.at_level(logging.INFO, logger="bot.store"):
        for chat in "abc":
            with pytest.raises(StoreUnavailable, match="attempt to write a readonly database"):
                await subscribe(store, chat, platform="console")
            assert await store.get_subscription("console", chat) is None  # reads still work...
        assert store.health.failing  # ...and do not count as a recovery from failed writes
        await faults.read_only(False)
        await subscribe(store, "a", platform="console")
    lines = [r.getMessage() for r in problems(caplog)]
    assert len(lines) == 2, lines
    assert FAILING in lines[0] and "attempt to write a readonly database (SQLITE_READONLY)" in lines[0]
    assert RECOVERED in lines[1] and "3 failed operations" in lines[1]
    assert not any(r.exc_info for r in caplog.records)


@pytest.mark.parametrize("kind", ["read-only", "disk I/O error"])
async def test_the_engine_backs_off_while_the_store_fails_and_resumes_after(
    store: Store, kind: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    faults = Faults(store, monkeypatch)
    claims = 0
    claim_due = store.claim_due

    async def counting(*args: Any, **kwargs: Any) -> Any:
        nonlocal claims
        claims += 1
        return await claim_due(*args, **kwargs)

    monkeypatch.setattr(store, "claim_due", counting)
    sender = FakeSender()
    engine = DeliveryEngine(
        store,
        {"telegram": sender},
        RateLimiter({}, SystemClock()),
        CONFIG,
        clock=StoreTime(store),
        store_backoff=Backoff(0.05, 0.4),
    )
    with caplog.at_level(logging.INFO):
        task = asyncio.create_task(engine.run())
        await wait_for(lambda: claims > 0, 3.0, "the engine to start")
        await faults.set(kind, True)
        # Rows written by another connection (the fault is this one's): due now, not sendable.
        async with await Store.open(store.path, clock=store.clock) as other:
            await plan(other, ["1", "2"], parts=1)
        claims = 0
        engine.wake()
        await asyncio.sleep(1.2)  # back-off 0.05, 0.1, 0.2, 0.4, 0.4...: a handful of attempts
        assert 2 <= claims <= 20 and sender.calls == []  # two claims a step; without back-off: thousands
        logged = problems(caplog)
        assert len(logged) == 1 and FAILING in logged[0].getMessage()
        await faults.set(kind, False)
        await wait_for(lambda: len(sender.calls) == 2, 3.0, "delivery to resume")
        await engine.stop()
        await task
    assert [row["state"] for row in ledger(store).values()] == ["sent", "sent"]
    assert [RECOVERED in r.getMessage() for r in problems(caplog)] == [False, True]
    assert not any(r.exc_info for r in caplog.records)


async def test_the_engine_waits_for_the_store_at_start(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    await plan(store, ["1"], parts=1)
    faults = Faults(store, monkeypatch)
    faults.disk_errors = True
    sender = FakeSender()
    engine = DeliveryEngine(
        store,
        {"telegram": sender},
        RateLimiter({}, SystemClock()),
        CONFIG,
        clock=StoreTime(store),
        store_backoff=Backoff(0.05, 0.2),
    )
    task = asyncio.create_task(engine.run())
    await asyncio.sleep(0.3)
    assert not task.done() and sender.calls == []
    faults.disk_errors = False
    await wait_for(lambda: len(sender.calls) == 1, 3.0, "delivery to start")
    await engine.stop()
    await task


async def test_a_send_made_before_the_store_failed_is_recorded_once_it_works(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    await plan(store, ["1"], parts=1)
    faults = Faults(store, monkeypatch)
    sender = FakeSender()
    sender.gate["1"] = asyncio.Event()
    engine = DeliveryEngine(
        store,
        {"telegram": sender},
        RateLimiter({}, SystemClock()),
        CONFIG,
        clock=StoreTime(store),
        store_backoff=Backoff(0.05, 0.2),
    )
    task = asyncio.create_task(engine.run())
    await wait_for(lambda: len(sender.calls) == 1, 3.0, "the send to start")
    faults.disk_errors = True
    sender.gate["1"].set()  # the message went out, but its outcome cannot be stored yet
    await asyncio.sleep(0.4)
    assert ledger(store)["1", 1]["state"] == "sending"
    faults.disk_errors = False
    await wait_for(lambda: ledger(store)["1", 1]["state"] == "sent", 3.0, "the outcome to be stored")
    await engine.stop()
    await task
    assert len(sender.calls) == 1


async def test_the_scheduler_waits_out_a_failing_store_without_tracebacks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    clock = ManualClock(START)
    async with await Store.open(tmp_path / "scheduled.db", clock=clock) as store:
        sub, _ = await store.subscribe(
            "telegram", "7", None, kind="private", title="", created_by=None, language="en", timezone="UTC"
        )
        await store.update_subscription(sub.id, schedule="at 09:00")  # an hour after START
        await store.record_incoming(incoming(make_digest()))
        faults = Faults(store, monkeypatch)
        await faults.read_only(True)
        scheduler = Scheduler(store, VOCABULARY, renderers={"telegram": SpyRenderer(1)}, clock=clock)
        with caplog.at_level(logging.INFO):
            task = asyncio.create_task(scheduler.run())
            for _ in range(6):  # the post falls due after an hour and keeps failing for five more
                await clock.advance(3600)
                await asyncio.sleep(0.05)
            assert not ledger(store)
            logged = problems(caplog)
            assert len(logged) == 1 and FAILING in logged[0].getMessage()
            assert not any(r.exc_info for r in caplog.records)
            await faults.read_only(False)
            for _ in range(3):  # the longest back-off step so far is well under a minute
                await clock.advance(60)
                await asyncio.sleep(0.05)
            await wait_for(lambda: len(ledger(store)) == 1, 3.0, "the scheduled post")
            scheduler.stop()
            await task
        assert RECOVERED in problems(caplog)[-1].getMessage()


async def test_a_command_during_a_store_failure_gets_a_short_reply(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = CommandService(store, VOCABULARY, default_language="en", renderers=default_renderers())
    caller = Caller(user_id="u", language="en", can_manage=True, is_owner=True)
    chat = ChatRef(platform="console", chat_id="c", thread_id=None, kind="private", title="")
    faults = Faults(store, monkeypatch)
    faults.disk_errors = True
    reply = await service.handle(Command("subscribe", (), chat, caller))
    assert reply.error and reply.text == "Temporarily unavailable; please try again in a few minutes."
    faults.disk_errors = False
    reply = await service.handle(Command("subscribe", (), chat, caller))
    assert not reply.error and reply.text.startswith("Subscribed")


async def test_retrying_pauses_longer_each_time_and_resets_after_a_success() -> None:
    pauses: list[float] = []
    outcomes: list[Exception | None] = [StoreUnavailable("x")] * 8 + [None]

    async def operation() -> str:
        failure = outcomes.pop(0)
        if failure is not None:
            raise failure
        return "done"

    async def sleep(seconds: float) -> None:
        pauses.append(seconds)

    backoff = Backoff(1.0, 60.0)
    assert await retrying(operation, backoff, sleep) == "done"
    assert pauses == [1, 2, 4, 8, 16, 32, 60, 60]
    assert backoff.delay() == 1


async def test_a_digest_that_arrives_while_the_disk_is_full_is_stored_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    settings = settings_for(tmp_path, categories=example_categories())
    async with running_app(settings) as app:
        assert app.store is not None
        faults = Faults(app.store, monkeypatch)
        await faults.full(True)
        with caplog.at_level(logging.INFO):
            drop_digest(tmp_path, SAMPLE)
            await wait_for(lambda: problems(caplog), 10.0, "the store to fail")
            await asyncio.sleep(0.3)  # the retry after a second is still to come
            assert await latest_digest(app.store) is None
            logged = problems(caplog)
            assert len(logged) == 1 and "database or disk is full" in logged[0].getMessage()
            await faults.full(False)
            await wait_for(lambda: latest_digest(app.store), 5.0, "the digest to be stored")
        assert not any(r.exc_info for r in caplog.records)


async def test_pruning_on_a_failing_disk_says_so_once_without_tracebacks(
    store: Store, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The hourly pruning pass follows the store's one-line rule too: no traceback per attempt."""
    Faults(store, monkeypatch).disk_errors = True
    pruner = Pruner(store, RetentionConfig(), clock=StoreTime(store), first_pass_after=0.01, every=0.02)
    with caplog.at_level(logging.INFO):
        task = asyncio.create_task(pruner.run())
        await asyncio.sleep(0.3)
        pruner.stop()
        await task
    assert not [r for r in caplog.records if r.exc_info]
    assert [r.levelno for r in problems(caplog)] == [logging.ERROR]
