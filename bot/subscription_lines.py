"""Subscriptions as JSON lines (`digestbot export` / `import`): one chat per line, checked field by field.

A line names its platform from the registry, its categories from the config's vocabulary (ids or
display names), and a schedule, zone, language and quiet hours the bot can run; anything else is
an error naming the field, so a file edited by hand is either all good or clearly wrong.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import IO, Any, Literal, cast

from pydantic import Field, ValidationError, ValidationInfo, field_validator, model_validator

from bot.commands.args import MAX_KEYWORD_CHARS, MAX_KEYWORDS
from bot.core.model import Filter, Vocabulary
from bot.core.strict import Strict
from bot.core.textmatch import compile_terms
from bot.platforms import registry
from bot.store.export import ImportedSubscription, ReaderOptions
from bot.store.subscriptions import NewSubscription, Subscription, normal_quiet, normal_schedule, zone_key

MAX_LINE_BYTES = 65_536  # a subscription is ~300 bytes; a longer line is refused without holding it
MAX_REPORTED = 20  # bad lines printed before "and N more"


class SubscriptionLine(Strict):
    """One line of an export; `categories` are resolved with the vocabulary in the context."""

    platform: str
    chat: str = Field(min_length=1, max_length=200)
    thread: str | None = Field(default=None, max_length=200)
    kind: str | None = None
    title: str = Field(default="", max_length=500)
    categories: list[str] = Field(default=[], max_length=200)
    include: list[str] = Field(default=[], max_length=MAX_KEYWORDS)
    exclude: list[str] = Field(default=[], max_length=MAX_KEYWORDS)
    schedule: str = "instant"
    timezone: str = "UTC"
    language: Literal["zh", "en"] = "zh"
    quiet: str | None = None
    status: Literal["active", "paused", "unsubscribed"] = "active"
    paused_reason: str | None = Field(default=None, max_length=500)
    created_by: str | None = Field(default=None, max_length=200)
    origin: Literal["user", "config"] = "user"
    format: Literal["full", "compact"] = "full"
    previews: bool | None = None
    silent: bool = False
    pin: bool = False

    @field_validator("chat", "thread", "created_by", mode="before")
    @classmethod
    def _id_as_text(cls, value: Any) -> Any:
        """Chat and user ids may be written as JSON numbers; they are stored as text."""
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("platform")
    @classmethod
    def _known_platform(cls, name: str) -> str:
        if name not in registry.names():
            raise ValueError(f"unknown platform {name!r}: expected one of {', '.join(registry.names())}")
        return name

    @field_validator("categories")
    @classmethod
    def _known_categories(cls, names: list[str], info: ValidationInfo) -> list[str]:
        vocabulary: Vocabulary = cast(dict[str, Any], info.context)["vocabulary"]
        ids: list[str] = []
        for name in names:
            category = vocabulary.resolve(name)
            if category is None:
                raise ValueError(f"unknown category {name!r} (valid: {', '.join(c.id for c in vocabulary)})")
            ids.append(category.id)
        return ids

    @field_validator("include", "exclude")
    @classmethod
    def _keywords(cls, terms: list[str]) -> list[str]:
        if any(not term or len(term) > MAX_KEYWORD_CHARS for term in terms):
            raise ValueError(f"keywords must be 1 to {MAX_KEYWORD_CHARS} characters")
        compile_terms(tuple(terms))
        return terms

    _schedule = field_validator("schedule")(lambda cls, v: normal_schedule(v))
    _timezone = field_validator("timezone")(lambda cls, v: zone_key(v))
    _quiet = field_validator("quiet")(lambda cls, v: normal_quiet(v))

    @model_validator(mode="after")
    def _known_kind(self) -> SubscriptionLine:
        kinds = registry.get(self.platform).chat_kinds
        if self.kind is not None and self.kind not in kinds:
            known = ", ".join(sorted(kinds))
            raise ValueError(f"kind: {self.kind!r} is not a {self.platform} chat kind ({known})")
        return self

    def imported(self) -> ImportedSubscription:
        spec = registry.get(self.platform)
        new = NewSubscription(
            self.platform,
            self.chat,
            self.kind or spec.broadcast_kind(self.chat),
            self.thread,
            self.title,
            Filter(frozenset(self.categories), tuple(self.include), tuple(self.exclude)),
            self.schedule,
            self.timezone,
            self.language,
            self.quiet,
            self.created_by,
            self.origin,
        )
        options = ReaderOptions(self.format, self.previews, self.silent, self.pin)
        return ImportedSubscription(new, self.status, self.paused_reason, options)


def to_line(sub: Subscription) -> str:
    """One subscription as the JSON line `import` reads back."""
    return json.dumps(
        {
            "platform": sub.platform,
            "chat": sub.chat_id,
            "thread": sub.thread_id,
            "kind": sub.kind,
            "title": sub.title,
            "categories": sorted(sub.filter.categories),
            "include": list(sub.filter.include),
            "exclude": list(sub.filter.exclude),
            "schedule": sub.schedule,
            "timezone": sub.timezone,
            "language": sub.language,
            "quiet": sub.quiet,
            "status": sub.status,
            "paused_reason": sub.paused_reason,
            "created_by": sub.created_by,
            "origin": sub.origin,
            "format": sub.format,
            "previews": sub.previews,
            "silent": sub.silent,
            "pin": sub.pin,
        },
        ensure_ascii=False,
    )


class BadLines(Exception):
    """The input had `count` bad lines; `problems` are the first MAX_REPORTED as ``line N: reason``."""

    def __init__(self, problems: list[str], count: int) -> None:
        self.problems = problems[:MAX_REPORTED]
        self.truncated = len(problems) > MAX_REPORTED
        self.count = count
        super().__init__(f"{count} bad lines")


def parse_lines(stream: IO[bytes], vocabulary: Vocabulary) -> Iterator[ImportedSubscription]:
    """The stream's subscriptions, line by line; once it is read to the end, BadLines if any line
    was bad (every line is checked, so one run reports them all). Blank lines are skipped."""
    problems: list[str] = []
    count = 0
    for number, line in enumerate(_bounded_lines(stream), 1):
        try:
            if line is None:
                raise ValueError(f"longer than {MAX_LINE_BYTES} bytes")
            if not line.strip():
                continue
            data = json.loads(line.decode("utf-8"))
            if not isinstance(data, dict):
                raise ValueError("expected a JSON object")
            yield SubscriptionLine.model_validate(data, context={"vocabulary": vocabulary}).imported()
        except ValidationError as exc:
            count += 1
            reasons = [_field_error(e) for e in exc.errors()]
        except (ValueError, UnicodeDecodeError) as exc:  # json.JSONDecodeError is a ValueError
            count += 1
            reasons = [str(exc)]
        else:
            continue
        if len(problems) <= MAX_REPORTED:  # memory stays bounded however bad the file is
            problems += [f"line {number}: {reason}" for reason in reasons]
    if count:
        raise BadLines(problems, count)


def _field_error(error: Any) -> str:
    where = ".".join(str(part) for part in error["loc"])
    message = "unknown key" if error["type"] == "extra_forbidden" else error["msg"]
    cause = error.get("ctx", {}).get("error")
    if isinstance(cause, ValueError):
        message = str(cause)
    return f"{where}: {message}" if where else message


def _bounded_lines(stream: IO[bytes]) -> Iterator[bytes | None]:
    """Each line, or None for one over MAX_LINE_BYTES (read past in chunks, never held whole)."""
    while True:
        line = stream.readline(MAX_LINE_BYTES + 1)
        if not line:
            return
        if line.endswith(b"\n") or len(line) <= MAX_LINE_BYTES:
            yield line
            continue
        while line and not line.endswith(b"\n"):
            line = stream.readline(MAX_LINE_BYTES)
        yield None
