"""Fake clocks for the store, the limiter, the planner and the scheduler (all take a `Clock`).

Three kinds because tests need three kinds of time: one that jumps whenever someone sleeps
(sequential pacing runs instantly), one that only the test moves (concurrent waits stay put until
the test says so), and a settable wall clock for code that only reads `now`.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from hypothesis import strategies as st

START = datetime(2025, 6, 1, 8, 0, tzinfo=UTC)
# Any UTC instant a deployment could see, for property tests of schedules and quiet hours.
INSTANTS = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2037, 12, 31)).map(
    lambda d: d.replace(tzinfo=UTC)
)


class AutoClock:
    """Virtual time that jumps forward whenever someone sleeps: sequential pacing tests run instantly."""

    def __init__(self, start: datetime = START) -> None:
        self.start = start
        self.offset = 0.0

    def now(self) -> datetime:
        return self.start + timedelta(seconds=self.offset)

    def monotonic(self) -> float:
        return self.offset

    async def sleep(self, seconds: float) -> None:
        self.offset += max(0.0, seconds)
        await asyncio.sleep(0)


class ManualClock:
    """Virtual time that only the test moves; sleepers wake when `advance` passes their deadline."""

    def __init__(self, start: datetime = START) -> None:
        self.start = start
        self.offset = 0.0
        self._moved = asyncio.Condition()

    def now(self) -> datetime:
        return self.start + timedelta(seconds=self.offset)

    def monotonic(self) -> float:
        return self.offset

    async def sleep(self, seconds: float) -> None:
        deadline = self.offset + max(0.0, seconds)
        async with self._moved:
            await self._moved.wait_for(lambda: self.offset >= deadline)

    async def advance(self, seconds: float) -> None:
        self.offset += seconds
        async with self._moved:
            self._moved.notify_all()
        await asyncio.sleep(0)


class StepClock:
    """A settable wall clock for the store (the store only reads `now`; nothing here sleeps)."""

    def __init__(self, start: datetime = START) -> None:
        self.current = start

    def now(self) -> datetime:
        return self.current

    def monotonic(self) -> float:
        return (self.current - START).total_seconds()

    async def sleep(self, seconds: float) -> None:
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)
