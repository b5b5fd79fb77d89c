"""Command line: `run`, `preview`, `check-config`, `backup`, `export`, `import` and `search`.

Errors are one line on stderr, never a traceback. Each subcommand imports what it needs when it
runs (pydantic, the platforms' renderers, the store, asyncio...), so `--version`, `--help` and
`preview` start in a fraction of a second; tests/test_cli_startup.py holds it to that.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import bot
from bot import cli_data, cli_migrate, cli_preview, cli_search
from bot.cli_common import EXIT_BAD_INPUT, HelpFormatter, describe_source, error, settings_or_report
from bot.core import collector

if TYPE_CHECKING:
    from bot.config import Settings

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)")


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose epilog, when asked for with `config_epilog=True`, is written only when
    help is printed: it reads the packaged config, which no other use of the parser needs."""

    def __init__(self, *args: Any, config_epilog: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.config_epilog = config_epilog

    def format_help(self) -> str:
        if self.config_epilog and self.epilog is None:
            self.epilog = _config_help()
        return super().format_help()


def cmd_check_config(args: argparse.Namespace) -> int:
    settings = settings_or_report(args)
    if settings is None:
        return EXIT_BAD_INPUT
    platforms = [spec.name for spec in settings.enabled_platforms()]
    print(
        f"{describe_source(args.config)}: OK ({len(settings.sources)} sources, "
        f"{len(settings.vocabulary())} categories, {len(settings.broadcasts)} broadcasts, "
        f"platforms: {', '.join(platforms)})"
    )
    for line in _locations(settings):
        print(line)
    return 0


def _locations(settings: Settings) -> list[str]:
    """Where the bot keeps its files, resolved, saying which do not exist yet."""
    from bot.config import DirectorySource
    from bot.net.pg_url import redact_url

    def where(path: Path) -> str:
        return f"{path.absolute()}{'' if path.exists() else ' (not there yet: created at the first run)'}"

    database = settings.database  # a PostgreSQL URL is shown as given, without its password
    lines = [f"database: {redact_url(database) if isinstance(database, str) else where(database)}"]
    lines += [
        f"digests ({source.name}): {where(source.path)}"
        for source in settings.sources
        if isinstance(source, DirectorySource)
    ]
    return lines


def cmd_run(args: argparse.Namespace) -> int:
    settings = settings_or_report(args)
    if settings is None:
        return EXIT_BAD_INPUT
    from bot.app import run_app
    from bot.defaults import config_path, seed_samples
    from bot.store import StoreError

    try:
        if config_path(args.config) is None:  # the packaged defaults keep their files in the data folder
            Path(settings.database).parent.mkdir(parents=True, exist_ok=True)
            for folder in seed_samples(settings):
                print(f"digestbot: created {folder} with the sample digest", file=sys.stderr)
        return run_app(settings)
    except StoreError as exc:  # another process holds the database, or it is damaged or unusable
        error(str(exc))
        return EXIT_BAD_INPUT


def _environment_keys() -> list[str]:
    """`$VAR (key)` for each environment variable the packaged config reads: tokens, paths."""
    from bot.config import read_yaml

    data = read_yaml(Path(__file__).with_name("config.example.yaml"))
    found: list[str] = []

    def walk(value: object, key: str) -> None:
        if isinstance(value, dict):
            for name, item in value.items():
                walk(item, f"{key}.{name}" if key else str(name))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, f"{key}.{index}")
        elif isinstance(value, str):
            found.extend(f"${name} ({key})" for name in _ENV_REF.findall(value))

    walk(data, "")
    return found


def _config_help() -> str:
    from bot.defaults import search_order

    variables = ", ".join(_environment_keys())
    return (
        f"Config search order: {search_order()}. Relative paths in a config are relative to its folder. "
        f"Tokens are read from the environment through ${{VAR}} in the config, never written in it; "
        f"the packaged config reads {variables}. A platform whose token is empty is off; with none on, "
        "`run` starts the console chat."
    )


def build_parser() -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = Parser(
        prog="digestbot",
        description="Pushes news digests to chats, each chat seeing only the categories it asked for.",
        config_epilog=True,
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"digestbot {bot.__version__}")
    parser.set_defaults(secrets=[])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser(
        "run",
        help="run the bot (sources, scheduler, delivery, platforms)",
        description="Run the bot until SIGTERM or Ctrl-C: sources, scheduler, delivery and every "
        "platform whose token is set.",
        config_epilog=True,
        formatter_class=HelpFormatter,
    )
    run.add_argument("--config", help="YAML config file (default: see the search order below)")
    run.set_defaults(func=cmd_run)

    cli_preview.add_parser(commands)

    check = commands.add_parser(
        "check-config",
        help="validate a config, list every problem, show where the files go",
        description="Validate the config and print every problem at once (exit 2), or OK and where the "
        "database and digest folders are. A token written in the file is a warning (exit 0).",
        config_epilog=True,
        formatter_class=HelpFormatter,
    )
    check.add_argument("--config", help="YAML config file (default: see the search order below)")
    check.set_defaults(func=cmd_check_config)

    cli_data.add_parsers(commands)
    cli_migrate.add_parser(commands)
    cli_search.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    with collector.paused():  # `--platform`'s check imports the registry: modules, config models
        args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # output piped into `head` and closed: not an error worth a message
        sys.stderr.close()
        return 141
    except Exception as exc:  # the last line of defence: one readable line instead of a traceback
        error(f"unexpected {type(exc).__name__}: {exc}", args.secrets)
        return 1
