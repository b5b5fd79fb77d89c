"""A PostgreSQL server for the tests, and a fresh database per test cloned from a migrated template.

`postgres_server` (session) is the server of DIGESTBOT_TEST_POSTGRES_URL when set (a superuser's
URL), else a throwaway cluster in a temporary folder on a free 127.0.0.1 port, run as the
`postgres` system user when the tests run as root (initdb refuses root), with durability off
(nothing here must survive a crash). A missing PostgreSQL fails the run: skipped tests would hide
that the PostgreSQL store is untested. `postgres_url` (per test) is a new database made with
CREATE DATABASE ... TEMPLATE from a database migrated once, so a test starts at the current schema
without paying for the migration. `processes` opens several stores ("processes") on that database.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from db_reads import remember

from bot.core.clock import Clock
from bot.net.pg_url import redact_url
from bot.store.db import Store
from bot.store.pg_schema import migrate_postgres
from bot.store.postgres import PostgresConnection

URL_VARIABLE = "DIGESTBOT_TEST_POSTGRES_URL"
SYSTEM_USER = "postgres"
INSTALL_HINT = (
    "PostgreSQL 15 is needed for the PostgreSQL store tests: install it (apt-get install postgresql-15;"
    " initdb and pg_ctl are looked for on PATH, then in /usr/lib/postgresql/*/bin) or set"
    " DIGESTBOT_TEST_POSTGRES_URL to a superuser's URL"
)
FAST_SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
    "listen_addresses": "'127.0.0.1'",
}
T = TypeVar("T")
_names = itertools.count(1)


class Admin:
    """One superuser connection for the session, on an event loop of its own in a thread: sync
    fixtures of any scope use it whatever loop (if any) the test runs on, without connecting (and
    authenticating) twice per test."""

    def __init__(self, url: str) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="postgres-admin", daemon=True)
        self._thread.start()
        try:
            self._conn: asyncpg.Connection = self.call(asyncpg.connect(url))
        except BaseException:
            self._stop()
            raise

    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def execute(self, *statements: str) -> None:
        for statement in statements:
            self.call(self._conn.execute(statement))

    def close(self) -> None:
        try:
            self.call(self._conn.close())
        finally:
            self._stop()

    def _stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()


@dataclass(frozen=True)
class PostgresServer:
    """A running server: `url` logs in as a superuser to its `postgres` database."""

    url: str
    template: str  # a database migrated to the current schema, to clone
    admin: Admin

    def database_url(self, name: str) -> str:
        """`url` pointing at database `name` instead."""
        return with_database(self.url, name)


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


async def _migrate(url: str) -> None:
    conn = PostgresConnection(await asyncpg.connect(url))
    try:
        await migrate_postgres(conn, "test template")
    finally:
        await conn.close()


def _binary(name: str) -> str:
    # Debian's packages keep the server binaries off PATH, one folder per major version: newest first.
    versions = Path("/usr/lib/postgresql").glob(f"*/bin/{name}")
    packaged = sorted(versions, key=lambda p: p.parts[-3].zfill(4), reverse=True)
    found = shutil.which(name) or (str(packaged[0]) if packaged else None)
    if found is None:
        pytest.fail(f"{name} not found. {INSTALL_HINT}", pytrace=False)
    return found


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Cluster:
    """initdb + pg_ctl in a temporary folder; `stop` removes every trace."""

    def __init__(self) -> None:
        self.as_user: list[str] = []
        owner = None
        if os.geteuid() == 0:  # initdb and postgres refuse to run as root
            try:
                owner = pwd.getpwnam(SYSTEM_USER)
            except KeyError:
                missing = f"no {SYSTEM_USER!r} system user to run PostgreSQL as"
                pytest.fail(f"{missing}. {INSTALL_HINT}", pytrace=False)
            self.as_user = ["runuser", "-u", SYSTEM_USER, "--"]
        self.folder = Path(tempfile.mkdtemp(prefix="digestbot-pg-"))
        if owner is not None:
            os.chown(self.folder, owner.pw_uid, owner.pw_gid)
        self.data = self.folder / "data"
        self.log = self.folder / "server.log"
        self.password = secrets.token_hex(12)
        self.port = _free_port()
        self.started = False

    def _run(self, *command: str) -> None:
        done = subprocess.run([*self.as_user, *command], capture_output=True, text=True, check=False)
        if done.returncode:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            pytest.fail(f"{' '.join(command[:2])} failed: {done.stderr.strip()}\n{log}", pytrace=False)

    def start(self) -> str:
        pwfile = self.folder / "pw"
        pwfile.write_text(self.password)
        if self.as_user:
            shutil.chown(pwfile, SYSTEM_USER)
        self._run(
            _binary("initdb"), "-D", str(self.data), "-U", SYSTEM_USER, f"--pwfile={pwfile}",
            "-E", "UTF8", "--locale=C.UTF-8", "--auth-local=trust", "--auth-host=scram-sha-256",
        )  # fmt: skip
        pwfile.unlink()
        settings = "".join(f"{key} = {value}\n" for key, value in FAST_SETTINGS.items())
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(f"{settings}port = {self.port}\nunix_socket_directories = '{self.folder}'\n")
        self._run(_binary("pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "start")
        self.started = True
        return f"postgresql://{SYSTEM_USER}:{self.password}@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        try:
            if self.started:
                self._run(_binary("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


def _serve(url: str) -> Iterator[PostgresServer]:
    """The server at `url` with a migrated template database for the session."""
    try:
        admin = Admin(url)
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.fail(f"PostgreSQL for the tests at {redact_url(url)}: {exc}", pytrace=False)
    try:
        server = PostgresServer(url, f"digestbot_template_{os.getpid()}", admin)
        admin.execute(f"DROP DATABASE IF EXISTS {server.template}", f"CREATE DATABASE {server.template}")
        admin.call(_migrate(server.database_url(server.template)))
        yield server
        admin.execute(f"DROP DATABASE IF EXISTS {server.template} WITH (FORCE)")
    finally:
        admin.close()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    url = os.environ.get(URL_VARIABLE)
    if url:
        yield from _serve(url)
        return
    cluster = Cluster()
    try:
        yield from _serve(cluster.start())
    finally:
        cluster.stop()


def _own_database(server: PostgresServer, template: str) -> Iterator[str]:
    name = f"t{os.getpid()}_{next(_names)}"
    server.admin.execute(f"CREATE DATABASE {name} TEMPLATE {template}")
    yield server.database_url(name)
    server.admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A database of this test's own at the current schema, dropped after it."""
    yield from _own_database(postgres_server, postgres_server.template)


@pytest.fixture
def empty_postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A database of this test's own with no schema at all (for migration tests), dropped after it."""
    yield from _own_database(postgres_server, "template0")


Opener = Callable[[], Awaitable[Store]]


@pytest.fixture
async def processes(postgres_url: str, clock: Clock) -> AsyncIterator[Opener]:
    """Opens another store ("process") on the test's database, all on the test's clock; all are
    closed at the end."""
    opened: list[Store] = []

    async def open_one() -> Store:
        store = await Store.open(postgres_url, clock=clock)
        remember(store, postgres_url)
        opened.append(store)
        return store

    yield open_one
    for store in opened:
        await store.close()
