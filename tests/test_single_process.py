"""One bot process per database, migrations safe by themselves, and damaged files refused at start.

The process tests run the real `python -m bot run` (console mode, stdin closed) the way an operator
would start a second copy by mistake, or start the bot on a damaged file.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import closing
from pathlib import Path

import pytest
import yaml
from app_helpers import ROOT, config_data, example_categories
from sample_digests import incoming, make_digest
from waiting import wait_for

from bot.store.db import Store, StoreError
from bot.store.lock import DatabaseLocked, ProcessLock

RUNNING = "digestbot running"


def write_config(tmp_path: Path, database: Path) -> Path:
    config = tmp_path / "config.yaml"
    data = config_data(tmp_path, categories=example_categories(), database=str(database))
    config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return config


def bot_command(config: Path) -> list[str]:
    return [sys.executable, "-m", "bot", "run", "--config", str(config)]


def bot_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("DIGESTBOT_CONFIG", None)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    return env


def run_once(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        bot_command(config),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=30,
        env=bot_env(),
        cwd=config.parent,
        check=False,
    )


async def start_bot(config: Path, log: Path) -> asyncio.subprocess.Process:
    """`digestbot run` in console mode (stdin closed), once it says it is running."""
    with log.open("wb") as sink:
        process = await asyncio.create_subprocess_exec(
            *bot_command(config), stdin=subprocess.DEVNULL, stdout=sink, stderr=sink, env=bot_env()
        )

    def up() -> bool:
        if process.returncode is not None:
            raise AssertionError(f"the bot exited with {process.returncode}: {log.read_text()}")
        return RUNNING in log.read_text(errors="replace")

    try:
        await wait_for(up, 30.0, "the bot to start")
    except BaseException:
        process.kill()
        await process.wait()
        raise
    return process


async def test_a_second_run_on_the_same_database_exits_2_at_once(tmp_path: Path) -> None:
    database = tmp_path / "db.sqlite"
    config = write_config(tmp_path, database)
    first = await start_bot(config, tmp_path / "first.log")
    try:
        started = time.monotonic()
        second = await asyncio.to_thread(run_once, config)
        # at once: it does not wait for the lock (nor for SQLite's 10 s busy timeout); the bound
        # leaves room for starting Python on a loaded machine
        assert time.monotonic() - started < 10
        assert second.returncode == 2, second.stderr
        assert second.stderr.splitlines() == [
            f"digestbot: error: another digestbot (pid {first.pid}) holds this database ({database})"
        ]
        assert first.returncode is None  # the first one runs on undisturbed
    finally:
        first.kill()  # a crash: the lock file stays behind with a dead pid in it
        await first.wait()
    assert Path(f"{database}.lock").read_text() == f"{first.pid}\n"
    third = await start_bot(config, tmp_path / "third.log")
    third.terminate()
    assert await asyncio.wait_for(third.wait(), 10) == 0
    assert "Traceback" not in (tmp_path / "first.log").read_text(errors="replace")


def test_the_lock_is_exclusive_and_released(tmp_path: Path) -> None:
    database = tmp_path / "db.sqlite"
    held = ProcessLock(database)
    held.acquire()
    with pytest.raises(DatabaseLocked, match=rf"another digestbot \(pid {os.getpid()}\) holds"):
        ProcessLock(database).acquire()
    held.release()
    again = ProcessLock(database)
    again.acquire()
    again.release()


def test_a_stale_lock_file_of_a_dead_process_does_not_block(tmp_path: Path) -> None:
    database = tmp_path / "db.sqlite"
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    Path(f"{database}.lock").write_text(dead.stdout)
    lock = ProcessLock(database)
    lock.acquire()
    assert Path(f"{database}.lock").read_text() == f"{os.getpid()}\n"
    lock.release()


async def test_two_stores_opening_a_fresh_file_at_once_both_migrate_it(tmp_path: Path) -> None:
    """Both read schema version 0 while a third connection holds the write lock, then queue for it:
    the second to get it must see the first one's migration and not apply it again."""
    path = tmp_path / "fresh.db"
    with closing(sqlite3.connect(path, isolation_level=None)) as holder:
        holder.execute("PRAGMA journal_mode = WAL")
        holder.execute("BEGIN IMMEDIATE")
        opening = [asyncio.create_task(Store.open(path)) for _ in range(2)]
        await asyncio.sleep(0.5)  # both are now waiting for the write lock
        assert not any(task.done() for task in opening)
        holder.execute("ROLLBACK")
        results = await asyncio.gather(*opening, return_exceptions=True)
    stores = [result for result in results if isinstance(result, Store)]
    for store in stores:
        await store.record_incoming(incoming(make_digest()))
        await store.close()
    assert len(stores) == 2, results


def test_threads_opening_brand_new_files_at_once_all_succeed(tmp_path: Path) -> None:
    """No holder this time: the open as it happens, from creating the file to the last migration."""
    failures: list[BaseException] = []

    def open_and_close(path: Path, start: threading.Barrier) -> None:
        async def run() -> None:
            start.wait()
            store = await Store.open(path)
            await store.close()

        try:
            asyncio.run(run())
        except Exception as exc:
            failures.append(exc)

    for round_ in range(5):
        start = threading.Barrier(3)
        threads = [
            threading.Thread(target=open_and_close, args=(tmp_path / f"fresh{round_}.db", start))
            for _ in range(3)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    assert failures == []


def damage(path: Path) -> None:
    """A real database whose table pages are overwritten with garbage, as a bad disk would leave it."""
    with closing(sqlite3.connect(path)) as raw:
        raw.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
        raw.executemany("INSERT INTO notes (body) VALUES (?)", [("x" * 500,)] * 200)
        raw.commit()
        page_size = raw.execute("PRAGMA page_size").fetchone()[0]
    with path.open("r+b") as handle:
        handle.seek(3 * page_size)
        handle.write(b"\xde\xad\xbe\xef" * (page_size * 4 // 4))


async def test_a_damaged_database_is_refused_with_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "damaged.db"
    damage(path)
    refused = r"damaged\.db: the database is damaged \([^\n]+\); restore it from a backup"
    with pytest.raises(StoreError, match=refused):
        await Store.open(path)


@pytest.mark.parametrize("kind", ["damaged", "not a database"])
def test_run_on_a_bad_database_file_exits_2_with_one_line(tmp_path: Path, kind: str) -> None:
    database = tmp_path / "db.sqlite"
    if kind == "damaged":
        damage(database)
    else:
        database.write_text("these are my notes, not a database\n" * 100)
    result = run_once(write_config(tmp_path, database))
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert line.startswith(f"digestbot: error: {database}: the database is damaged (")
    assert line.endswith("restore it from a backup, or move it away to start with an empty database")
    if kind == "not a database":
        assert "(file is not a database)" in line
