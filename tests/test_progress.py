"""The broadcast progress line: sent / total, remaining, rate and ETA every 10 s of a fan-out."""

from __future__ import annotations

import logging

import pytest
from clocks import ManualClock
from ledger_helpers import plan

from bot.delivery.progress import PROGRESS_EVERY, BroadcastProgress, eta
from bot.store.db import Store


def progress_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "broadcast:" in r.getMessage()]


async def test_progress_line_every_ten_seconds_with_rate_and_eta(
    store: Store, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    await plan(store, [str(c) for c in range(10)], parts=1)
    progress = BroadcastProgress(store, clock)
    rows = await store.claim_due(store.clock.now(), 100, ["telegram"])
    assert len(rows) == 10
    progress.claimed(rows)
    with caplog.at_level(logging.INFO, logger="bot.delivery.engine"):
        await progress.maybe_log()  # not 10 s yet: nothing
        assert progress_lines(caplog) == []
        for row in rows[:2]:
            await store.mark_sent(row.id, "m", store.clock.now())
        await clock.advance(PROGRESS_EVERY)
        await progress.maybe_log()
        await progress.maybe_log()  # the next line is 10 s away again
        for row in rows[2:6]:
            await store.mark_sent(row.id, "m", store.clock.now())
        await clock.advance(PROGRESS_EVERY)
        await progress.maybe_log()
        for row in rows[6:]:
            await store.mark_sent(row.id, "m", store.clock.now())
        await clock.advance(PROGRESS_EVERY)
        await progress.maybe_log()  # finished: no line, and forgotten
    seq = int(rows[0].unit[1:])
    assert progress_lines(caplog) == [
        f"digest #{seq} broadcast: 2/10 sent, 8 remaining, rate measuring, ETA unknown",
        f"digest #{seq} broadcast: 6/10 sent, 4 remaining, rate 0.4/s, ETA 10 s",
    ]


async def test_stalled_broadcast_says_eta_unknown(
    store: Store, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    await plan(store, ["1", "2"], parts=1)
    progress = BroadcastProgress(store, clock)
    progress.claimed(await store.claim_due(store.clock.now(), 100, ["telegram"]))
    with caplog.at_level(logging.INFO, logger="bot.delivery.engine"):
        for _ in range(2):
            await clock.advance(PROGRESS_EVERY)
            await progress.maybe_log()
    assert progress_lines(caplog)[-1].endswith(
        "0/2 sent, 2 remaining, rate 0.0/s, ETA unknown (nothing sent meanwhile)"
    )


def test_eta_reads_like_a_person_would_say_it() -> None:
    assert [eta(s) for s in (4.6, 59, 725, 12_000)] == ["5 s", "59 s", "12 min 5 s", "3 h 20 min"]
