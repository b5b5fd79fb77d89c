"""Retrying through a failing database: exponential pauses, so no loop of the bot spins on it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from bot.store.errors import StoreUnavailable

T = TypeVar("T")


class Backoff:
    """Exponential pauses between attempts at a failing database: first, 2*first, ... up to `cap`."""

    def __init__(self, first: float = 1.0, cap: float = 60.0) -> None:
        if not 0 < first <= cap:
            raise ValueError(f"back-off needs 0 < first <= cap, got {first} and {cap}")
        self._first = first
        self._cap = cap
        self._next = first

    def delay(self) -> float:
        """The pause before the next attempt; each call doubles the following one."""
        current = self._next
        self._next = min(self._cap, current * 2)
        return current

    def reset(self) -> None:
        self._next = self._first


async def retrying(
    operation: Callable[[], Awaitable[T]],
    backoff: Backoff,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> T:
    """`operation()` again after each back-off pause until the database lets it finish.

    Only StoreUnavailable is retried (the store has logged it); any other error is the caller's.
    """
    while True:
        try:
            result = await operation()
        except StoreUnavailable:
            await sleep(backoff.delay())
            continue
        backoff.reset()
        return result
