"""The PostgreSQL schema: the packaged migrations/postgres/NNN_name.sql files and applying them.

A new database starts at `010_schema.sql` (the whole schema SQLite reaches with 001..010); each
later migration is added to both folders under the same number. Processes starting together
against one empty database take a transaction-scoped advisory lock first, so exactly one of them
migrates and the others find the work done.
"""

from __future__ import annotations

import logging

import asyncpg

from bot.store.errors import StoreError
from bot.store.postgres import PostgresConnection
from bot.store.schema import Migration, load_migrations

log = logging.getLogger(__name__)

FIRST_VERSION = 10
MIGRATION_TIMEOUT = 3600.0
# pg_advisory_xact_lock key: any constant no other program on the server uses ("digestbot").
MIGRATION_LOCK = 0x6469676573746274
VERSION_TABLE = "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"


def load_postgres_migrations() -> list[Migration]:
    """The packaged PostgreSQL migrations in order: FIRST_VERSION, then one more each, no gaps."""
    return load_migrations("postgres", FIRST_VERSION)


async def migrate_postgres(conn: PostgresConnection, label: str) -> None:
    """Apply every migration newer than the database's schema_version, all in one transaction.

    `label` names the database in messages (a redacted URL). Each file runs as one script (the
    simple query protocol takes several statements, and plpgsql bodies need no splitting).
    """
    migrations = load_postgres_migrations()
    latest = migrations[-1].version
    raw = conn.raw
    await conn.begin(write=True)
    try:
        # Waits for another process's migration, and a migration may rebuild a large table: not
        # bounded by the connection's per-statement timeout.
        await raw.execute(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})", timeout=MIGRATION_TIMEOUT)
        await raw.execute(VERSION_TABLE)
        current = int(await raw.fetchval("SELECT coalesce(max(version), 0) FROM schema_version"))
        if current > latest:
            raise StoreError(f"{label}: schema version {current} is newer than this program knows ({latest})")
        for migration in (m for m in migrations if m.version > current):
            try:
                await raw.execute(migration.sql, timeout=MIGRATION_TIMEOUT)
            except asyncpg.PostgresError as exc:
                why = " ".join(str(exc).split())
                raise StoreError(f"{label}: migration postgres/{migration.name} failed: {why}") from exc
        if current < latest:
            await raw.execute("DELETE FROM schema_version")
            await raw.execute(f"INSERT INTO schema_version (version) VALUES ({latest})")
    except BaseException:
        await conn.rollback()
        raise
    await conn.commit()
    if current < latest:
        log.info("database %s migrated from schema %d to %d", label, current, latest)
