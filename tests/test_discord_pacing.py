"""The Discord HTTP client's send window: no rolling second holds more requests than its limit."""

from __future__ import annotations

import asyncio

import pytest
from clocks import AutoClock, ManualClock

from bot.platforms.discord.pacing import SendWindow


async def test_no_rolling_second_holds_more_than_the_limit() -> None:
    clock = AutoClock()
    window = SendWindow(45, clock)
    stamps = []
    for _ in range(200):
        await window.wait()
        stamps.append(clock.monotonic())
    busiest = max(sum(1 for t in stamps if start <= t < start + 1) for start in stamps)
    assert busiest == 45
    assert stamps[-1] == pytest.approx(4.0)  # 45 at once, then 45 a second later, ...


async def test_concurrent_senders_wait_for_the_oldest_request_to_age() -> None:
    clock = ManualClock()
    window = SendWindow(2, clock)
    waiters = [asyncio.create_task(window.wait()) for _ in range(3)]
    await asyncio.sleep(0)
    assert sum(w.done() for w in waiters) == 2
    await clock.advance(0.5)
    assert sum(w.done() for w in waiters) == 2
    await clock.advance(0.5)
    await asyncio.wait_for(asyncio.gather(*waiters), 1)


async def test_a_pace_below_one_a_second_still_lets_one_through() -> None:
    clock = AutoClock()
    window = SendWindow(0.5, clock)  # the engine keeps the slower pace; the window never blocks all
    await window.wait()
    await window.wait()
    assert clock.monotonic() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="pace > 0"):
        SendWindow(0)
