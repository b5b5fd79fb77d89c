"""Rules shared by the markdown and the HTML parser: inline events -> spans, and list item -> Item.

Both parsers first flatten their own tree (markdown-it tokens, lexbor DOM) into the same small
vocabulary of inline events; everything that decides what a reader sees (which links survive, how a
soft line break joins CJK text, how "Title - Author" splits, where a summary starts, the trailing
"Categories: a, b" line) lives here once, so a digest reads the same whichever way it arrived.

Paragraph conventions (what renderers can rely on):
- a paragraph is never empty; it has no leading or trailing whitespace;
- adjacent spans never have identical styles (they are merged);
- a hard line break is a "\\n" inside a span's text; no other control characters come from markup;
- `Span.link` is an absolute http(s) URL or None; a code span keeps its text verbatim.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from itertools import groupby
from typing import Literal
from urllib.parse import urlsplit

from bot.core.model import Item, Paragraph, Span, plain_text


@dataclass(frozen=True, slots=True)
class Text:
    text: str


@dataclass(frozen=True, slots=True)
class Code:
    text: str


@dataclass(frozen=True, slots=True)
class Break:
    """A line break inside a paragraph: hard ones are kept, soft ones become a space or nothing."""

    hard: bool = False


@dataclass(frozen=True, slots=True)
class Mark:
    style: Literal["bold", "italic", "strike"]
    opening: bool


@dataclass(frozen=True, slots=True)
class LinkStart:
    href: str


@dataclass(frozen=True, slots=True)
class LinkEnd:
    pass


Event = Text | Code | Break | Mark | LinkStart | LinkEnd

_SOFT = object()  # placeholder for a soft break until both of its neighbours are known
_CATEGORY_LINE = re.compile(r"(?:categories|tags|分类|标签)\s*[:：]\s*(.*)", re.IGNORECASE | re.DOTALL)
_CATEGORY_SEPARATORS = re.compile(r"[,，、;；]")
_LEADING_SEPARATOR = re.compile(r"(?:[:：|—–-]\s+|[：]|[—–]+)")
_SPACES = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_SPACE_RUNS = re.compile(r" {2,}")


def safe_url(href: str | None) -> str | None:
    """The URL if it is an absolute http(s) URL a chat client may open; anything else is None."""
    if not href:
        return None
    url = href.strip()
    if any(ch.isspace() or unicodedata.category(ch) == "Cc" for ch in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return url


def is_cjk(char: str) -> bool:
    """Wide East Asian characters that are written without spaces (Hangul uses spaces, so it is not)."""
    if unicodedata.east_asian_width(char) not in ("W", "F"):
        return False
    code = ord(char)
    return not (0x1100 <= code <= 0x11FF or 0x3130 <= code <= 0x318F or 0xAC00 <= code <= 0xD7AF)


def to_paragraph(events: Iterable[Event]) -> Paragraph:
    """Apply styles, keep only safe links, join soft breaks, trim and merge: see the module conventions."""
    counts = {"bold": 0, "italic": 0, "strike": 0}
    links: list[str | None] = []
    runs: list[Span | object] = []
    for event in events:
        link = links[-1] if links else None
        if isinstance(event, Text):
            runs.append(_span(event.text, counts, link))
        elif isinstance(event, Code):
            runs.append(_span(event.text, counts, link, code=True))
        elif isinstance(event, Break):
            runs.append(replace(_span("", counts, link), text="\n") if event.hard else _SOFT)
        elif isinstance(event, Mark):
            counts[event.style] = max(0, counts[event.style] + (1 if event.opening else -1))
        elif isinstance(event, LinkStart):
            links.append(safe_url(event.href))
        elif links:
            links.pop()
    return _tidy(_join_soft_breaks(runs))


def _span(text: str, counts: dict[str, int], link: str | None, *, code: bool = False) -> Span:
    text = _CONTROL.sub("", text if code else text.replace("\t", " ").replace("\n", " "))
    return Span(
        text,
        bold=counts["bold"] > 0,
        italic=counts["italic"] > 0,
        code=code,
        strike=counts["strike"] > 0,
        link=link,
    )


def _join_soft_breaks(runs: list[Span | object]) -> list[Span]:
    """A soft break joins CJK neighbours directly and anything else with one space."""
    following: list[Span | None] = [None] * len(runs)
    upcoming: Span | None = None
    for index in range(len(runs) - 1, -1, -1):
        following[index] = upcoming
        run = runs[index]
        if isinstance(run, Span) and run.text:
            upcoming = run
    spans: list[Span] = []
    before: Span | None = None
    for run, after in zip(runs, following, strict=True):
        if isinstance(run, Span):
            spans.append(run)
            before = run if run.text else before
        elif (
            before is not None
            and after is not None
            and not (is_cjk(before.text[-1]) and is_cjk(after.text[0]))
        ):
            same = _style(before) == _style(after) and not before.code
            spans.append(replace(before, text=" ") if same else Span(" "))
    return spans


def _tidy(spans: Iterable[Span]) -> Paragraph:
    """Collapse spaces (outside code), drop spaces around line breaks, trim both ends, merge equal styles.

    Works on whole lines of spans, not characters: a summary can hold half a million of them.
    """
    pieces: list[tuple[str, Span]] = []  # (text, its span); never an empty text
    for span in spans:
        if span.code:
            if span.text:
                pieces.append((span.text, span))
            continue
        text = _SPACE_RUNS.sub(" ", span.text) if "  " in span.text else span.text
        for number, line in enumerate(text.split("\n")):
            if number:
                _trim_spaces(pieces, " ")
                if pieces:
                    pieces.append(("\n", span))
            if line[:1] == " " and not (pieces and (pieces[-1][1].code or pieces[-1][0][-1] not in " \n")):
                line = line[1:]
            if line:
                pieces.append((line, span))
    _trim_spaces(pieces, " \n")
    return tuple(_merged(list(group)) for _, group in groupby(pieces, key=lambda piece: _style(piece[1])))


def _trim_spaces(pieces: list[tuple[str, Span]], chars: str) -> None:
    """Drop the trailing `chars` of the non-code pieces at the end."""
    while pieces and not pieces[-1][1].code:
        text, span = pieces[-1]
        kept = text.rstrip(chars)
        if kept:
            pieces[-1] = (kept, span)
            return
        pieces.pop()


def _merged(group: list[tuple[str, Span]]) -> Span:
    """One span for a run of pieces of one style; a span that is kept whole is reused, not copied."""
    text, span = group[0]
    if len(group) > 1:
        text = "".join(piece for piece, _ in group)
    return span if text == span.text else replace(span, text=text)


def _style(span: Span) -> tuple[bool, bool, bool, bool, str | None]:
    return (span.bold, span.italic, span.code, span.strike, span.link)


def one_line(events: Iterable[Event]) -> str:
    """Plain text on one line: what a title is made of."""
    return _SPACES.sub(" ", plain_text(to_paragraph(events))).strip()


def split_title_author(text: str) -> tuple[str, str | None]:
    """Split "Title - Author" on the LAST " - ": titles may contain dashes, author names rarely do."""
    title, sep, author = text.rpartition(" - ")
    title, author = title.strip(), author.strip()
    if not sep or not title or not author:
        return text.strip(), None
    return title, author


@dataclass(frozen=True, slots=True)
class LeadLink:
    """The link a paragraph starts with, and what follows it in the same paragraph."""

    text: str
    url: str | None
    rest: list[Event]


def split_lead_link(events: Sequence[Event]) -> LeadLink | None:
    """The paragraph's leading link (possibly inside bold/italic), or None if text comes first."""
    opened: list[Event] = []
    index = 0
    while index < len(events):
        event = events[index]
        if (isinstance(event, Text) and not event.text.strip()) or isinstance(event, Break):
            index += 1
        elif isinstance(event, Mark) and event.opening:
            opened.append(event)
            index += 1
        else:
            break
    start = events[index] if index < len(events) else None
    if not isinstance(start, LinkStart):
        return None
    depth, end = 0, index
    for end in range(index, len(events)):
        if isinstance(events[end], LinkStart):
            depth += 1
        elif isinstance(events[end], LinkEnd):
            depth -= 1
            if depth == 0:
                break
    inner = [e for e in events[index + 1 : end] if not isinstance(e, LinkStart | LinkEnd)]
    return LeadLink(one_line(inner), safe_url(start.href), [*opened, *events[end + 1 :]])


def split_category_line(events: Sequence[Event]) -> tuple[list[Event], tuple[str, ...]]:
    """Split off a final "Categories: a, b" / "分类：a、b" line (its own paragraph or last line)."""
    cut = max((i for i, e in enumerate(events) if isinstance(e, Break)), default=-1)
    tail = "".join(e.text if isinstance(e, Text | Code) else " " for e in events[cut + 1 :] if _visible(e))
    match = _CATEGORY_LINE.fullmatch(_SPACES.sub(" ", tail).strip())
    if not match:
        return list(events), ()
    names = (name.strip() for name in _CATEGORY_SEPARATORS.split(match.group(1)))
    categories = tuple(dict.fromkeys(name for name in names if name))
    if not categories:
        return list(events), ()
    return list(events[: max(cut, 0)]), categories


def _visible(event: Event) -> bool:
    return isinstance(event, Text | Code | Break)


def _drop_leading_separator(paragraph: Paragraph) -> Paragraph:
    """Drop the separator of "[Title](url) — summary" or "[Title](url): summary" from the summary."""
    if not paragraph or paragraph[0].code:
        return paragraph
    first = paragraph[0]
    match = _LEADING_SEPARATOR.match(first.text)
    if not match:
        return paragraph
    return _tidy([replace(first, text=first.text[match.end() :]), *paragraph[1:]])


def build_item(number: int, blocks: Sequence[Sequence[Event]]) -> Item | None:
    """One list item from its paragraphs' events; None for an item with nothing to show."""
    if not blocks:
        return None
    blocks = list(blocks)
    head, source_categories = split_category_line(blocks[-1])
    if len(blocks) > 1 or one_line(head):
        blocks[-1] = head
    else:
        source_categories = ()  # a lone "Categories: x" line is the item's title, not its metadata
    lead = split_lead_link(blocks[0])
    if lead is None:
        title, author, url, rest = one_line(blocks[0]), None, None, blocks[1:]
    else:
        (title, author), url, rest = split_title_author(lead.text), lead.url, [lead.rest, *blocks[1:]]
    paragraphs = [to_paragraph(events) for events in rest]
    if lead is not None and paragraphs:
        paragraphs[0] = _drop_leading_separator(paragraphs[0])
    summary = [p for p in paragraphs if p]
    title = title or url or ""
    if not title:
        if not summary:
            return None
        title = _SPACES.sub(" ", plain_text(summary.pop(0))).strip()
    return Item(
        number=number,
        title=title,
        author=author,
        url=url,
        summary=tuple(summary),
        source_categories=source_categories,
    )
