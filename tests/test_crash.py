"""kill -9 in the middle of a broadcast, restart, and check that no chat got a message twice.

The worker (tests/crash_worker.py) writes one fsynced line per send. After the restart finishes,
every (chat, part) must appear exactly once, except rows the ledger marks `interrupted` (their send
was in flight at the kill): those may appear once or not at all, never twice.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from contextlib import closing
from pathlib import Path

from crash_worker import LEASE_VARIABLE, text_hash
from db_reads import select_postgres

WORKER = Path(__file__).with_name("crash_worker.py")
SUBSCRIPTIONS = 500
KILL_AT_LINES = (250, 650)  # two kills: one in each part's wave
LEASE_S = 2.0  # the PostgreSQL workers' lease: a killed one's rows return this soon


def _lines(log: Path) -> list[str]:
    return log.read_text(encoding="utf-8").splitlines() if log.exists() else []


def _ledger(db: Path) -> dict[tuple[str, str], tuple[int, str]]:
    """(chat, text hash) -> (part, state) for every ledger row."""
    with closing(sqlite3.connect(db)) as raw:
        rows = raw.execute(
            "SELECT d.chat_id, d.part, d.state, p.body"
            " FROM deliveries d JOIN payloads p ON p.id = d.payload_id"
        ).fetchall()
    return {(chat, text_hash(json.loads(body)["text"])): (part, state) for chat, part, state, body in rows}


def _run_until_killed(command: list[str], log: Path, lines: int) -> None:
    """Start the worker and kill -9 it once the send log has `lines` lines."""
    worker = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 15
    while len(_lines(log)) < lines and worker.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    worker.send_signal(signal.SIGKILL)
    worker.wait(5)
    assert worker.returncode == -signal.SIGKILL, worker.stderr.read().decode() if worker.stderr else ""
    assert lines <= len(_lines(log)) < 2 * SUBSCRIPTIONS, "the kill must land mid-broadcast"


def test_kill_9_mid_broadcast_never_sends_twice(tmp_path: Path) -> None:
    db, log = tmp_path / "crash.db", tmp_path / "sent.log"
    command = [sys.executable, str(WORKER), str(db), str(log), str(SUBSCRIPTIONS)]
    for lines in KILL_AT_LINES:
        _run_until_killed(command, log, lines)
    final = subprocess.run(command, capture_output=True, timeout=60, check=False)
    assert final.returncode == 0, final.stderr.decode()

    ledger = _ledger(db)
    assert len(ledger) == 2 * SUBSCRIPTIONS
    assert {part for part, _ in ledger.values()} == {1, 2}
    counts = Counter(tuple(line.split()) for line in _lines(log))
    assert set(counts) <= set(ledger), "every logged send matches a ledger row"
    interrupted = {key for key, (_, state) in ledger.items() if state == "interrupted"}
    assert len(interrupted) <= 16 * len(KILL_AT_LINES), "only sends in flight at a kill (<= concurrency each)"
    for key, (_, state) in ledger.items():
        if key in interrupted:
            assert counts[key] <= 1, f"{key} was sent twice"
        else:
            assert state == "sent" and counts[key] == 1, f"{key}: state {state}, sent {counts[key]} times"


def _postgres_ledger(url: str) -> dict[tuple[str, str], tuple[int, str]]:
    """`_ledger` of a PostgreSQL database."""
    rows = select_postgres(
        url,
        "SELECT d.chat_id, d.part, d.state, p.body FROM deliveries d JOIN payloads p ON p.id = d.payload_id",
    )
    return {
        (row["chat_id"], text_hash(json.loads(row["body"])["text"])): (row["part"], row["state"])
        for row in rows
    }


def test_kill_9_of_one_of_two_processes_on_postgresql_never_sends_twice(
    postgres_url: str, tmp_path: Path
) -> None:
    """Two workers share the broadcast through one PostgreSQL outbox; one is killed mid-send. Its
    claimed rows come back when its (shortened) lease runs out, its sends in flight become
    `interrupted` (never resent), and the rest goes out exactly once, by the survivor or a restart."""
    log = tmp_path / "sent.log"
    command = [sys.executable, str(WORKER), postgres_url, str(log), str(SUBSCRIPTIONS), "16", "flush"]
    env = {**os.environ, LEASE_VARIABLE: str(LEASE_S)}
    first = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _wait_for_lines(log, 100, first)
    second = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait_for_lines(log, 400, second)
        first.send_signal(signal.SIGKILL)
        first.wait(5)
        assert first.returncode == -signal.SIGKILL, first.stderr.read().decode() if first.stderr else ""
        at_kill = len(_lines(log))
        assert at_kill < 2 * SUBSCRIPTIONS, "the kill must land mid-broadcast"
        assert second.wait(60) == 0, second.stderr.read().decode() if second.stderr else ""
        assert len(_lines(log)) > at_kill, "the survivor went on sending"
    finally:
        for worker in (first, second):
            if worker.poll() is None:
                worker.kill()
                worker.wait(5)
    time.sleep(LEASE_S)  # the survivor's drain may end before the dead one's leases do
    final = subprocess.run(command, env=env, capture_output=True, timeout=60, check=False)
    assert final.returncode == 0, final.stderr.decode()

    ledger = _postgres_ledger(postgres_url)
    assert len(ledger) == 2 * SUBSCRIPTIONS
    counts = Counter(tuple(line.split()) for line in _lines(log))
    assert set(counts) <= set(ledger), "every logged send matches a ledger row"
    interrupted = {key for key, (_, state) in ledger.items() if state == "interrupted"}
    assert len(interrupted) <= 16, "only the killed worker's sends in flight (<= its concurrency)"
    for key, (_, state) in ledger.items():
        if key in interrupted:
            assert counts[key] <= 1, f"{key} was sent twice"
        else:
            assert state == "sent" and counts[key] == 1, f"{key}: state {state}, sent {counts[key]} times"


def _wait_for_lines(log: Path, lines: int, worker: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while len(_lines(log)) < lines and worker.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    assert len(_lines(log)) >= lines, worker.stderr.read().decode() if worker.poll() and worker.stderr else ""
