"""`digestbot search WORDS... [--limit N] [--json]`: the archive as /search sees it, every category.

It reads the database (beside a running bot, through WAL) and prints the newest hits first, one per
line (`date  digest #item  title  link`), or one JSON array with `--json`. A bad query or limit is
one line on stderr and exit 2, like every other bad input of the command line.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.cli_common import EXIT_BAD_INPUT, HelpFormatter, error, settings_or_report
from bot.core.search_query import MAX_PAGE_SIZE, RECENT_DAYS, Hit, Query, QueryError, parse_query

if TYPE_CHECKING:
    from bot.config import Settings


def cmd_search(args: argparse.Namespace) -> int:
    settings = settings_or_report(args)
    if settings is None:
        return EXIT_BAD_INPUT
    try:
        query = parse_query(" ".join(args.words))
    except QueryError as exc:
        error(f"search: {exc}")
        return EXIT_BAD_INPUT
    if isinstance(settings.database, Path) and not settings.database.is_file():
        error(f"{settings.database}: no database there")
        return EXIT_BAD_INPUT
    import asyncio  # imported here, as the store: other subcommands start without an event loop

    from bot.store import StoreError

    try:
        hits, recent_only = asyncio.run(_search(settings, query, args.limit))
    except StoreError as exc:
        error(str(exc))
        return EXIT_BAD_INPUT
    if recent_only:
        print(f"digestbot: words under 3 characters search only the last {RECENT_DAYS} days", file=sys.stderr)
    from bot.commands.reports import when  # imported here: other subcommands start without it

    if args.json:
        print(json.dumps([_as_json(hit) for hit in hits], ensure_ascii=False, indent=1))
    elif not hits:
        print(f"digestbot: nothing found for {query.text!r}", file=sys.stderr)
    for hit in [] if args.json else hits:
        title = " ".join(hit.title.split())
        date = when(hit.published, settings.timezone)
        print(f"{date}  {hit.digest_id} #{hit.number}  {title}  {hit.url or ''}")
    return 0


async def _search(settings: Settings, query: Query, limit: int) -> tuple[tuple[Hit, ...], bool]:
    from bot.store import Store

    async with await Store.open(settings.database) as store:
        page = await store.search(query, limit=limit)
    return page.hits, page.recent_only


def _as_json(hit: Hit) -> dict[str, Any]:
    return {
        "digest": hit.digest_id,
        "item": hit.number,
        "date": hit.published.isoformat(),
        "title": hit.title,
        "url": hit.url,
    }


def _limit(text: str) -> int:
    """--limit's value: a whole number of hits from 1 to MAX_PAGE_SIZE."""
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_PAGE_SIZE:
        raise argparse.ArgumentTypeError(f"expected a whole number from 1 to {MAX_PAGE_SIZE}, got {text!r}")
    return int(text)


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    search = commands.add_parser(
        "search",
        help="search the stored digests' items, newest first",
        description="Search every stored digest's items (their newest version) for items containing all "
        "the words, newest first; Chinese needs no spaces. Words under 3 characters search only the last "
        f"{RECENT_DAYS} days. Reads the database; the bot may keep running.",
        formatter_class=HelpFormatter,
    )
    search.add_argument("words", nargs="+", help="words every hit contains (at most 200 characters)")
    search.add_argument(
        "--limit", type=_limit, default=10, help=f"how many hits to show, 1-{MAX_PAGE_SIZE} (default 10)"
    )
    search.add_argument("--json", action="store_true", help="print one JSON array of the hits")
    search.add_argument("--config", help="YAML config file (default: see `digestbot --help`)")
    search.set_defaults(func=cmd_search)
