"""What every subcommand shares: finding and checking the config, and one-line errors on stderr.

The config's modules (pydantic, every platform's config model) are imported by the functions that
load it, so building the parser and `--version` stay light.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.config import Settings

EXIT_BAD_INPUT = 2


class HelpFormatter(argparse.HelpFormatter):
    """Wraps descriptions and epilogs without breaking the file paths in them at their hyphens."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        return textwrap.fill(
            " ".join(text.split()),
            width,
            initial_indent=indent,
            subsequent_indent=indent,
            break_on_hyphens=False,
            break_long_words=False,
        )


def load_config(explicit: str | None) -> tuple[Settings, list[str]]:
    """The settings the user meant and their warnings; with no file anywhere, the packaged
    defaults, whose relative paths are in the user's data folder."""
    from bot.config import load_checked, packaged_defaults
    from bot.defaults import config_path, user_data_dir

    path = config_path(explicit)
    if path is None:
        return packaged_defaults(user_data_dir()), []
    return load_checked(path)


def error(message: str, secrets: Iterable[str] = ()) -> None:
    """One line on stderr, scrubbed like a log line (an exception's text may quote a token)."""
    from bot.logs import redact

    print(f"digestbot: error: {redact(' '.join(message.split()), secrets)}", file=sys.stderr)


def warn(message: str) -> None:
    print(f"digestbot: warning: {message}", file=sys.stderr)


def settings_or_report(args: argparse.Namespace) -> Settings | None:
    """The validated settings, or None after printing one line per config problem; warnings
    (a secret written in the file) go to stderr without stopping anything.

    Their secrets are kept in `args` for main's last-resort error line.
    """
    from bot.config import ConfigError
    from bot.defaults import config_path

    try:
        settings, warnings = load_config(args.config)
    except ConfigError as exc:
        for problem in exc.problems:
            error(f"{exc.source}: {problem}")
        return None
    source = config_path(args.config)
    for warning in warnings:
        warn(f"{source}: {warning}")
    args.secrets = settings.secrets()
    return settings


def describe_source(explicit: str | None) -> str:
    from bot.defaults import config_path

    path = config_path(explicit)
    return str(path) if path is not None else "packaged defaults"
