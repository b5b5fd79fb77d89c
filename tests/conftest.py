"""Fixtures shared by the store, planner, engine and scheduler tests.

Most of them run against a real SQLite file on a hand-moved clock; a module that needs another kind
of time overrides `clock` only, and gets a `store` on it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from clocks import ManualClock

from bot.core.clock import Clock
from bot.store.db import Store

# Fixtures that live with the helpers they set up, for the test modules that share them.
pytest_plugins = ["discord_world", "feed_server", "telegram_helpers"]


@pytest.fixture
def clock() -> Clock:
    return ManualClock()


@pytest.fixture
async def store(tmp_path: Path, clock: Clock) -> AsyncIterator[Store]:
    async with await Store.open(tmp_path / "bot.db", clock=clock) as opened:
        yield opened
