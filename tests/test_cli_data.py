"""`digestbot backup`, `export` and `import` on real database files (in-process through
`bot.cli.main`; a real process where another process's lock is the point)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
from pathlib import Path

import pytest
import yaml
from app_helpers import example_categories
from cli_helpers import run_cli, run_cli_process

from bot.core.model import Filter
from bot.store.db import Store
from bot.store.lock import ProcessLock
from bot.store.subscriptions import NewSubscription


def config(folder: Path, database: str = "bot.db") -> Path:
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump({"database": database, "categories": example_categories()}))
    return path


async def subscribe(database: Path, *subs: NewSubscription) -> None:
    async with await Store.open(database) as store, store.transaction() as tx:
        await tx.subscriptions.insert_many(subs, store.clock.now())


def count(database: Path, table: str = "subscriptions") -> int:
    with sqlite3.connect(database) as conn:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def test_backup_while_another_connection_writes(tmp_path: Path) -> None:
    database = tmp_path / "bot.db"
    asyncio.run(subscribe(database))  # a migrated digestbot database, in WAL mode
    stop = threading.Event()
    written = [0]

    def writer() -> None:
        with sqlite3.connect(database, timeout=10) as conn:
            while not stop.is_set():
                conn.execute(
                    "INSERT INTO payloads (hash, body) VALUES (?, ?)", (f"h{written[0]}", "x" * 2000)
                )
                conn.commit()
                written[0] += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while written[0] < 200:  # the writer is well under way before the copy starts
            threading.Event().wait(0.01)
        result = run_cli("backup", str(tmp_path / "copy.db"), "--config", str(config(tmp_path)))
        during = written[0]
    finally:
        stop.set()
        thread.join()
    assert result.returncode == 0, result.stderr
    copy = tmp_path / "copy.db"
    with sqlite3.connect(copy) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        rows = conn.execute("SELECT count(*) FROM payloads").fetchone()[0]
    assert 200 <= rows <= during  # one consistent instant of a database that kept growing
    assert not (tmp_path / "copy.db-wal").exists() and not list(tmp_path.glob(".copy.db.*"))


def test_backup_refuses_to_overwrite_unless_forced_and_names_a_missing_database(tmp_path: Path) -> None:
    database = tmp_path / "bot.db"
    asyncio.run(subscribe(database, NewSubscription("telegram", "42", "private")))
    target = tmp_path / "copy.db"
    target.write_text("precious")
    cfg = str(config(tmp_path))
    result = run_cli("backup", str(target), "--config", cfg)
    assert result.returncode == 2 and "already exists" in result.stderr and "--force" in result.stderr
    assert target.read_text() == "precious"
    result = run_cli("backup", str(target), "--force", "--config", cfg)
    assert result.returncode == 0, result.stderr
    assert count(target) == 1
    missing = config(tmp_path / "empty" if (tmp_path / "empty").mkdir() is None else tmp_path)
    result = run_cli("backup", str(tmp_path / "other.db"), "--config", str(missing))
    assert (
        result.returncode == 2 and "no database there" in result.stderr and "Traceback" not in result.stderr
    )


ROBOTICS = frozenset({"robotics"})
SUBSCRIPTIONS = (
    NewSubscription(
        "telegram", "-1001", "supergroup", "7", "Forum", Filter(frozenset({"robotics"}), ("GPU",), ("ad",))
    ),
    NewSubscription("discord", "555", "guild_channel", schedule="at 08:00,20:00", timezone="Asia/Shanghai"),
    NewSubscription("console", "local", "console", language="en", quiet="22:00-07:00"),
)


def test_export_then_import_round_trips_and_importing_twice_is_importing_once(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    asyncio.run(subscribe(tmp_path / "a" / "bot.db", *SUBSCRIPTIONS))
    with sqlite3.connect(tmp_path / "a" / "bot.db") as conn:
        conn.execute(
            "UPDATE subscriptions SET status = 'paused', paused_reason = 'blocked' WHERE chat_id = '555'"
        )
        conn.execute(  # the reader options (/format, /previews, /silent, /pin) travel too
            "UPDATE subscriptions SET format = 'compact', previews = 1, silent = 1, pin = 1"
            " WHERE chat_id = '-1001'"
        )
    exported = run_cli("export", "--config", str(config(tmp_path / "a")))
    assert exported.returncode == 0, exported.stderr
    lines = [json.loads(line) for line in exported.stdout.splitlines()]
    assert [line["chat"] for line in lines] == ["-1001", "555", "local"]
    assert lines[1]["status"] == "paused" and lines[0]["include"] == ["GPU"]
    assert (lines[0]["format"], lines[0]["previews"], lines[0]["silent"], lines[0]["pin"]) == (
        "compact",
        True,
        True,
        True,
    )
    assert (lines[1]["format"], lines[1]["previews"], lines[1]["silent"], lines[1]["pin"]) == (
        "full",
        None,
        False,
        False,
    )
    dump = tmp_path / "subs.jsonl"
    dump.write_text(exported.stdout + exported.stdout)  # every line twice
    refused = run_cli("export", "-o", str(dump), "--config", str(config(tmp_path / "a")))
    assert refused.returncode == 2 and "already exists (use --force" in refused.stderr
    target = config(tmp_path / "b")
    for expected in (
        "imported 3 subscriptions, 3 already there",
        "imported 0 subscriptions, 6 already there",
    ):
        result = run_cli("import", str(dump), "--config", str(target))
        assert result.returncode == 0 and expected in result.stderr, result.stderr
    again = run_cli("export", "--config", str(target))
    assert again.stdout == exported.stdout


BAD_LINES = [
    '{"platform": "fax", "chat": "1"}',
    '{"platform": "telegram", "chat": "1", "categories": ["unicorns"]}',
    '{"platform": "telegram", "chat": "2", "schedule": "at 25:00"}',
    '{"platform": "telegram", "chat": "3", "timezone": "Mars/Olympus"}',
    '{"platform": "telegram", "chat": "4", "language": "fr"}',
    "{not json",
    '{"platform": "telegram", "chat": "5", "kind": "planet"}',
    '{"platform": "telegram", "chat": "6", "colour": "red"}',
    '{"platform": "telegram", "chat": "8", "format": "tiny"}',
]


def test_import_reports_every_bad_line_by_number_and_imports_nothing(tmp_path: Path) -> None:
    good = '{"platform": "telegram", "chat": "42", "categories": ["机器人"]}'
    long_line = json.dumps({"platform": "telegram", "chat": "7", "title": "x" * 70_000})
    source = tmp_path / "subs.jsonl"
    source.write_text("\n".join([good, *BAD_LINES, long_line, good]) + "\n")
    result = run_cli("import", str(source), "--config", str(config(tmp_path)))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    for number, word in enumerate(
        ("fax", "unicorns", "25", "Mars", "language", "line 7", "planet", "colour", "format"), 2
    ):
        assert any(f"line {number}:" in line and word in line for line in result.stderr.splitlines()), (
            word,
            result.stderr,
        )
    assert "line 11: longer than 65536 bytes" in result.stderr
    assert "10 bad lines; nothing was imported" in result.stderr
    assert count(tmp_path / "bot.db") == 0


def test_import_refuses_while_a_bot_holds_the_database(tmp_path: Path) -> None:
    source = tmp_path / "subs.jsonl"
    source.write_text('{"platform": "console", "chat": "local"}\n')
    lock = ProcessLock(tmp_path / "bot.db")
    lock.acquire()
    try:
        result = run_cli_process("import", str(source), "--config", str(config(tmp_path)))
    finally:
        lock.release()
    assert result.returncode == 2 and "holds this database" in result.stderr
    result = run_cli("import", "-", "--config", str(config(tmp_path)), stdin=source.read_text())
    assert result.returncode == 0 and "imported 1 subscriptions" in result.stderr


@pytest.mark.parametrize("command", ["export", "backup"])
def test_reading_commands_never_create_a_database(tmp_path: Path, command: str) -> None:
    args = [command, str(tmp_path / "copy.db")] if command == "backup" else [command]
    result = run_cli(*args, "--config", str(config(tmp_path)))
    assert result.returncode == 2 and "no database there" in result.stderr
    assert not (tmp_path / "bot.db").exists()


def test_on_postgres_backup_points_to_pg_dump_and_export_import_round_trip(
    tmp_path: Path, postgres_url: str
) -> None:
    cfg = str(config(tmp_path, database=postgres_url))
    result = run_cli("backup", str(tmp_path / "copy.db"), "--config", cfg)
    assert result.returncode == 2 and "pg_dump" in result.stderr and len(result.stderr.splitlines()) == 1
    assert not (tmp_path / "copy.db").exists()
    source = tmp_path / "subs.jsonl"
    source.write_text(
        '{"platform": "telegram", "chat": "42", "kind": "private", "categories": ["robotics"]}\n',
        encoding="utf-8",
    )
    for _ in range(2):
        result = run_cli("import", str(source), "--config", cfg)
        assert result.returncode == 0, result.stderr
    assert "1 already there" in result.stderr
    exported = run_cli("export", "--config", cfg)
    assert exported.returncode == 0 and [
        json.loads(line)["chat"] for line in exported.stdout.splitlines()
    ] == ["42"]
