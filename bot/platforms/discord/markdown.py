"""Discord markdown for our spans, and the reverse: the visible text of what we emit.

Plain text is escaped so that nothing in a digest can format, mention or link by accident: every
markdown character is backslash-escaped (leading list, heading and quote markers only where a span
starts, which is where a line or a message part can start), '@everyone'/'@here' get a zero-width
space, and a bare URL is wrapped as <url> (Discord shows it without a preview, and escapes inside
it would break the link). Whitespace is kept outside style markers because Discord does not
format '* text *'. Two styled spans that would touch marker to marker get a zero-width space
between them, so '**a**' + '*b*' cannot read as '**a***b*'.
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import quote

from bot.core.model import Span
from bot.render.split import Line

ZWSP = "\u200b"
_ALWAYS = "\\*_~`|[]()<"  # the backslash first, so the escapes added later stay single
_LEADING = re.compile(r"^(?:(\d+)([.)])(?=\s|$)|(#+|>+|[+\-]))")
_MENTION = re.compile(r"@(everyone|here)")
_BARE_URL = re.compile(r"https?://[^\s<>]+", re.IGNORECASE)
_URL_TRAILING = ".,:;\"')]"
_MARKERS = "*~`_|"
_TOKEN = re.compile(
    r"[^\\`*~\[\]<]+|(?:\\[^0-9A-Za-z\s])+|`+|\*\*|~~|\*|\[|\]\(<[^>]*>\)|\]\([^)]*\)|<[^<>\s]+>|.", re.S
)
_DROPPED = {"**", "~~", "*", "["}
_LINK_UNSAFE = ' ()<>[]\\`"{}|^'


def escape(text: str) -> str:
    """Plain text as Discord markdown that shows exactly `text` (bare URLs become <url>)."""
    if "://" not in text:
        return _escape_words(text, leading=True)
    pieces: list[str] = []
    position = 0
    for match in _BARE_URL.finditer(text):
        url = match.group(0).rstrip(_URL_TRAILING)
        if len(url) <= len("https://"):
            continue
        pieces.append(_escape_words(text[position : match.start()], leading=position == 0))
        pieces.append(f"<{url}>")
        position = match.start() + len(url)
    pieces.append(_escape_words(text[position:], leading=position == 0))
    return "".join(pieces)


def escape_plain(text: str) -> str:
    """Escape without URL detection: for link text, where an inner autolink would break the link."""
    return _escape_words(text, leading=True)


def _escape_words(text: str, *, leading: bool) -> str:
    prefix, body = "", text
    if leading:
        stripped = text.lstrip()
        match = _LEADING.match(stripped)
        if match:
            digits, closer, markers = match.groups()
            marker = f"{digits}\\{closer}" if digits else "".join(f"\\{c}" for c in markers)
            prefix = text[: len(text) - len(stripped)] + marker
            body = stripped[match.end() :]
    for char in _ALWAYS:
        if char in body:
            body = body.replace(char, f"\\{char}")
    return prefix + (_MENTION.sub(f"@{ZWSP}\\1", body) if "@" in body else body)


def render_span(span: Span, *, suppress_embeds: bool) -> str:
    """One span as Discord markdown; links become [text](url), or [text](<url>) without preview."""
    core = span.text.strip()
    if not core:
        return escape(span.text)
    lead = span.text[: len(span.text) - len(span.text.lstrip())]
    trail = span.text[len(span.text.rstrip()) :]
    if span.code:
        inner = code(core)
    elif span.link:
        inner = escape_plain(core)
    else:
        inner = escape(core)
    if span.link:
        target = link_target(span.link)
        inner = f"[{inner}](<{target}>)" if suppress_embeds else f"[{inner}]({target})"
    if span.strike:
        inner = f"~~{inner}~~"
    if span.italic:
        inner = f"*{inner}*"
    if span.bold:
        inner = f"**{inner}**"
    return lead + inner + trail


class Markup:
    """Discord markdown of spans, remembered for one render: the splitter measures every span and the
    parts are then written from the same spans, so each span is escaped once, not twice."""

    def __init__(self, *, suppress_embeds: bool) -> None:
        self.suppress_embeds = suppress_embeds
        self._done: dict[Span, str] = {}

    def span(self, span: Span) -> str:
        markup = self._done.get(span)
        if markup is None:
            markup = self._done[span] = render_span(span, suppress_embeds=self.suppress_embeds)
        return markup

    def cost(self, span: Span) -> int:
        """An upper bound of the span's length inside a line (its markup plus a possible separator)."""
        return len(self.span(span)) + 1 if span.text else 0

    def line(self, line: Line) -> str:
        """A line of spans, with a zero-width space where two spans' markers would run together."""
        out: list[str] = []
        for span in line:
            piece = self.span(span)
            if not piece:
                continue
            if out and out[-1][-1] in _MARKERS and piece[0] in _MARKERS:
                out.append(ZWSP)
            out.append(piece)
        return "".join(out)


def code(text: str) -> str:
    """Inline code that shows `text` verbatim, whatever backticks it contains."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    before = " " if text.startswith("`") else ""
    after = " " if text.endswith("`") else ""
    return f"{fence}{before}{text}{after}{fence}"


@lru_cache(maxsize=1024)
def link_target(url: str) -> str:
    """The URL with the characters that would end a markdown link target percent-encoded."""
    return "".join(quote(c, safe="") if c in _LINK_UNSAFE else c for c in url)


def visible(markdown: str) -> str:
    """The text Discord shows for markdown we emitted (escapes resolved, markers and link targets
    dropped, <url> shown as the URL). Zero-width spaces are kept: they are part of the text."""
    out: list[str] = []
    i, n = 0, len(markdown)
    while i < n:
        token = _TOKEN.match(markdown, i)
        assert token is not None  # the last alternative matches any character
        value = token.group(0)
        if value[0] == "`":
            i = _visible_code(markdown, i, out)
            continue
        if value[0] == "\\" and len(value) > 1:
            out.append(value[1::2])
        elif value[0] == "<" and len(value) > 1:
            out.append(value[1:-1])
        elif value not in _DROPPED and not value.startswith("]("):
            out.append(value)
        i = token.end()
    return "".join(out)


def _visible_code(markdown: str, start: int, out: list[str]) -> int:
    run = len(markdown[start:]) - len(markdown[start:].lstrip("`"))
    fence = "`" * run
    search = start + run
    while (end := markdown.find(fence, search)) >= 0:
        after = end + run
        if after >= len(markdown) or markdown[after] != "`":
            content = markdown[start + run : end]
            if content.startswith(" ") and content.lstrip(" ").startswith("`"):
                content = content[1:]
            if content.endswith(" ") and content.rstrip(" ").endswith("`"):
                content = content[:-1]
            out.append(content)
            return after
        search = after + len(markdown[after:]) - len(markdown[after:].lstrip("`"))
    out.append(fence)
    return start + run
