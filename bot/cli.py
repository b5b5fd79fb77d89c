"""Command line: `run`, `preview` and `check-config`. Errors are one line on stderr, never a traceback."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from bot.commands.args import resolve_categories
from bot.config import ConfigError, Settings, load_settings, packaged_defaults
from bot.core.classify import classify
from bot.core.errors import DigestError
from bot.core.model import Filter
from bot.core.parse import load_digest
from bot.core.schedule import parse_timezone
from bot.core.select import select
from bot.logs import redact
from bot.platforms import registry
from bot.render.options import RenderOptions

EXIT_BAD_INPUT = 2


def _config_path(explicit: str | None) -> Path | None:
    """--config, then $DIGESTBOT_CONFIG, then ./config.yaml, then ./config.example.yaml."""
    if explicit:
        return Path(explicit)
    if os.environ.get("DIGESTBOT_CONFIG"):
        return Path(os.environ["DIGESTBOT_CONFIG"])
    for name in ("config.yaml", "config.example.yaml"):
        if Path(name).is_file():
            return Path(name)
    return None


def load_config(explicit: str | None) -> Settings:
    """The settings the user meant; with no file anywhere, the packaged defaults relative to here."""
    path = _config_path(explicit)
    return load_settings(path) if path is not None else packaged_defaults(Path.cwd())


def _error(message: str, secrets: Iterable[str] = ()) -> None:
    """One line on stderr, scrubbed like a log line (an exception's text may quote a token)."""
    print(f"digestbot: error: {redact(' '.join(message.split()), secrets)}", file=sys.stderr)


def _settings_or_report(args: argparse.Namespace) -> Settings | None:
    """The validated settings, or None after printing one line per config problem.

    Their secrets are kept in `args` for main's last-resort error line.
    """
    try:
        settings = load_config(args.config)
    except ConfigError as exc:
        for problem in exc.problems:
            _error(f"{exc.source}: {problem}")
        return None
    args.secrets = settings.secrets()
    return settings


def cmd_check_config(args: argparse.Namespace) -> int:
    settings = _settings_or_report(args)
    if settings is None:
        return EXIT_BAD_INPUT
    path = _config_path(args.config)
    platforms = [spec.name for spec in settings.enabled_platforms()]
    print(
        f"{path or 'packaged defaults'}: OK ({len(settings.sources)} sources, "
        f"{len(settings.vocabulary())} categories, {len(settings.broadcasts)} broadcasts, "
        f"platforms: {', '.join(platforms)})"
    )
    return 0


def cmd_preview(args: argparse.Namespace) -> int:
    settings = _settings_or_report(args)
    if settings is None:
        return EXIT_BAD_INPUT
    vocabulary = settings.vocabulary()
    wanted: frozenset[str] = frozenset()
    if args.categories:
        wanted, unknown = resolve_categories([args.categories], vocabulary)
        if unknown:
            valid = ", ".join(c.id for c in vocabulary)
            _error(f"--categories: unknown category {', '.join(unknown)} (valid: {valid})")
            return EXIT_BAD_INPUT
    try:
        timezone = parse_timezone(args.timezone or settings.timezone)
    except ValueError as exc:
        _error(f"--timezone: {exc}")
        return EXIT_BAD_INPUT
    spec = next(spec for spec in registry.PLATFORMS if spec.render_format == args.platform)
    render = spec.make_renderer(spec.config_model())  # the format's defaults, not the operator's
    payloads: list[object] = []
    failed = False
    for name in args.paths:
        try:
            digest = load_digest(Path(name), max_bytes=settings.max_digest_bytes, default_tz=timezone)
        except DigestError as exc:
            _error(str(exc))
            failed = True
            continue
        digest = select(classify(digest, vocabulary), Filter(categories=wanted))
        if not digest.items:  # as in delivery: a digest with nothing selected sends nothing
            if not args.json:
                print(f"digestbot: {name}: no items, nothing would be sent", file=sys.stderr)
            continue
        options = RenderOptions(
            vocabulary=vocabulary.merged(digest.extra_categories),
            timezone=timezone,
            language=args.language or settings.language,
            selected=wanted,
        )
        parts = render(digest, options)
        if args.json:
            payloads.extend(parts)
        else:
            _print_parts(name, parts)
    if args.json:
        print(json.dumps(payloads, ensure_ascii=False, indent=2))
    return EXIT_BAD_INPUT if failed else 0


def _print_parts(name: str, parts: Sequence[object]) -> None:
    print(f"==> {name}: {len(parts)} message(s) <==")
    for index, part in enumerate(parts, 1):
        body = part if isinstance(part, str) else json.dumps(part, ensure_ascii=False, indent=2)
        print(f"--- message {index} ---\n{body}")


def cmd_run(args: argparse.Namespace) -> int:
    settings = _settings_or_report(args)
    if settings is None:
        return EXIT_BAD_INPUT
    from bot.app import run_app
    from bot.store import StoreError

    try:
        return run_app(settings)
    except StoreError as exc:  # another process holds the database, or it is damaged or unusable
        _error(str(exc))
        return EXIT_BAD_INPUT


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="digestbot", description=__doc__)
    parser.set_defaults(secrets=[])
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run the bot (sources, scheduler, delivery, platforms)")
    run.add_argument("--config", help="YAML config file")
    run.set_defaults(func=cmd_run)

    preview = commands.add_parser("preview", help="show what a digest file looks like on a platform")
    preview.add_argument("paths", nargs="+", metavar="PATH", help="digest files")
    formats = [spec.render_format for spec in registry.PLATFORMS]
    preview.add_argument("--platform", required=True, choices=formats)
    preview.add_argument("--categories", help="comma-separated category ids or names (default: all)")
    preview.add_argument("--json", action="store_true", help="print the exact API payloads as one JSON array")
    preview.add_argument("--config", help="YAML config file (for the category vocabulary)")
    preview.add_argument("--timezone", help="IANA time zone for dates (default: the config's)")
    preview.add_argument("--language", choices=["zh", "en"], help="language of headers and hashtags")
    preview.set_defaults(func=cmd_preview)

    check = commands.add_parser("check-config", help="validate a config file and list every problem")
    check.add_argument("--config", help="YAML config file")
    check.set_defaults(func=cmd_check_config)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # output piped into `head` and closed: not an error worth a message
        sys.stderr.close()
        return 141
    except Exception as exc:  # the last line of defence: one readable line instead of a traceback
        _error(f"unexpected {type(exc).__name__}: {exc}", args.secrets)
        return 1
