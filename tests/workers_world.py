"""What the several-process proof (tests/test_workers_e2e.py) and bench/workers.py share: a config
broadcasting one digest to many chats, the digest itself, the ledger read back from either database,
and a process's CPU time from /proc.

Both start real `digestbot run` processes on this config and read the ledger through a connection
of their own, so the database (a SQLite file or a postgresql:// URL) is only ever a string here.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import Sequence
from contextlib import AsyncExitStack, closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import yaml
from app_helpers import FOLDER, config_data, example_categories
from process_helpers import BotProcess, bot_process

FIRST_CHAT = 5_000_000
POSTGRES_SCHEMES = ("postgresql://", "postgres://")
OPEN_STATES = ("pending", "sending")  # every other state is final: never sent again
# One small item: one Telegram message per chat, so a broadcast is exactly one send per chat.
DIGEST = """---
title: "Workers proof"
date: 2025-12-01T08:00:00+08:00
---

1.  [Robots share the work](https://example.com/robots/workers)

    Three processes, one database, one ledger.

    Categories: robotics
"""


def broadcast_chats(count: int) -> range:
    """Private chat ids (positive: no per-group limit) of the broadcast."""
    return range(FIRST_CHAT, FIRST_CHAT + count)


def write_config(
    folder: Path,
    database: str,
    base_url: str,
    chats: Sequence[int],
    *,
    telegram: dict[str, Any] | None = None,
    delivery: dict[str, Any] | None = None,
) -> Path:
    """config.yaml with every chat of `chats` under `broadcasts:` (instant, every category), a
    watched folder, long polling against `base_url`, and `database` (a file or a URL)."""
    data = config_data(folder, categories=example_categories(), poll_interval=0.1, log_level="INFO")
    data["database"] = database
    data["telegram"] = {"token": "${TELEGRAM_TOKEN}", "base_url": base_url, **(telegram or {})}
    data["delivery"] = {**data["delivery"], **(delivery or {})}
    data["broadcasts"] = [{"platform": "telegram", "chat": str(chat)} for chat in chats]
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def drop_broadcast(folder: Path, name: str = "2025.12.01.08.md") -> None:
    """Publish DIGEST into the watched folder: written aside, then renamed in."""
    partial = folder / FOLDER / f".{name}.part"
    partial.write_text(DIGEST, encoding="utf-8")
    partial.replace(folder / FOLDER / name)


async def start_bots(stack: AsyncExitStack, config: Path, logs: Sequence[Path]) -> list[BotProcess]:
    """One `digestbot run` per log file, started together; returns once every one is running (they
    are killed when `stack` closes, if still alive)."""
    bots = [await stack.enter_async_context(bot_process(config, log)) for log in logs]
    await asyncio.gather(*(bot.running(timeout=120) for bot in bots))
    return bots


@dataclass(frozen=True)
class Ledger:
    """The deliveries table as (chat, part, state) rows, and the digests still waiting to be planned."""

    rows: list[tuple[int, int, str]]
    unplanned: int

    def settled(self, expected: int) -> bool:
        """Every digest planned, `expected` rows, none open: nothing left to send or retry."""
        return (
            not self.unplanned
            and len(self.rows) >= expected
            and not any(state in OPEN_STATES for _, _, state in self.rows)
        )

    def states(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for _, _, state in self.rows:
            counts[state] = counts.get(state, 0) + 1
        return counts


LEDGER_SQL = "SELECT chat_id, part, state FROM deliveries"
UNPLANNED_SQL = "SELECT count(*) FROM digests WHERE plan_state = 'pending'"


async def read_ledger(database: str) -> Ledger:
    """The ledger through a connection of our own (asyncpg for a URL, sqlite3 for a file)."""
    if database.startswith(POSTGRES_SCHEMES):
        conn = await asyncpg.connect(database)
        try:
            rows = [(int(r[0]), int(r[1]), str(r[2])) for r in await conn.fetch(LEDGER_SQL)]
            unplanned = int(await conn.fetchval(UNPLANNED_SQL))
        finally:
            await conn.close()
        return Ledger(rows, unplanned)
    with closing(sqlite3.connect(database)) as raw:
        rows = [(int(chat), int(part), str(state)) for chat, part, state in raw.execute(LEDGER_SQL)]
        unplanned = int(raw.execute(UNPLANNED_SQL).fetchone()[0])
    return Ledger(rows, unplanned)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process `pid` (all its threads) from /proc/<pid>/stat."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "; comm may hold spaces
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / os.sysconf("SC_CLK_TCK")
