"""`digestbot preview`: digest files rendered for a platform, as exact payloads or as people see them.

What rendering needs (the parser, the classifier, every platform's renderer) is imported when the
command runs, not when the command line's parser is built.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli_common import EXIT_BAD_INPUT, HelpFormatter, error, settings_or_report
from bot.core import collector

if TYPE_CHECKING:
    from bot.platforms.spec import PlatformSpec
    from bot.render.terminal import Terminal


def cmd_preview(args: argparse.Namespace) -> int:
    # Most of a preview is start-up (imports, the config's models, the renderer), which makes many
    # long-lived objects and no garbage: the collector would walk them ~70 times for nothing (~11 ms).
    with collector.paused():
        from bot.commands.args import resolve_categories
        from bot.core.classify import classify
        from bot.core.errors import DigestError
        from bot.core.model import Filter
        from bot.core.parse import load_digest
        from bot.core.schedule import parse_timezone
        from bot.core.select import select
        from bot.platforms import registry
        from bot.render.options import RenderOptions
        from bot.render.terminal import Terminal

        settings = settings_or_report(args)
        if settings is None:
            return EXIT_BAD_INPUT
        vocabulary = settings.vocabulary()
        wanted: frozenset[str] = frozenset()
        if args.categories:
            wanted, unknown = resolve_categories([args.categories], vocabulary)
            if unknown:
                valid = ", ".join(c.id for c in vocabulary)
                error(f"--categories: unknown category {', '.join(unknown)} (valid: {valid})")
                return EXIT_BAD_INPUT
        try:
            timezone = parse_timezone(args.timezone or settings.timezone)
        except ValueError as exc:
            error(f"--timezone: {exc}")
            return EXIT_BAD_INPUT
        spec = next(spec for spec in registry.PLATFORMS if spec.render_format == args.platform)
        render = spec.make_renderer(spec.config_model())  # the format's defaults, not the operator's
    terminal = Terminal.for_stream(sys.stdout)
    payloads: list[object] = []
    failed = False
    for name in args.paths:
        try:
            digest = load_digest(Path(name), max_bytes=settings.max_digest_bytes, default_tz=timezone)
        except DigestError as exc:
            error(str(exc))
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
            payloads.extend(map(spec.api_body, parts) if spec.api_body else parts)
        else:
            print(show_parts(name, spec, parts, terminal), flush=True)
    if args.json:
        print(json.dumps(payloads, ensure_ascii=False, indent=2))
    return EXIT_BAD_INPUT if failed else 0


def show_parts(name: str, spec: PlatformSpec, parts: Sequence[object], terminal: Terminal) -> str:
    """Every message of one file as it would read on the platform, each under a numbered rule."""
    count = len(parts)
    lines = [terminal.bold(f"══ {name} · {spec.name} · {count} message{'s' if count != 1 else ''} ══")]
    for index, part in enumerate(parts, 1):
        lines.append(terminal.bold(f"── message {index}/{count} ──"))
        lines.append(spec.readable(part, terminal) if spec.readable is not None else str(part))
    return "\n".join(lines) + "\n"


@cache
def _formats() -> tuple[str, ...]:
    from bot.platforms import registry

    return tuple(spec.render_format for spec in registry.PLATFORMS)


class RenderFormats:
    """The registered render formats as `--platform` choices, looked up when argparse first checks
    or shows them: the registry imports every platform's renderer, which other commands never use."""

    def __contains__(self, value: object) -> bool:
        return value in _formats()

    def __iter__(self) -> Iterator[str]:
        return iter(_formats())


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    preview = commands.add_parser(
        "preview",
        formatter_class=HelpFormatter,
        help="show what digest files look like on a platform",
        description="Show digest files as they would be sent: as people read them (styling shown, "
        "links as 'text <url>', each message under a numbered rule), or with --json the exact API "
        "payloads. A bad file is one error line on stderr; the others are still shown.",
    )
    preview.add_argument("paths", nargs="+", metavar="PATH", help="digest files")
    preview.add_argument(
        "--platform", required=True, choices=RenderFormats(), metavar="PLATFORM", help="one of: %(choices)s"
    )
    preview.add_argument("--categories", help="comma-separated category ids or names (default: all)")
    preview.add_argument("--json", action="store_true", help="print the exact API payloads as one JSON array")
    preview.add_argument("--config", help="YAML config file (for the category vocabulary)")
    preview.add_argument("--timezone", help="IANA time zone for dates (default: the config's)")
    preview.add_argument("--language", choices=["zh", "en"], help="language of headers and hashtags")
    preview.set_defaults(func=cmd_preview)
