"""`digestbot migrate-store`: a SQLite install moved to PostgreSQL, every table and id as it was.

The source is a real store after a fan-out the engine sent (one chat blocked the bot, one failed
for a while), an archive to search, a chat setting and a remembered query; the copy is opened with
Store.open and compared table by table, then through the store's own operations.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from cli_helpers import run_cli
from clocks import ManualClock
from ledger_helpers import FakeSender, engine_for, plan
from search_helpers import archive_digest, store_digest

from bot.core.search_query import parse_query
from bot.delivery.outcome import ChatGone, Transient
from bot.store.db import Store
from bot.store.transfer import TABLES

PASSWORD_MARK = "@"  # the test cluster's URL holds its password before the host


async def _fill(path: Path) -> None:
    clock = ManualClock()
    async with await Store.open(path, clock=clock) as store:
        ids = await plan(store, ["1", "2", "3", "4"], parts=2)
        sender = FakeSender(
            script={"2": [ChatGone("Forbidden: bot was blocked by the user")], "3": [Transient("x")]}
        )
        await engine_for(store, sender, clock).drain()
        await store_digest(store, archive_digest("2025.06.02.08"))
        await store.put_subscription_setting(ids["1"], "webhook", {"name": "news"})
        await store.remember_query("机器人")


async def _tables(target: str) -> dict[str, list[tuple[Any, ...]]]:
    async with await Store.open(target) as store, store.transaction(write=False) as tx:
        return {
            table.name: [
                tuple(row)
                for row in await tx.conn.fetchall(
                    f"SELECT * FROM {table.name} ORDER BY {', '.join(table.key)}"
                )
            ]
            for table in TABLES
        }


async def _through_the_store(target: str) -> tuple[Any, ...]:
    async with await Store.open(target, clock=ManualClock()) as store:
        subscriptions = [sub async for sub in store.export_subscriptions()]
        hits = (await store.search(parse_query("机器人"))).hits
        gauges = await store.gauges()
        settings = await store.subscription_settings("telegram", "1")
        return subscriptions, hits, gauges, settings


def _password(url: str) -> str:
    return url.rpartition(PASSWORD_MARK)[0].rpartition(":")[2]


def test_a_sqlite_store_moves_to_postgres_with_its_ids(tmp_path: Path, postgres_url: str) -> None:
    source = tmp_path / "bot.db"
    asyncio.run(_fill(source))
    before = asyncio.run(_tables(str(source)))
    assert all(before[name] for name in ("digests", "deliveries", "search_items", "sent_per_hour"))

    moved = run_cli("migrate-store", "--from", str(source), "--to", postgres_url)
    assert moved.returncode == 0, moved.stderr
    counts = {
        name: int(n.replace(",", "")) for name, n in (line.split() for line in moved.stdout.splitlines())
    }
    assert counts == {name: len(rows) for name, rows in before.items()}
    assert _password(postgres_url) not in moved.stdout + moved.stderr
    assert asyncio.run(_tables(postgres_url)) == before
    assert asyncio.run(_through_the_store(postgres_url)) == asyncio.run(_through_the_store(str(source)))

    again = run_cli("migrate-store", "--from", str(source), "--to", postgres_url)
    assert again.returncode == 2 and "--into-nonempty" in again.stderr
    assert _password(postgres_url) not in again.stderr and "postgresql://postgres:" in again.stderr
    forced = run_cli("migrate-store", "--from", str(source), "--to", postgres_url, "--into-nonempty")
    assert forced.returncode == 0, forced.stderr
    assert asyncio.run(_tables(postgres_url)) == before  # the same copy twice: the same database

    async def subscribe_one_more() -> int:
        async with await Store.open(postgres_url) as store:
            sub, created = await store.subscribe(
                "telegram",
                "new",
                None,
                kind="private",
                title="",
                created_by=None,
                language="en",
                timezone="UTC",
            )
            assert created
            return sub.id

    assert asyncio.run(subscribe_one_more()) == max(row[0] for row in before["subscriptions"]) + 1


def test_bad_arguments_are_one_line_and_exit_2(tmp_path: Path) -> None:
    source = tmp_path / "bot.db"
    asyncio.run(_fill(source))
    cases = {
        ("--from", str(source), "--to", "mysql://u:hunter2@db/x"): "expected a postgresql:// URL",
        ("--from", str(source), "--to", "postgresql://u:hunter2@db:port/x"): "@db:port/x: invalid literal",
        ("--from", str(tmp_path / "missing.db"), "--to", "postgresql://u:hunter2@db/x"): "no SQLite database",
    }
    for args, message in cases.items():
        result = run_cli("migrate-store", *args)
        assert result.returncode == 2, result
        assert message in result.stderr and len(result.stderr.splitlines()) == 1
        assert "hunter2" not in result.stderr + result.stdout
    assert not (tmp_path / "missing.db").exists()
