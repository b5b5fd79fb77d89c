"""Announcements in the ledger: one row per active subscription, written once, expired like any row."""

from __future__ import annotations

import logging

import pytest
from clocks import ManualClock
from ledger_helpers import subscribe

from bot.delivery.expiry import ExpirySweep
from bot.store.db import Store
from bot.store.deliveries import StoredPayload

pytestmark = pytest.mark.both_backends


async def test_confirm_writes_one_row_per_active_subscription_once(store: Store) -> None:
    for chat in ("1", "2", "3"):
        await subscribe(store, chat)
    paused = await store.get_subscription("telegram", "3")
    assert paused is not None
    await store.pause(paused.id, "bot was blocked by the user")
    await subscribe(store, "9", platform="discord", kind="dm")
    draft = await store.draft_announcement("telegram", "hello", "900")
    payload = StoredPayload.of({"text": "hello"})
    assert (
        await store.confirm_announcement(draft, "discord", payload)
    ).found is False  # another platform's id
    first = await store.confirm_announcement(draft, "telegram", payload)
    again = await store.confirm_announcement(draft, "telegram", payload)
    assert (first.found, first.already, first.recipients) == (True, False, 2)
    assert (again.already, again.recipients) == (True, 2)
    rows = await store.claim_due(store.clock.now(), 10, ["telegram", "discord"])
    assert sorted((row.chat_id, row.unit, row.payload["text"]) for row in rows) == [
        ("1", f"a{draft}", "hello"),
        ("2", f"a{draft}", "hello"),
    ]


async def test_announcement_rows_count_in_the_queue_but_are_no_digest_broadcast(store: Store) -> None:
    for chat in ("1", "2"):
        await subscribe(store, chat)
    draft = await store.draft_announcement("telegram", "hello", "900")
    await store.confirm_announcement(draft, "telegram", StoredPayload.of({"text": "hello"}))
    assert (await store.gauges()).queue.get("pending") == 2
    assert await store.broadcast_progress(store.clock.now()) is None


async def test_announcement_rows_expire_with_a_line_of_their_own(
    store: Store, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    await subscribe(store, "1")
    draft = await store.draft_announcement("telegram", "old news", "900")
    await store.confirm_announcement(draft, "telegram", StoredPayload.of({"text": "old news"}))
    await clock.advance(7200)
    with caplog.at_level(logging.WARNING, logger="bot.delivery.engine"):
        await ExpirySweep(store, 3600, clock).sweep()
    assert "announcements: 1 queued deliveries expired" in caplog.text
