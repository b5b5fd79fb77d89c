"""Fixtures shared by the store, planner, engine and scheduler tests.

Most of them run against a real SQLite file on a hand-moved clock; a module that needs another kind
of time overrides `clock` only, and gets a `store` on it. A test marked `both_backends` gets its
`store` twice: on SQLite and on a fresh PostgreSQL database (tests/pg_cluster.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from clocks import ManualClock
from db_reads import remember

from bot.core.clock import Clock
from bot.store.db import Store

# Fixtures that live with the helpers they set up, for the test modules that share them.
pytest_plugins = ["discord_world", "feed_server", "pg_cluster", "telegram_helpers"]

BACKENDS = ("sqlite", "postgres")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "both_backends: run the test's `store` on SQLite and on PostgreSQL")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "store" in metafunc.fixturenames and metafunc.definition.get_closest_marker("both_backends"):
        metafunc.parametrize("backend", BACKENDS, indirect=True)


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    """The store's database: SQLite unless the test is marked `both_backends`."""
    return str(getattr(request, "param", "sqlite"))


@pytest.fixture
def store_target(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """Where `store` opens: a SQLite file in the test's folder, or a fresh PostgreSQL database."""
    if backend == "postgres":
        return str(request.getfixturevalue("postgres_url"))
    return str(tmp_path / "bot.db")


@pytest.fixture
def clock() -> Clock:
    return ManualClock()


@pytest.fixture
async def store(store_target: str, backend: str, clock: Clock) -> AsyncIterator[Store]:
    async with await Store.open(store_target, clock=clock) as opened:
        if backend == "postgres":
            remember(opened, store_target)
        yield opened
