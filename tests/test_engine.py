"""The delivery engine against a fake sender and a real SQLite ledger, on a hand-moved clock."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from clocks import START, ManualClock
from ledger_helpers import CONFIG, FakeSender, engine_for, ledger, part_of, plan
from waiting import wait_for

from bot.core.clock import SystemClock
from bot.delivery.config import RateLimits
from bot.delivery.outcome import (
    ChatGone,
    FormatRejected,
    Migrated,
    Payload,
    RetryAfter,
    Transient,
)
from bot.store.db import Store
from bot.store.ledger import LEASE

pytestmark = pytest.mark.both_backends


async def test_everything_due_is_sent_once_in_part_order(store: Store, clock: ManualClock) -> None:
    await plan(store, [str(c) for c in range(10)], parts=3)
    sender = FakeSender()
    await engine_for(store, sender, clock).drain(horizon=0)
    assert len(sender.calls) == 30
    for chat in map(str, range(10)):
        assert [part_of(t) for t in sender.sent_to(chat)] == [1, 2, 3]
    rows = ledger(store)
    assert {row["state"] for row in rows.values()} == {"sent"}
    assert all(row["attempts"] == 1 and row["message_id"] and row["sent_at"] for row in rows.values())
    await engine_for(store, sender, clock).drain(horizon=0)
    assert len(sender.calls) == 30


async def test_batch_is_logged_with_counts(
    store: Store, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    await plan(store, ["1", "2", "3"])
    sender = FakeSender(script={"2": [Transient("timeout")], "3": [ChatGone("chat not found")]})
    with caplog.at_level(logging.INFO, logger="bot.delivery.engine"):
        await engine_for(store, sender, clock).drain(horizon=0)
    batch_lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("deliveries")]
    assert batch_lines == ["deliveries: 2 sent, 1 failed, 1 to retry in 0.0 s"]
    assert "segment" not in caplog.text and "part 1" not in caplog.text  # payloads are never logged


async def test_retry_after_waits_without_counting_an_attempt(store: Store, clock: ManualClock) -> None:
    await plan(store, ["1", "2"])
    sender = FakeSender(script={"1": [RetryAfter(30)]})
    engine = engine_for(store, sender, clock)
    await engine.drain(horizon=0)
    rows = ledger(store)
    assert rows["1", 1]["state"] == "pending" and rows["1", 1]["attempts"] == 0
    assert datetime.fromisoformat(rows["1", 1]["next_attempt_at"]) == START + timedelta(seconds=30)
    assert rows["1", 1]["last_error"] == "retry after 30 s"
    assert rows["1", 2]["state"] == "pending"  # part 2 never overtakes part 1
    assert rows["2", 1]["state"] == rows["2", 2]["state"] == "sent"
    await clock.advance(29)
    await engine.drain(horizon=0)
    assert len(sender.sent_to("1")) == 1
    await clock.advance(1)
    await engine.drain(horizon=0)
    assert [part_of(t) for t in sender.sent_to("1")] == [1, 1, 2]
    assert ledger(store)["1", 1]["attempts"] == 1


async def test_transient_errors_back_off_then_give_up(store: Store, clock: ManualClock) -> None:
    await plan(store, ["1"], parts=1)
    sender = FakeSender(script={"1": [Transient("timed out"), Transient("502"), Transient("timed out")]})
    engine = engine_for(store, sender, clock)
    waits = []
    for expected_attempts in (1, 2):
        await engine.drain(horizon=0)
        row = ledger(store)["1", 1]
        assert (row["state"], row["attempts"]) == ("pending", expected_attempts)
        wait = (datetime.fromisoformat(row["next_attempt_at"]) - clock.now()).total_seconds()
        waits.append(wait)
        await clock.advance(wait)
    assert 5 <= waits[0] <= 10 and 7.5 <= waits[1] <= 15  # base 10 doubling, capped at 15, jittered
    await engine.drain(horizon=0)
    row = ledger(store)["1", 1]
    assert row["state"] == "failed" and row["last_error"] == "gave up after 3 attempts: timed out"
    await clock.advance(1000)
    await engine.drain(horizon=0)
    assert len(sender.calls) == 3


async def test_chat_gone_pauses_the_subscription_and_never_retries(
    store: Store, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    ids = await plan(store, ["1", "2"])
    sender = FakeSender(script={"1": [ChatGone("Forbidden: bot was blocked by the user")]})
    engine = engine_for(store, sender, clock)
    with caplog.at_level(logging.WARNING):
        await engine.drain(horizon=0)
    rows = ledger(store)
    assert rows["1", 1]["state"] == "failed" and rows["1", 2]["state"] == "skipped"
    assert rows["1", 2]["last_error"] == "chat gone: Forbidden: bot was blocked by the user"
    assert rows["2", 1]["state"] == rows["2", 2]["state"] == "sent"
    sub = await store.get_subscription_by_id(ids["1"])
    assert sub is not None and sub.status == "paused"
    assert sub.paused_reason == "Forbidden: bot was blocked by the user"
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        f"paused subscription {ids['1']} (telegram chat 1): Forbidden: bot was blocked by the user"
    ]
    await clock.advance(10_000)
    await engine.drain(horizon=0)
    assert len(sender.sent_to("1")) == 1


async def test_rejected_format_is_resent_once_as_plain_text(store: Store, clock: ManualClock) -> None:
    await plan(store, ["1", "2", "3"], parts=1)
    rejected = FormatRejected("Bad Request: can't parse entities")
    sender = FakeSender(
        script={"1": [rejected], "2": [rejected, rejected], "3": [rejected, Transient("timeout")]}
    )
    engine = engine_for(store, sender, clock)
    await engine.drain(horizon=0)
    rows = ledger(store)
    assert sender.sent_to("1") == ["2025.06.01.08 [1,2,3] part 1", "PLAIN 2025.06.01.08 [1,2,3] part 1"]
    assert rows["1", 1]["state"] == "sent" and rows["1", 1]["plain"] == 1
    assert len(sender.sent_to("2")) == 2 and rows["2", 1]["state"] == "failed"
    assert (
        rows["2", 1]["last_error"] == "format rejected even as plain text: Bad Request: can't parse entities"
    )
    assert rows["3", 1]["state"] == "pending" and rows["3", 1]["plain"] == 1
    await clock.advance(60)
    await engine.drain(horizon=0)
    assert sender.sent_to("3")[-1].startswith("PLAIN ") and ledger(store)["3", 1]["state"] == "sent"


async def test_migrated_group_moves_and_is_resent(store: Store, clock: ManualClock) -> None:
    ids = await plan(store, ["-1"], kind="group")
    sender = FakeSender(script={"-1": [Migrated("-1009", "supergroup")]})
    await engine_for(store, sender, clock).drain(horizon=0)
    assert [(t.chat_id, t.kind) for t, _ in sender.calls] == [
        ("-1", "group"),
        ("-1009", "supergroup"),
        ("-1009", "supergroup"),
    ]
    sub = await store.get_subscription_by_id(ids["-1"])
    assert sub is not None and (sub.chat_id, sub.kind) == ("-1009", "supergroup")
    assert {row["state"] for row in ledger(store).values()} == {"sent"}


async def test_a_chat_that_keeps_migrating_fails(store: Store, clock: ManualClock) -> None:
    await plan(store, ["-1"], parts=1, kind="group")
    sender = FakeSender(script={c: [Migrated(f"{c}0", "supergroup")] for c in ["-1", "-10", "-100", "-1000"]})
    await engine_for(store, sender, clock).drain(horizon=0)
    [row] = ledger(store).values()
    assert row["state"] == "failed" and "keeps migrating" in row["last_error"]


async def test_a_sender_that_raises_is_treated_as_transient(store: Store, clock: ManualClock) -> None:
    await plan(store, ["1"], parts=1)
    sender = FakeSender(script={"1": [RuntimeError("adapter bug")]})
    await engine_for(store, sender, clock).drain(horizon=0)
    row = ledger(store)["1", 1]
    assert row["state"] == "pending" and row["last_error"] == "RuntimeError: adapter bug"


async def test_rows_left_sending_by_a_crash_are_never_resent(store: Store, clock: ManualClock) -> None:
    await plan(store, ["1", "2"])
    [first, *_] = await store.claim_due(clock.now(), 1, ["telegram"])
    assert await store.mark_sending(first.id, clock.now())  # ...and then the process died
    await clock.advance(LEASE.total_seconds())  # on PostgreSQL, its lease runs out unrenewed
    sender = FakeSender()
    await engine_for(store, sender, clock).drain(horizon=0)
    rows = ledger(store)
    assert rows["1", 1]["state"] == "interrupted"
    assert [part_of(t) for t in sender.sent_to("1")] == [2]
    assert rows["2", 1]["state"] == rows["2", 2]["state"] == "sent"


async def test_exactly_once_across_stop_and_restart(store: Store, clock: ManualClock) -> None:
    chats = [str(c) for c in range(8)]
    await plan(store, chats)
    first = FakeSender()
    first.gate["3"] = asyncio.Event()  # chat 3's send hangs until the engine gives up on it
    engine = engine_for(store, first, clock)
    running = asyncio.create_task(engine.run())
    await wait_for(lambda: bool(first.sent_to("3")), 5, "chat 3's send to start")
    await engine.stop(grace=0.05)
    await running
    rows = ledger(store)
    assert rows["3", 1]["state"] == "interrupted"
    assert "sending" not in {row["state"] for row in rows.values()}

    second = FakeSender()
    await engine_for(store, second, clock).drain(horizon=0)
    sent = [(t.chat_id, part_of(p["text"])) for t, p in first.calls + second.calls]
    assert sent.count(("3", 1)) == 1
    assert sorted(set(sent)) == sorted((c, p) for c in chats for p in (1, 2))
    assert len(sent) == len(set(sent))


async def test_stop_lets_in_flight_sends_finish_and_releases_the_rest(
    store: Store, clock: ManualClock
) -> None:
    await plan(store, [str(c) for c in range(10)], parts=1)
    sender = FakeSender()
    sender.gate["*"] = asyncio.Event()
    engine = engine_for(store, sender, clock)
    running = asyncio.create_task(engine.run())
    await wait_for(lambda: len(sender.calls) == CONFIG.concurrency, 5, "every worker to be sending")
    stopping = asyncio.create_task(engine.stop(grace=5))
    await asyncio.sleep(0.05)
    sender.gate["*"].set()
    await stopping
    await running
    states = [row["state"] for row in ledger(store).values()]
    assert states.count("sent") == CONFIG.concurrency
    assert states.count("pending") == 10 - CONFIG.concurrency
    assert len(sender.calls) == CONFIG.concurrency


async def test_rows_for_platforms_without_a_sender_are_left_alone(store: Store, clock: ManualClock) -> None:
    await plan(store, ["1"])
    discord_only = FakeSender(platform="discord")
    await engine_for(store, discord_only, clock).drain(horizon=0)
    assert discord_only.calls == []
    assert {row["state"] for row in ledger(store).values()} == {"pending"}


async def test_a_slow_group_limit_defers_the_row_instead_of_holding_a_worker(
    store: Store, clock: ManualClock
) -> None:
    await plan(store, ["-5"], kind="supergroup")
    telegram = RateLimits(global_per_second=30, per_chat_per_second=1, per_group_per_minute=20)
    sender = FakeSender()
    engine = engine_for(store, sender, clock, limits={"telegram": telegram})
    await engine.drain(horizon=0)
    rows = ledger(store)
    assert rows["-5", 1]["state"] == "sent" and rows["-5", 2]["state"] == "pending"
    assert datetime.fromisoformat(rows["-5", 2]["next_attempt_at"]) == START + timedelta(seconds=3)
    await clock.advance(3)
    await engine.drain(horizon=0)
    assert ledger(store)["-5", 2]["state"] == "sent"


async def test_engine_paces_sends_at_the_global_rate(tmp_path: Path) -> None:
    async with await Store.open(tmp_path / "paced.db") as store:
        await plan(store, [str(c) for c in range(30)], parts=1)
        sender = FakeSender()
        limits = {"telegram": RateLimits(global_per_second=100, per_chat_per_second=1)}
        engine = engine_for(store, sender, SystemClock(), limits=limits, config={"concurrency": 8})
        started = time.monotonic()
        await engine.drain()
        elapsed = time.monotonic() - started
    assert len(sender.calls) == 30
    assert 0.24 <= elapsed < 2  # 3 at once (the 30 ms burst allowance), then 27 at 97/s


async def test_run_twice_at_once_is_refused(store: Store, clock: ManualClock) -> None:
    engine = engine_for(store, FakeSender(), clock)
    running = asyncio.create_task(engine.run())
    await asyncio.sleep(0.05)
    with pytest.raises(RuntimeError, match="already running"):
        await engine.run()
    await engine.stop(grace=0)
    await running
    await engine.stop()  # stopping a stopped engine is harmless


async def test_a_running_engine_sends_new_rows_when_woken(store: Store, clock: ManualClock) -> None:
    sender = FakeSender()
    engine = engine_for(store, sender, clock)
    running = asyncio.create_task(engine.run())
    await asyncio.sleep(0.05)
    await plan(store, ["1", "2"])
    engine.wake()
    await wait_for(lambda: len(sender.calls) == 4, 5, "both chats' parts to be sent")
    await engine.stop(grace=1)
    await running
    assert {row["state"] for row in ledger(store).values()} == {"sent"}


class NoPlainSender(FakeSender):
    def plain(self, payload: Payload) -> Payload:
        raise ValueError("payload has no text")


async def test_a_payload_without_a_plain_form_fails_cleanly(store: Store, clock: ManualClock) -> None:
    await plan(store, ["1"], parts=1)
    sender = NoPlainSender(script={"1": [FormatRejected("can't parse entities")]})
    await engine_for(store, sender, clock).drain(horizon=0)
    row = ledger(store)["1", 1]
    assert (
        row["state"] == "failed"
        and row["last_error"] == "format rejected, no plain form: payload has no text"
    )


async def test_a_bug_before_sending_parks_the_row_instead_of_spinning(
    store: Store, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    await plan(store, ["1"], parts=1)
    [row] = await store.claim_due(clock.now(), 1, ["telegram"])
    await store.use_plain(row.id, "format rejected earlier", clock.now())
    sender = NoPlainSender()
    with caplog.at_level(logging.ERROR):
        await engine_for(store, sender, clock).drain(horizon=0)
    parked = ledger(store)["1", 1]
    assert sender.calls == [] and parked["state"] == "pending"
    assert datetime.fromisoformat(parked["next_attempt_at"]) == START + timedelta(seconds=60)
    assert caplog.text.count("failed unexpectedly") == 1


async def test_migrating_onto_a_chat_with_its_own_subscription_does_not_double_send(
    store: Store, clock: ManualClock
) -> None:
    ids = await plan(store, ["-1", "-1009"], parts=1, kind="group")
    sender = FakeSender(script={"-1": [Migrated("-1009", "supergroup")]})
    await engine_for(store, sender, clock).drain(horizon=0)
    assert [t.chat_id for t, _ in sender.calls].count("-1009") == 1
    rows = ledger(store)
    old = [row for row in rows.values() if row["subscription_id"] == ids["-1"]]
    assert [row["state"] for row in old] == ["failed"]
    assert "subscribed on its own" in old[0]["last_error"]
    retired = await store.get_subscription_by_id(ids["-1"])
    assert retired is not None and retired.status == "unsubscribed"
