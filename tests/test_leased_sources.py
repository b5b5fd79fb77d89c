"""Each source polled by one process at a time: LeasedSource over a real PostgreSQL (tests/pg_cluster.py)."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

from bot.core.clock import SystemClock
from bot.sources.base import Incoming
from bot.sources.directory import DirectoryWatcher
from bot.sources.leased import LeasedSource, source_lease_name
from bot.store.coordination import LockSession

POST = """---
title: "2031.04.02.08 AI news"
date: 2031-04-02T08:00:00+08:00
---

1.  [An open model - Lab A](https://example.org/a)
    A summary.
"""


def settled(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    then = time.time() - 60
    os.utime(path, (then, then))


def leased(folder: Path, session: LockSession) -> LeasedSource:
    watcher = DirectoryWatcher("posts", folder, poll_interval=0.05)
    return LeasedSource(watcher, session.lease(source_lease_name("posts")), SystemClock())


async def test_one_process_polls_a_source_and_another_takes_it_over(
    tmp_path: Path,
    postgres_url: str,
) -> None:
    settled(tmp_path / "a.md", POST)
    sessions = [LockSession.for_url(postgres_url) for _ in range(2)]
    first, second = (leased(tmp_path, session) for session in sessions)
    try:
        assert [i.key for i in await first.poll()] == [str(tmp_path / "a.md")]
        assert await second.poll() == []  # the other process holds it: this round is skipped
        settled(tmp_path / "b.md", POST.replace("Lab A", "Lab B"))
        assert [Path(i.key).name for i in await first.poll()] == ["b.md"]
        assert await second.poll() == []
        await sessions[0].close()  # the first process dies: its lock goes with its connection
        taken = await second.poll()  # a fresh poller reports what it finds; the store de-duplicates
        assert sorted(Path(i.key).name for i in taken) == ["a.md", "b.md"]
    finally:
        for session in sessions:
            await session.close()


async def test_run_skips_rounds_then_takes_over_when_the_holder_stops(
    tmp_path: Path,
    postgres_url: str,
) -> None:
    settled(tmp_path / "a.md", POST)
    sessions = [LockSession.for_url(postgres_url) for _ in range(2)]
    queues: list[asyncio.Queue[Incoming]] = [asyncio.Queue(), asyncio.Queue()]
    sources = [leased(tmp_path, session) for session in sessions]
    tasks = [asyncio.create_task(s.run(q)) for s, q in zip(sources, queues, strict=True)]
    try:
        await asyncio.sleep(0.5)
        assert sorted(q.qsize() for q in queues) == [0, 1]  # polled by one of them only
        holder = next(n for n, q in enumerate(queues) if q.qsize())
        tasks[holder].cancel()  # a stopping process hands the lease over
        await asyncio.gather(tasks[holder], return_exceptions=True)
        other = queues[1 - holder]
        found = await asyncio.wait_for(other.get(), 5)
        assert Path(found.key).name == "a.md"
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for session in sessions:
            await session.close()
