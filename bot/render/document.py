"""The platform-neutral layout of a rendered digest: header and item blocks made of styled spans.

Every renderer lays a digest out the same way (header; then per item a title line, the summary and
the categories), so the pieces live here and the per-format modules only turn spans into markup.
Lines never contain a line break and never start or end with whitespace, which the splitter relies on.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import UTC
from urllib.parse import quote, urlsplit, urlunsplit

from bot.core.model import Category, Digest, Item, Span, Vocabulary
from bot.core.richtext import safe_url
from bot.render.options import RenderOptions
from bot.render.split import BLOCK_BREAK, LINE_BREAK, Block, Line

_LINE_BREAKS = re.compile(r"\r\n?|[\n\u2028\u2029\x0b\x0c\x85]")
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
_URL_SAFE = "/:@!$&'()*+,;=?#[]%~-._"
CATEGORY_SEPARATOR = " · "
AUTHOR_SEPARATOR = " — "


def vocabulary_for(digest: Digest, options: RenderOptions) -> Vocabulary:
    """The reader's vocabulary plus the categories this digest introduced."""
    return options.vocabulary.merged(digest.extra_categories)


def local_date(digest: Digest, options: RenderOptions) -> str:
    """The digest date in the reader's zone, e.g. '2025-11-20 20:00 (Asia/Shanghai)'.

    A naive date is taken as UTC, since the parser attaches the configured zone to every date it reads.
    """
    date = digest.date if digest.date.tzinfo is not None else digest.date.replace(tzinfo=UTC)
    local = date.astimezone(options.timezone)
    return f"{local:%Y-%m-%d %H:%M} ({options.timezone})"


def display_name(category_id: str, vocabulary: Vocabulary, language: str) -> str:
    category = vocabulary.get(category_id)
    return category.display(language) if category is not None else category_id


def header_categories(digest: Digest, options: RenderOptions, vocabulary: Vocabulary) -> list[str]:
    """Display names for the header: the reader's selection, or else every category of the digest
    (those its front matter declares, or, when it declares none, those its items carry)."""
    if options.selected:
        known = [c.id for c in vocabulary if c.id in options.selected]
        unknown = sorted(options.selected - set(known))
        return [display_name(c, vocabulary, options.language) for c in [*known, *unknown]]
    names: list[str] = []
    for raw in digest.categories:
        category = vocabulary.resolve(raw)
        names.append(category.display(options.language) if category is not None else raw.strip())
    if not digest.categories:
        used = {c for item in digest.items for c in item.categories}
        names = [c.display(options.language) for c in vocabulary if c.id in used]
        names += sorted(used - {c.id for c in vocabulary})
    return _unique(name for name in names if name)


def item_categories(item: Item, vocabulary: Vocabulary) -> list[Category | str]:
    """The item's categories as vocabulary entries (or bare ids the vocabulary does not know)."""
    result: list[Category | str] = []
    for category_id in _unique(item.categories):
        result.append(vocabulary.get(category_id) or category_id)
    return result


def category_label(category: Category | str, language: str) -> str:
    return category.display(language) if isinstance(category, Category) else category


def http_url(url: str | None) -> str | None:
    """`url` as an ASCII absolute http(s) URL (IDNA host, other non-ASCII percent-encoded), or None
    when it is not one: platforms reject or silently drop anything else."""
    url = safe_url(url)
    if url is None or url.isascii():
        return url
    parts = urlsplit(url)
    netloc, host = parts.netloc, parts.hostname or ""
    try:
        netloc = netloc.replace(host, host.encode("idna").decode("ascii"))
    except UnicodeError:
        netloc = quote(netloc, safe=_URL_SAFE)
    rest = [quote(part, safe=_URL_SAFE) for part in (parts.path, parts.query, parts.fragment)]
    return urlunsplit((parts.scheme, netloc, *rest))


def one_line(text: str) -> str:
    """Text meant for a single line (titles, names): line breaks become spaces, edges trimmed."""
    return _CONTROL.sub("", _LINE_BREAKS.sub(" ", text)).strip()


def header_block(digest: Digest, options: RenderOptions, vocabulary: Vocabulary) -> Block:
    lines = [
        clean_line([Span(one_line(digest.title), bold=True)]),
        clean_line([Span(local_date(digest, options))]),
        clean_line([Span(CATEGORY_SEPARATOR.join(header_categories(digest, options, vocabulary)))]),
    ]
    return Block(tuple(line for line in lines if line))


def title_line(item: Item, *, link: bool = True, author: bool = True) -> Line:
    """'12. Title — Author' with a bold (and linked, when the item has a URL) title."""
    url = http_url(item.url) if link else None
    spans = [Span(f"{item.number}. "), Span(one_line(item.title), bold=True, link=url)]
    if author and item.author and one_line(item.author):
        spans += [Span(AUTHOR_SEPARATOR), Span(one_line(item.author), italic=True)]
    return clean_line(spans)


def compact_block(items: Iterable[Item]) -> Block:
    """Compact mode's body: one numbered, linked title a line, no summaries, no blank lines, so a
    digest that needs several full messages usually fits in one."""
    return Block(tuple(line for item in items if (line := title_line(item, author=False))))


def summary_lines(item: Item) -> tuple[Line, ...]:
    """The summary, one line per paragraph line; links that are not http(s) are dropped (the text stays)."""
    lines: list[Line] = []
    for paragraph in item.summary:
        current: list[Span] = []
        for span in paragraph:
            safe = span if span.link is None else replace(span, link=http_url(span.link))
            for number, piece in enumerate(_LINE_BREAKS.split(safe.text)):
                if number:
                    lines.append(clean_line(current))
                    current = []
                current.append(safe if piece == safe.text else replace(safe, text=piece))
        lines.append(clean_line(current))
    return tuple(line for line in lines if line)


def clean_line(spans: Iterable[Span]) -> Line:
    """Drop control characters, empty spans and the line's outer whitespace (the splitter relies on
    lines that start and end with visible text)."""
    kept = [
        replace(span, text=_CONTROL.sub("", span.text)) if _CONTROL.search(span.text) else span
        for span in spans
    ]
    kept = [span for span in kept if span.text]
    while kept and not kept[0].text.strip():
        kept.pop(0)
    while kept and not kept[-1].text.strip():
        kept.pop()
    if kept:
        kept[0] = replace(kept[0], text=kept[0].text.lstrip())
        kept[-1] = replace(kept[-1], text=kept[-1].text.rstrip())
    return tuple(kept)


def render_blocks(blocks: Sequence[Block], render_line: Callable[[Line], str]) -> str:
    """One part's markup: lines joined by a line break, blocks by a blank line."""
    return BLOCK_BREAK.join(LINE_BREAK.join(render_line(line) for line in block.lines) for block in blocks)


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))
