"""One way for a test to wait for something that happens in the background.

A test that polls state must fail with a message naming what never happened, not hang until the
runner is killed; every busy-wait in the suite goes through `wait_for` (or has its own deadline).
"""

from __future__ import annotations

import asyncio
import inspect
import sqlite3
from collections.abc import Awaitable, Callable
from contextlib import closing
from pathlib import Path

POLL = 0.02  # seconds between two looks: short next to any timeout, long next to one SQLite read
OPEN_STATES = ("pending", "sending")  # every other state is final: the engine never sends such a row again


async def wait_for(
    condition: Callable[[], bool | Awaitable[bool]], timeout: float = 10.0, message: str = "condition"
) -> None:
    """Poll `condition` (plain or async) until it holds; a clear failure, not a hang, when it never does."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await _holds(condition):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {message}")
        await asyncio.sleep(POLL)


async def _holds(condition: Callable[[], bool | Awaitable[bool]]) -> bool:
    result = condition()
    return bool(await result) if inspect.isawaitable(result) else bool(result)


def ledger_settled(database: Path, rows: int = 1) -> bool:
    """No digest waiting to be planned, at least `rows` delivery rows and none open (pending or
    sending): nothing is left to plan, send or retry.

    Tests that prove a negative ("nothing was sent twice", "nothing went to the wrong chat") wait for
    this instead of sleeping: once it holds, every message the bot will send is already out.
    """
    with closing(sqlite3.connect(database)) as raw:
        planning = raw.execute("SELECT count(*) FROM digests WHERE plan_state = 'pending'").fetchone()[0]
        states = [state for (state,) in raw.execute("SELECT state FROM deliveries")]
    return not planning and len(states) >= rows and not any(state in OPEN_STATES for state in states)
