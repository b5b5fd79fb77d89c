"""Wake-ups between processes over LISTEN/NOTIFY, against a real PostgreSQL (tests/pg_cluster.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import asyncpg
import pytest

from bot.store.notify import APPLICATION_NAME, WakeBus


class Woken:
    """The wake callbacks of one process (engine.wake, scheduler.wake in the app), as events."""

    def __init__(self) -> None:
        self.events = {"deliveries": asyncio.Event(), "schedule": asyncio.Event()}

    def callbacks(self) -> dict[str, Callable[[], None]]:
        return {topic: event.set for topic, event in self.events.items()}

    def clear(self) -> None:
        for event in self.events.values():
            event.clear()


async def kill_listeners(url: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return int(
            await conn.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1",
                APPLICATION_NAME,
            )
        )
    finally:
        await conn.close()


async def test_a_publish_wakes_the_other_process_not_itself(postgres_url: str) -> None:
    here, there = Woken(), Woken()
    mine = WakeBus.for_url(postgres_url, here.callbacks())
    theirs = WakeBus.for_url(postgres_url, there.callbacks())
    mine.start()
    theirs.start()
    try:
        await asyncio.wait_for(asyncio.gather(mine.connected.wait(), theirs.connected.wait()), 5)
        mine.publish("deliveries")
        await asyncio.wait_for(there.events["deliveries"].wait(), 5)
        assert not there.events["schedule"].is_set()
        theirs.publish("schedule")
        await asyncio.wait_for(here.events["schedule"].wait(), 5)
        await asyncio.sleep(0.2)
        assert not here.events["deliveries"].is_set()  # its own notification is not heard
    finally:
        await mine.close()
        await theirs.close()


async def test_the_listener_reconnects_and_hears_again(postgres_url: str) -> None:
    here, there = Woken(), Woken()
    mine = WakeBus.for_url(postgres_url, here.callbacks(), heartbeat=0.3)
    theirs = WakeBus.for_url(postgres_url, there.callbacks(), heartbeat=0.3)
    mine.start()
    theirs.start()
    try:
        await asyncio.wait_for(asyncio.gather(mine.connected.wait(), theirs.connected.wait()), 5)
        assert await kill_listeners(postgres_url) == 2
        # back: every callback runs once, since a publish may have been missed meanwhile
        await asyncio.wait_for(there.events["deliveries"].wait(), 10)
        await asyncio.wait_for(asyncio.gather(mine.connected.wait(), theirs.connected.wait()), 10)
        there.clear()
        mine.publish("schedule")
        await asyncio.wait_for(there.events["schedule"].wait(), 5)
        assert not there.events["deliveries"].is_set()
    finally:
        await mine.close()
        await theirs.close()


async def test_a_database_that_is_down_is_retried_quietly() -> None:
    woken = Woken()
    bus = WakeBus.for_url("postgresql://nobody@127.0.0.1:1/none", woken.callbacks())
    bus.start()
    bus.publish("deliveries")  # kept until a connection exists, never raises
    await asyncio.sleep(0.3)
    assert not bus.connected.is_set()
    await bus.close()


def test_unknown_topics_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown wake-up topics: mail"):
        WakeBus.for_url("postgresql://x@127.0.0.1/db", {"mail": lambda: None})
