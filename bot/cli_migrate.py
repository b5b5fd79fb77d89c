"""`digestbot migrate-store`: moving an install's SQLite file to a PostgreSQL database.

The bot must be stopped (the file's process lock is taken), so nothing it sends after the copy is
missing from the new database. The server's password never reaches the terminal: every message
names the database by its redacted URL.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.cli_common import EXIT_BAD_INPUT, HelpFormatter, error

CONNECT_TIMEOUT_S = 10.0  # a one-off command: a server that is not up is reported, not waited for


def cmd_migrate_store(args: argparse.Namespace) -> int:
    import asyncio

    from bot.net.pg_url import is_postgres_url, redact_url
    from bot.store import StoreError
    from bot.store.lock import ProcessLock
    from bot.store.transfer import TargetNotEmpty, migrate_store

    source = Path(args.source)
    shown = redact_url(args.target)
    if not is_postgres_url(args.target):
        error(f"--to {shown}: expected a postgresql:// URL")
        return EXIT_BAD_INPUT
    if is_postgres_url(args.source) or not source.is_file():
        error(f"--from {redact_url(args.source)}: no SQLite database file there")
        return EXIT_BAD_INPUT
    lock = ProcessLock(source)
    try:
        lock.acquire()  # a running bot would go on sending what the copy no longer sees
        counts = asyncio.run(
            migrate_store(
                source, args.target, into_nonempty=args.into_nonempty, connect_timeout=CONNECT_TIMEOUT_S
            )
        )
    except TargetNotEmpty:
        error(f"{shown}: the database is not empty (use --into-nonempty to copy into it anyway)")
        return EXIT_BAD_INPUT
    except StoreError as exc:
        error(redact_url(str(exc)))
        return EXIT_BAD_INPUT
    finally:
        lock.release()
    width = max(len(name) for name in counts)
    for name, count in counts.items():
        print(f"{name:<{width}}  {count:>10,}")
    print(f"digestbot: copied {source} to {shown}", file=sys.stderr)
    return 0


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    migrate = commands.add_parser(
        "migrate-store",
        formatter_class=HelpFormatter,
        help="copy a SQLite database into PostgreSQL (stop the bot first)",
        description="Copies every table of the SQLite file into the PostgreSQL database, keeping "
        "every id, in one transaction: all of it or nothing. Refuses a database that already holds "
        "data unless --into-nonempty; copying the same file again gives the same result. Prints the "
        "rows copied per table. Then set `database:` to the URL.",
    )
    migrate.add_argument("--from", dest="source", required=True, metavar="FILE", help="the SQLite database")
    migrate.add_argument(
        "--to", dest="target", required=True, metavar="URL", help="postgresql://user:password@host/db"
    )
    migrate.add_argument(
        "--into-nonempty",
        action="store_true",
        help="copy into a database holding data: rows with the same key take the file's values",
    )
    migrate.set_defaults(func=cmd_migrate_store)
