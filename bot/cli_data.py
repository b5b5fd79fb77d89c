"""`digestbot backup`, `export` and `import`: the database's data out and in, beside a running bot.

`backup` and `export` only read (WAL lets them run while the bot writes); `import` writes in one
transaction and takes the database's process lock, so it never runs beside a bot on the same file.
A PostgreSQL database is exported and imported the same way; its backups are pg_dump's job.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING

from bot.cli_common import EXIT_BAD_INPUT, HelpFormatter, error, settings_or_report

if TYPE_CHECKING:  # the store and asyncio are imported by the commands that use them
    from bot.config import Settings
    from bot.store.export import ImportCounts


def cmd_backup(args: argparse.Namespace) -> int:
    from bot.store import StoreError
    from bot.store.backup import backup_database

    settings = settings_or_report(args)
    if settings is None:
        return EXIT_BAD_INPUT
    if _on_server(settings):
        error("backup copies a SQLite file; back up a PostgreSQL database with pg_dump")
        return EXIT_BAD_INPUT
    try:
        size = backup_database(Path(settings.database), Path(args.path), force=args.force)
    except StoreError as exc:
        error(str(exc))
        return EXIT_BAD_INPUT
    print(f"{settings.database} -> {args.path} ({size:,} bytes)")
    return 0


def _on_server(settings: Settings) -> bool:
    """Whether the database is a PostgreSQL server rather than a SQLite file."""
    from bot.net.pg_url import is_postgres_url

    return is_postgres_url(str(settings.database))


def cmd_export(args: argparse.Namespace) -> int:
    import asyncio

    from bot.store import StoreError

    settings = settings_or_report(args)
    if settings is None:
        return EXIT_BAD_INPUT
    if not _on_server(settings) and not Path(settings.database).is_file():
        error(f"{settings.database}: no database there")
        return EXIT_BAD_INPUT
    try:
        with _output(args.output, args.force) as out:
            count = asyncio.run(_export(settings, out))
    except FileExistsError:
        error(f"{args.output}: already exists (use --force to replace it)")
        return EXIT_BAD_INPUT
    except OSError as exc:
        error(f"{args.output or 'stdout'}: cannot write: {exc.strerror}")
        return EXIT_BAD_INPUT
    except StoreError as exc:
        error(str(exc))
        return EXIT_BAD_INPUT
    print(f"digestbot: exported {count} subscriptions", file=sys.stderr)
    return 0


async def _export(settings: Settings, out: IO[str]) -> int:
    from bot.store import Store
    from bot.subscription_lines import to_line

    count = 0
    async with await Store.open(settings.database) as store:
        async for sub in store.export_subscriptions():
            out.write(to_line(sub) + "\n")
            count += 1
    return count


@contextlib.contextmanager
def _output(path: str | None, force: bool) -> Iterator[IO[str]]:
    if path is None or path == "-":
        yield sys.stdout
        return
    with open(path, "w" if force else "x", encoding="utf-8") as handle:
        yield handle


def cmd_import(args: argparse.Namespace) -> int:
    import asyncio

    from bot.store import StoreError
    from bot.store.lock import ProcessLock
    from bot.subscription_lines import BadLines

    settings = settings_or_report(args)
    if settings is None:
        return EXIT_BAD_INPUT
    lock = ProcessLock(settings.database)
    try:
        if not _on_server(settings):  # PostgreSQL locks rows, not the database: the bot may run
            lock.acquire()  # a running bot on this file would be blocked by the long transaction
        with _input(args.path) as stream:
            counts = asyncio.run(_import(settings, stream))
    except BadLines as exc:
        for problem in exc.problems:
            error(f"{args.path}: {problem}")
        shown = f" (the first {len(exc.problems)} problems shown)" if exc.truncated else ""
        error(f"{args.path}: {exc.count} bad lines{shown}; nothing was imported")
        return EXIT_BAD_INPUT
    except OSError as exc:
        error(f"{args.path}: cannot read: {exc.strerror}")
        return EXIT_BAD_INPUT
    except StoreError as exc:
        error(str(exc))
        return EXIT_BAD_INPUT
    finally:
        lock.release()
    already = f"{counts.present} already there (left unchanged)"
    print(f"digestbot: imported {counts.created} subscriptions, {already}", file=sys.stderr)
    return 0


async def _import(settings: Settings, stream: IO[bytes]) -> ImportCounts:
    from bot.store import Store
    from bot.subscription_lines import parse_lines

    async with await Store.open(settings.database) as store:
        return await store.import_subscriptions(parse_lines(stream, settings.vocabulary()))


@contextlib.contextmanager
def _input(path: str) -> Iterator[IO[bytes]]:
    if path == "-":
        yield sys.stdin.buffer
        return
    with open(path, "rb") as handle:
        yield handle


def add_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    backup = commands.add_parser(
        "backup",
        formatter_class=HelpFormatter,
        help="copy the live database to PATH (safe while the bot runs)",
        description="A consistent copy of the config's database with SQLite's online backup API; "
        "the bot may keep running (WAL mode). The copy is checked before it takes PATH's name.",
    )
    backup.add_argument("path", metavar="PATH", help="the copy's file name")
    backup.add_argument("--force", action="store_true", help="replace PATH if it exists")
    backup.add_argument("--config", help="YAML config file (for the database path)")
    backup.set_defaults(func=cmd_backup)

    export = commands.add_parser(
        "export",
        formatter_class=HelpFormatter,
        help="write every subscription as JSON lines",
        description="Every subscription (any status) as one JSON object per line, to stdout or --output; "
        "safe while the bot runs.",
    )
    export.add_argument("--output", "-o", metavar="FILE", help="write to FILE instead of stdout")
    export.add_argument("--force", action="store_true", help="replace FILE if it exists")
    export.add_argument("--config", help="YAML config file (for the database path)")
    export.set_defaults(func=cmd_export)

    load = commands.add_parser(
        "import",
        formatter_class=HelpFormatter,
        help="add subscriptions from JSON lines (as `export` writes them)",
        description="Checks every line (platform, categories, schedule, time zone, language...) and "
        "reports each bad one with its number; imports all lines in one transaction or none. A chat "
        "already subscribed is left unchanged, so importing twice is importing once. Stop the bot first.",
    )
    load.add_argument("path", metavar="FILE", help="JSON lines file, or - for stdin")
    load.add_argument("--config", help="YAML config file (for the database path and categories)")
    load.set_defaults(func=cmd_import)
