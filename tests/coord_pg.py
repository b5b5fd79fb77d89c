"""A throwaway PostgreSQL for the coordination tests: a fresh database per test on one cluster.

The cluster is started once per session in a temp dir on a free port (as the `postgres` user when
running as root: PostgreSQL refuses root), or `DIGESTBOT_TEST_POSTGRES_URL` names an existing
server. Each test gets its own database with the coordination tables (011) applied. The lead
replaces this with the shared fixture (tests/pg_cluster.py) at merge.
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterator
from importlib.resources import files
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

INSTALL_HINT = (
    "PostgreSQL server binaries ({}) not found on PATH: install postgresql-15 (apt-get install postgresql-15)"
)
_numbers = itertools.count()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _as_postgres(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


def coordination_sql() -> str:
    return files("bot.store").joinpath("migrations/postgres/011_coordination.sql").read_text("utf-8")


@pytest.fixture(scope="session")
def coord_cluster_url() -> Iterator[str]:
    """The URL of a server's `postgres` database: the environment's, or a throwaway cluster's."""
    given = os.environ.get("DIGESTBOT_TEST_POSTGRES_URL")
    if given:
        yield given
        return
    missing = [name for name in ("initdb", "pg_ctl") if shutil.which(name) is None]
    if missing:
        pytest.fail(INSTALL_HINT.format(", ".join(missing)), pytrace=False)
    home = Path(tempfile.mkdtemp(prefix="coord-pg-"))
    data, port = home / "data", _free_port()
    if os.geteuid() == 0:
        shutil.chown(home, "postgres")
    subprocess.run(
        _as_postgres(["initdb", "-A", "trust", "-U", "postgres", "-D", str(data)]),
        check=True,
        capture_output=True,
    )
    options = f"-p {port} -k {home} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100"
    subprocess.run(
        _as_postgres(["pg_ctl", "-D", str(data), "-o", options, "-l", str(home / "log"), "-w", "start"]),
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            _as_postgres(["pg_ctl", "-D", str(data), "-m", "immediate", "stop"]), capture_output=True
        )
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
async def coord_postgres_url(coord_cluster_url: str) -> AsyncIterator[str]:
    """A new, empty database with the coordination tables; dropped after the test."""
    name = f"coord_{os.getpid()}_{next(_numbers)}"
    admin = await asyncpg.connect(coord_cluster_url)
    try:
        await admin.execute(f"CREATE DATABASE {name}")
    finally:
        await admin.close()
    parts = urlsplit(coord_cluster_url)
    url = urlunsplit(parts._replace(path=f"/{name}"))
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(coordination_sql())
    finally:
        await conn.close()
    yield url
    admin = await asyncpg.connect(coord_cluster_url)
    try:
        await admin.execute(f"DROP DATABASE {name} WITH (FORCE)")
    finally:
        await admin.close()
