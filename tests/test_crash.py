"""kill -9 in the middle of a broadcast, restart, and check that no chat got a message twice.

The worker (tests/crash_worker.py) writes one fsynced line per send. After the restart finishes,
every (chat, part) must appear exactly once, except rows the ledger marks `interrupted` (their send
was in flight at the kill): those may appear once or not at all, never twice.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from contextlib import closing
from pathlib import Path

from crash_worker import text_hash

WORKER = Path(__file__).with_name("crash_worker.py")
SUBSCRIPTIONS = 500
KILL_AT_LINES = (250, 650)  # two kills: one in each part's wave


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
