"""The schema: the packaged `NNN_name.sql` migrations and applying them to a connection."""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass
from importlib.resources import files

from bot.store.connection import Connection
from bot.store.errors import StoreError

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def load_migrations(dialect: str = "", first: int = 1) -> list[Migration]:
    """The packaged `NNN_name.sql` files of `migrations/<dialect>` in order; numbering must be
    first, first + 1, ... without gaps (a database is migrated past every number below its
    version, so a late-filled gap would never run)."""
    folder = files("bot.store").joinpath("migrations", *([dialect] if dialect else []))
    shown = f"{dialect}/" if dialect else ""
    found: list[Migration] = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            number, _, _ = entry.name.partition("_")
            if not number.isdigit():
                raise StoreError(
                    f"migration {shown}{entry.name}: name must start with a number, e.g. 002_x.sql"
                )
            found.append(Migration(int(number), entry.name, entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    for expected, migration in enumerate(found, start=first):
        if migration.version != expected:
            raise StoreError(f"migration {shown}{migration.name}: expected number {expected:03d}")
    return found


def split_statements(sql: str) -> list[str]:
    """Complete SQL statements of a script, split where sqlite3 itself says a statement ends."""
    statements: list[str] = []
    current = ""
    for line in sql.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            if current.strip():
                statements.append(current.strip())
            current = ""
    leftover = "\n".join(line for line in current.splitlines() if not line.strip().startswith("--"))
    if leftover.strip():
        raise StoreError(f"unterminated SQL statement: {current.strip()[:80]!r}")
    return statements


async def migrate(conn: Connection, path: str) -> None:
    """Apply every migration newer than PRAGMA user_version, all in one transaction.

    The version is read again after BEGIN IMMEDIATE: another process opening the same fresh file
    at the same moment may have migrated it while this one waited for the write lock.
    """
    migrations = load_migrations()
    latest = migrations[-1].version if migrations else 0
    current = await _schema_version(conn)
    if current >= latest:
        _check_not_newer(current, latest, path)
        return
    await conn.begin(write=True)
    try:
        current = await _schema_version(conn)
        _check_not_newer(current, latest, path)
        for migration in (m for m in migrations if m.version > current):
            for statement in split_statements(migration.sql):
                try:
                    await conn.execute(statement)
                except sqlite3.Error as exc:
                    raise StoreError(f"{path}: migration {migration.name} failed: {exc}") from exc
        await conn.execute(f"PRAGMA user_version = {latest}")
    except BaseException:
        await conn.rollback()
        raise
    await conn.commit()
    if current < latest:
        log.info("database %s migrated from schema %d to %d", path, current, latest)


async def _schema_version(conn: Connection) -> int:
    rows = await conn.fetchall("PRAGMA user_version")
    return int(next(iter(rows))[0])


def _check_not_newer(current: int, latest: int, path: str) -> None:
    if current > latest:
        raise StoreError(f"{path}: schema version {current} is newer than this program knows ({latest})")
