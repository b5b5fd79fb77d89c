"""kill -9 while sends share their commits (group commit): only the in-flight window is in doubt.

The worker (tests/crash_worker.py, its send log flushed, not fsynced: a kill -9 cannot lose what
the kernel has) runs with many workers at a high rate, so every commit carries
several marks and sent records. Each kill lands once the ledger shows sends committed; right after
it, the rows left `sending` (the ones the next start marks `interrupted`) must be at most one per
worker, and across the kills and the final run no message may reach a chat twice.
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
CHATS = 250
CONCURRENCY = 48
KILL_AFTER_SENT = (80, 300)


def states(db: Path) -> dict[tuple[str, str], str]:
    """(chat, text hash) -> state, read as another process would (WAL: no lock on the writer)."""
    with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)) as raw:
        rows = raw.execute(
            "SELECT d.chat_id, d.state, p.body FROM deliveries d JOIN payloads p ON p.id = d.payload_id"
        ).fetchall()
    return {(chat, text_hash(json.loads(body)["text"])): state for chat, state, body in rows}


def sent_count(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)) as raw:
            return int(raw.execute("SELECT count(*) FROM deliveries WHERE state = 'sent'").fetchone()[0])
    except sqlite3.OperationalError:  # not created yet by the worker
        return 0


def test_kill_9_mid_group_commit_leaves_only_the_window_in_doubt(tmp_path: Path) -> None:
    db, log = tmp_path / "window.db", tmp_path / "sent.log"
    command = [sys.executable, str(WORKER), str(db), str(log), str(CHATS), str(CONCURRENCY), "flush"]
    for threshold in KILL_AFTER_SENT:
        worker = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 20
        while sent_count(db) < threshold and worker.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        worker.send_signal(signal.SIGKILL)
        worker.wait(5)
        assert worker.returncode == -signal.SIGKILL, worker.stderr.read().decode() if worker.stderr else ""
        in_doubt = [key for key, state in states(db).items() if state == "sending"]
        assert 0 < len(in_doubt) <= CONCURRENCY, f"{len(in_doubt)} rows left sending"
    final = subprocess.run(command, capture_output=True, timeout=60, check=False)
    assert final.returncode == 0, final.stderr.decode()

    ledger = states(db)
    assert len(ledger) == 2 * CHATS
    sends = Counter(tuple(line.split()) for line in log.read_text(encoding="utf-8").splitlines())
    assert max(sends.values()) == 1, "a message reached a chat twice"
    interrupted = [key for key, state in ledger.items() if state == "interrupted"]
    assert len(interrupted) <= CONCURRENCY * len(KILL_AFTER_SENT)
    assert all(state in ("sent", "interrupted") for state in ledger.values())
    assert all(sends[key] == 1 for key, state in ledger.items() if state == "sent")
