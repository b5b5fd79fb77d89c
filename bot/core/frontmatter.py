"""Front matter of a digest post: split it off, load it, and check the fields a digest needs.

Hugo's three forms are accepted: YAML between `---` lines, TOML between `+++` lines (stdlib
`tomllib`), and a JSON object at the very top of the file.

This is a small splitter rather than python-frontmatter because a bad file must be reported with
the line *in the file* where the problem is, and python-frontmatter cannot give that: it hands the
loader the front matter alone (so YAML marks are off by the delimiter), its TOML handler needs the
third-party `toml` package instead of `tomllib`, and a missing closing `---` silently yields empty
metadata and treats the whole file as body. Here every line number is 1-based and counts from the
first line of the file (a BOM does not count; CRLF is one line break).

YAML aliases (`*name`) are refused, so a few hundred bytes cannot expand into gigabytes of metadata.
Fields other than title, date and categories are kept as `metadata`, normalised to JSON-compatible
values (dates become ISO strings, keys become strings) so every later stage can store them as is.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any, Literal

import yaml

from bot.core.errors import DigestError

MAX_DEPTH = 32
_TOML_POSITION = re.compile(r"\(at line (\d+), column \d+\)")
_TOML_KEY = re.compile(r"""\s*(?:"([^"]+)"|'([^']+)'|([A-Za-z0-9_-]+))\s*=""")
_JSON_KEY = re.compile(r'\s*"((?:[^"\\]|\\.)*)"\s*:')
_DELIMITERS: dict[str, Literal["yaml", "toml"]] = {"---": "yaml", "+++": "toml"}
_HEADER_KEYS = ("title", "date", "categories")
# UTC offsets stay within a day, so an instant a day inside datetime's range converts to every zone.
EARLIEST_DATE = datetime.min.replace(tzinfo=UTC) + timedelta(days=1)
LATEST_DATE = datetime.max.replace(tzinfo=UTC) - timedelta(days=1)


@dataclass(frozen=True, slots=True)
class FrontMatter:
    """Loaded front matter and the body after it; `key_lines` maps top-level keys to file lines."""

    fields: dict[str, Any]
    body: str
    format: Literal["yaml", "toml", "json"]
    key_lines: Mapping[str, int]

    def line_of(self, key: str) -> int:
        """The line to blame for a bad or missing field: its own line, else the opening delimiter."""
        return self.key_lines.get(key, 1)


@dataclass(frozen=True, slots=True)
class Header:
    """The typed fields every digest has, plus everything else the front matter said."""

    title: str
    date: datetime
    categories: tuple[str, ...]
    metadata: dict[str, Any]


def split_front_matter(text: str, source: str) -> FrontMatter:
    """Split and load the front matter of `text` (BOM already removed, line breaks already "\\n")."""
    if text.startswith("{"):
        return _load_json(text, source)
    first, _, rest = text.partition("\n")
    kind = _DELIMITERS.get(first.rstrip())
    if kind is None:
        raise DigestError(
            source, "no front matter: a digest starts with '---' (YAML), '+++' (TOML) or '{' (JSON)", 1
        )
    delimiter = first.rstrip()
    lines = rest.split("\n")
    close = next((i for i, line in enumerate(lines) if line.rstrip() == delimiter), None)
    if close is None:
        raise DigestError(source, f"front matter opened with {delimiter!r} on line 1 is never closed", 1)
    head = "\n".join(lines[:close])
    body = "\n".join(lines[close + 1 :])
    if kind == "yaml":
        fields, key_lines = _load_yaml(head, source)
    else:
        fields, key_lines = _load_toml(head, source, close + 2)
    return FrontMatter(fields, body, kind, key_lines)


class _NoAliasLoader(yaml.SafeLoader):
    """SafeLoader that refuses aliases: they are the one way a tiny YAML file becomes a huge object."""

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]  # untyped in types-PyYAML
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not allowed in front matter", event.start_mark
            )
        return super().compose_node(parent, index)


def _load_yaml(head: str, source: str) -> tuple[dict[str, Any], dict[str, int]]:
    offset = 2  # the YAML text starts on the line after the opening '---'
    try:
        node, data = _compose_and_construct(head)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = offset + mark.line if mark is not None else 1
        raise DigestError(source, f"invalid YAML front matter: {_yaml_problem(exc)}", line) from exc
    except yaml.reader.ReaderError as exc:
        line = offset + head.count("\n", 0, exc.position)
        raise DigestError(source, f"invalid YAML front matter: {exc.reason}", line) from exc
    except (yaml.YAMLError, ValueError, TypeError, OverflowError) as exc:
        raise DigestError(source, f"invalid YAML front matter: {exc}", 1) from exc
    except RecursionError as exc:
        raise DigestError(source, "invalid YAML front matter: nested too deeply", 1) from exc
    if data is None:
        return {}, {}
    if not isinstance(data, dict) or not isinstance(node, yaml.MappingNode):
        raise DigestError(source, f"front matter must be a mapping of keys to values, not {_kind(data)}", 2)
    key_lines: dict[str, int] = {}
    for key_node, _ in node.value:
        key_lines.setdefault(str(key_node.value), offset + key_node.start_mark.line)
    return data, key_lines


def _compose_and_construct(head: str) -> tuple[yaml.Node | None, Any]:
    """The node tree (for key line numbers) and the Python value, from one pass of the loader."""
    loader = _NoAliasLoader(head)
    try:
        node = loader.get_single_node()
        return node, (loader.construct_document(node) if node is not None else None)
    finally:
        loader.dispose()


def _yaml_problem(exc: yaml.MarkedYAMLError) -> str:
    parts = [exc.context, exc.problem] if exc.context and exc.problem else [exc.problem or exc.context]
    return ", ".join(p for p in parts if p) or "cannot be parsed"


def _load_toml(head: str, source: str, close_line: int) -> tuple[dict[str, Any], dict[str, int]]:
    import tomllib  # here, not at the top: most digests are YAML, and preview's start-up counts

    try:
        data = tomllib.loads(head)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        position = _TOML_POSITION.search(message)
        at = 1 + int(position.group(1)) if position else close_line
        reason = _TOML_POSITION.sub("", message).strip()
        raise DigestError(source, f"invalid TOML front matter: {reason}", at) from exc
    except (ValueError, RecursionError) as exc:
        raise DigestError(source, f"invalid TOML front matter: {exc}", 1) from exc
    key_lines: dict[str, int] = {}
    for number, line in enumerate(head.split("\n"), start=2):
        if line.lstrip().startswith("["):
            break
        match = _TOML_KEY.match(line)
        if match:
            key_lines.setdefault(next(g for g in match.groups() if g is not None), number)
    return data, key_lines


def _load_json(text: str, source: str) -> FrontMatter:
    try:
        data, end = json.JSONDecoder().raw_decode(text)
    except json.JSONDecodeError as exc:
        raise DigestError(source, f"invalid JSON front matter: {exc.msg}", exc.lineno) from exc
    except (ValueError, RecursionError) as exc:
        raise DigestError(source, f"invalid JSON front matter: {exc}", 1) from exc
    key_lines: dict[str, int] = {}
    for number, line in enumerate(text[:end].split("\n"), start=1):
        match = _JSON_KEY.match(line.lstrip("{, \t"))
        if match:
            key_lines.setdefault(match.group(1), number)
    return FrontMatter(data, text[end:], "json", key_lines)


def read_header(front: FrontMatter, source: str, default_tz: tzinfo | None) -> Header:
    """Check title, date and categories; everything else becomes JSON-compatible metadata."""
    fields = front.fields
    title = fields.get("title")
    if title is None:
        raise DigestError(source, "front matter has no 'title'", front.line_of("title"))
    if not isinstance(title, str):
        raise DigestError(source, f"'title' must be a string, not {_kind(title)}", front.line_of("title"))
    if not title.strip():
        raise DigestError(source, "'title' is empty", front.line_of("title"))
    if fields.get("date") is None:
        raise DigestError(source, "front matter has no 'date'", front.line_of("date"))
    when = parse_date(fields["date"], default_tz, source, front.line_of("date"))
    categories = _categories(fields.get("categories"), source, front.line_of("categories"))
    extra = {str(k): v for k, v in fields.items() if k not in _HEADER_KEYS}
    try:
        metadata = plain_metadata(extra)
    except ValueError as exc:
        raise DigestError(source, f"front matter {exc}", 1) from exc
    return Header(" ".join(title.split()), when, categories, metadata)


def parse_date(value: object, default_tz: tzinfo | None, source: str, line: int | None) -> datetime:
    """A timezone-aware datetime from a datetime, a date or an ISO 8601 string; never local time."""
    if isinstance(value, str):
        text = value.strip()
        try:
            value = date.fromisoformat(text)
        except ValueError:
            try:
                value = datetime.fromisoformat(text)
            except ValueError:
                raise DigestError(source, f"'date' is not an ISO 8601 date-time: {text!r}", line) from None
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            if default_tz is None:
                reason = "'date' has no time zone: add an offset such as +08:00 or configure a default"
                raise DigestError(source, reason, line)
            value = value.replace(tzinfo=default_tz)
    elif isinstance(value, date):
        if default_tz is None:
            raise DigestError(
                source, "'date' is a bare date: add a time and offset or configure a default time zone", line
            )
        value = datetime(value.year, value.month, value.day, tzinfo=default_tz)
    else:
        raise DigestError(source, f"'date' must be a date-time, not {_kind(value)}", line)
    problem = date_range_problem(value)
    if problem is not None:
        raise DigestError(source, f"'date' {problem}", line)
    return value


def date_range_problem(when: datetime) -> str | None:
    """Why the aware `when` cannot be shown in every time zone (rendering would overflow), or None."""
    if EARLIEST_DATE <= when <= LATEST_DATE:  # compared as instants: no conversion, no overflow
        return None
    return (
        f"{when.isoformat()} is outside the range every time zone can show "
        f"({EARLIEST_DATE:%Y-%m-%d} to {LATEST_DATE:%Y-%m-%d} UTC)"
    )


def _categories(value: object, source: str, line: int) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise DigestError(source, f"'categories' must be a list or a string, not {_kind(value)}", line)
    names: list[str] = []
    for entry in value:
        if not isinstance(entry, str):
            raise DigestError(source, f"'categories' entries must be strings, not {_kind(entry)}", line)
        if entry.strip():
            names.append(" ".join(entry.split()))
    return tuple(dict.fromkeys(names))


def plain_metadata(fields: Mapping[Any, Any]) -> dict[str, Any]:
    """`fields` as JSON-compatible values; ValueError if nested deeper than MAX_DEPTH."""
    return {str(key): _plain(value, 1) for key, value in fields.items()}


def _plain(value: Any, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise ValueError(f"metadata is nested deeper than {MAX_DEPTH} levels")
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(key): _plain(item, depth + 1) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(item, depth + 1) for item in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _kind(value: object) -> str:
    names = {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean", int: "a number"}
    names |= {float: "a number", datetime: "a date-time", date: "a date", time: "a time of day"}
    return names.get(type(value), type(value).__name__)
