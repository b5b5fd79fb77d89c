"""PostgreSQL going away: at start-up (`run` gives up after database_connect_timeout, exit 2, one
line, no password) and mid-run (the lost connection is reopened; nothing written is lost)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from app_helpers import ROOT, config_data, example_categories
from pg_cluster import PostgresServer

from bot.store import pg_connect
from bot.store.db import Store, StoreUnavailable

PASSWORD = "s3cret-Pa55word"
READER = {"language": "en", "timezone": "UTC"}


def _closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_run_gives_up_on_an_unreachable_server_with_exit_2_and_no_password(tmp_path: Path) -> None:
    data = config_data(tmp_path, categories=example_categories())
    data["database"] = f"postgresql://bot:{PASSWORD}@127.0.0.1:{_closed_port()}/digests"
    data["database_connect_timeout"] = 1.5
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run", "--config", str(config)],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert PASSWORD not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr
    unreachable = [line for line in result.stderr.splitlines() if "unreachable" in line]
    assert len(unreachable) == 2, result.stderr  # the retrying line, then the giving-up line
    assert "postgresql://bot:***@127.0.0.1" in unreachable[-1]


async def test_a_connection_lost_mid_run_is_reopened_and_nothing_is_lost(
    postgres_url: str, postgres_server: PostgresServer
) -> None:
    async with await Store.open(postgres_url) as store:
        first, _ = await store.subscribe(
            "telegram", "100", None, kind="private", title="A", created_by="u1", **READER
        )
        pid = await store_backend_pid(store)
        postgres_server.admin.execute(f"SELECT pg_terminate_backend({pid})")
        with pytest.raises(StoreUnavailable) as failed:
            await store.get_subscription_by_id(first.id)
        assert PASSWORD not in str(failed.value)
        assert await store.get_subscription_by_id(first.id) == first  # the next operation reconnects
        second, created = await store.subscribe(
            "telegram", "200", None, kind="private", title="B", created_by="u2", **READER
        )
        assert created and second.id != first.id
        assert await store_backend_pid(store) != pid


async def store_backend_pid(store: Store) -> int:
    """The server process behind the store's connection (the one a DBA would terminate)."""
    async with store.statement(write=False) as tx:
        row = await tx.conn.fetchone("SELECT pg_backend_pid()")
    assert row is not None
    return int(row[0])


async def test_a_server_that_stops_answering_fails_the_operation_not_the_bot(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No answer within the command timeout counts as a lost connection: that operation fails
    (StoreUnavailable, so its loop backs off) and the next one runs on a new connection."""
    monkeypatch.setattr(pg_connect, "COMMAND_TIMEOUT", 0.5)
    async with await Store.open(postgres_url) as store:
        started = time.monotonic()
        with pytest.raises(StoreUnavailable):
            async with store.statement(write=False) as tx:
                await tx.conn.fetchall("SELECT pg_sleep(30)")  # a backend that hangs
        assert time.monotonic() - started < 5
        sub, created = await store.subscribe(
            "telegram", "300", None, kind="private", title="C", created_by="u3", **READER
        )
        assert created and await store.get_subscription_by_id(sub.id) == sub
