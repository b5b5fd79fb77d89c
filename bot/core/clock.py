"""The one clock: wall time for the database and replies, monotonic time for pacing, and sleeping.

Store, limiter, scheduler, engine, pruner, feed pollers and command service all take a `Clock`, so
tests replace time in one place instead of patching `datetime.now` module by module.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    """Wall time, monotonic time and sleeping; tests fake all three."""

    def now(self) -> datetime: ...

    def monotonic(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock (UTC wall time)."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


async def sleep_or_wake(clock: Clock, seconds: float, event: asyncio.Event) -> None:
    """Sleep `seconds` on `clock`, or less once `event` is set: long-running loops (engine,
    scheduler, pruner) wait on their clock, so a fake clock drives them, yet still wake at once for
    new work or a stop."""
    sleeper = asyncio.ensure_future(clock.sleep(seconds))
    waker = asyncio.ensure_future(event.wait())
    try:
        await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        sleeper.cancel()
        waker.cancel()
