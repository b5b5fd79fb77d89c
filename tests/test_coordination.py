"""Advisory leases and the polling election against a real PostgreSQL (tests/pg_cluster.py)."""

from __future__ import annotations

import asyncio
import time

import asyncpg

from bot.platforms.election import Election
from bot.store.coordination import LockSession, lock_key

NAME = "digestbot:poll:telegram"


async def holder_pid(url: str, name: str) -> int | None:
    """The backend holding the advisory lock of `name`, if any (bigint keys split in two halves)."""
    key = lock_key(name) & 0xFFFFFFFFFFFFFFFF
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND classid::bigint = $1 AND objid::bigint = $2",
            key >> 32,
            key & 0xFFFFFFFF,
        )
    finally:
        await conn.close()


async def terminate(url: str, pid: int) -> None:
    conn = await asyncpg.connect(url)
    try:
        assert await conn.fetchval("SELECT pg_terminate_backend($1)", pid)
    finally:
        await conn.close()


def test_keys_are_stable_and_distinct() -> None:
    assert lock_key(NAME) == -8165091112083224240  # pinned: every process and release must agree
    assert lock_key("digestbot:source:a") != lock_key("digestbot:source:b")
    assert -(2**63) <= lock_key(NAME) < 2**63


async def test_one_of_two_sessions_wins_and_release_hands_over(postgres_url: str) -> None:
    first, second = LockSession.for_url(postgres_url), LockSession.for_url(postgres_url)
    try:
        a, b = first.lease(NAME), second.lease(NAME)
        results = await asyncio.gather(a.try_acquire(), b.try_acquire())
        assert sorted(results) == [False, True]
        winner, loser = (a, b) if a.held else (b, a)
        assert await winner.try_acquire() and not await loser.try_acquire()
        await winner.release()
        assert await loser.try_acquire() and loser.held and not winner.held
        assert first.lease(NAME) is a  # one lease object per name
        other = first.lease("digestbot:source:feed")
        assert await other.try_acquire()  # another name is independent
    finally:
        await first.close()
        await second.close()


async def test_killed_connection_loses_the_lease_and_another_takes_over(postgres_url: str) -> None:
    first = LockSession.for_url(postgres_url, heartbeat=0.5)
    second = LockSession.for_url(postgres_url, heartbeat=0.5)
    try:
        a, b = first.lease(NAME), second.lease(NAME)
        assert await a.try_acquire() and not await b.try_acquire()
        pid = await holder_pid(postgres_url, NAME)
        assert pid is not None
        await terminate(postgres_url, pid)
        started = time.monotonic()
        await asyncio.wait_for(a.wait_lost(), 5)  # the heartbeat noticed
        assert not a.held
        while not await b.try_acquire():
            assert time.monotonic() - started < 10
            await asyncio.sleep(0.2)
        assert not await a.try_acquire()  # reconnected, but the other holds it now
    finally:
        await first.close()
        await second.close()


async def test_database_down_means_no_lease_not_an_error() -> None:
    session = LockSession.for_url("postgresql://nobody@127.0.0.1:1/none")
    try:
        assert not await session.lease(NAME).try_acquire()
    finally:
        await session.close()


class Work:
    """What an election starts and stops (polling in the app); records the order of events."""

    def __init__(self, label: str, events: list[str]) -> None:
        self.label, self.events, self.running = label, events, False

    async def start(self) -> None:
        self.running = True
        self.events.append(f"{self.label} start")

    async def stop(self) -> None:
        self.running = False
        self.events.append(f"{self.label} stop")


async def test_election_fails_over_within_ten_seconds(postgres_url: str) -> None:
    events: list[str] = []
    sessions = [LockSession.for_url(postgres_url, heartbeat=2.0) for _ in range(3)]
    works = [Work(f"p{i}", events) for i in range(3)]
    elections = [
        Election(s.lease(NAME), w.start, w.stop, retry=3.0) for s, w in zip(sessions, works, strict=True)
    ]
    try:
        for election in elections:
            await election.start()
        assert [e.leading for e in elections].count(True) == 1
        leader = next(i for i, e in enumerate(elections) if e.leading)
        pid = await holder_pid(postgres_url, NAME)
        assert pid is not None
        await terminate(postgres_url, pid)  # as if the leader's host vanished
        started = time.monotonic()
        while not any(e.leading and i != leader for i, e in enumerate(elections)):
            assert time.monotonic() - started < 10, events
            await asyncio.sleep(0.1)
        took = time.monotonic() - started
        await asyncio.sleep(0.5)
        assert not works[leader].running and f"p{leader} stop" in events
        assert [w.running for w in works].count(True) == 1, events
        assert took < 10
    finally:
        for election in elections:
            await election.stop()
        for session in sessions:
            await session.close()
    assert not any(w.running for w in works)


async def test_stopping_the_leader_hands_over_at_the_next_retry(postgres_url: str) -> None:
    events: list[str] = []
    one, two = LockSession.for_url(postgres_url), LockSession.for_url(postgres_url)
    first = Election(one.lease(NAME), Work("a", events).start, Work("a", events).stop, retry=0.2)
    second = Election(two.lease(NAME), Work("b", events).start, Work("b", events).stop, retry=0.2)
    try:
        await first.start()
        await second.start()
        assert first.leading and not second.leading
        await first.stop()
        for _ in range(50):
            if second.leading:
                break
            await asyncio.sleep(0.05)
        assert events == ["a start", "a stop", "b start"]
    finally:
        await second.stop()
        await one.close()
        await two.close()
