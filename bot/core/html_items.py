"""Feed entries whose content is HTML -> `Digest`, read the same way as markdown posts.

The entry HTML is parsed with selectolax (lexbor, an HTML5 parser, so broken markup is repaired the
way a browser would). Items are the <li> of every <ol> that is not inside another <li>, numbered
from `start` (or counting down for `reversed`), with `<li value>` resetting the count as in HTML.
Each <li> is flattened into the same inline events as a markdown item (block elements start a new
paragraph, <br> is a hard break, <b>/<strong> bold, <i>/<em> italic, <s>/<del>/<strike> strike,
<code>/<kbd>/<samp> code, <pre> a code paragraph, <img> its alt text, scripts and styles dropped)
and `bot.core.richtext.build_item` applies the shared rules: leading link = title link, "Title -
Author", http(s)-only links, summary paragraphs, trailing "Categories:" line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from selectolax.lexbor import LexborHTMLParser, LexborNode

from bot.core.errors import DigestError
from bot.core.frontmatter import date_range_problem, plain_metadata
from bot.core.html_depth import MAX_HTML_DEPTH, nests_deeper_than
from bot.core.model import Digest, Item
from bot.core.richtext import Break, Code, Event, LinkEnd, LinkStart, Mark, Text, build_item

_DROPPED = ["script", "style", "noscript", "template", "iframe", "object", "embed", "svg", "math", "head"]
_MARK_TAGS: dict[str, Any] = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "s": "strike",
    "del": "strike",
    "strike": "strike",
}
_CODE_TAGS = frozenset({"code", "kbd", "samp", "tt"})
_BLOCK_TAGS = frozenset(
    {"address", "article", "aside", "blockquote", "dd", "details", "div", "dl", "dt", "figcaption"}
    | {"figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav"}
    | {"ol", "p", "section", "summary", "table", "td", "th", "tr", "ul"}
)
_HTML_SPACE = re.compile(r"([ \t\n\r\f]+)")


def parse_html_digest(
    html: str,
    *,
    source: str,
    id: str,
    title: str,
    date: datetime,
    categories: tuple[str, ...] = (),
    metadata: Mapping[str, Any] | None = None,
) -> Digest:
    """A digest from a feed entry: its HTML content plus the entry's own id, title and date."""
    if not id.strip():
        raise DigestError(source, "feed entry has no id")
    if not title.strip():
        raise DigestError(source, "feed entry has no title")
    if date.tzinfo is None or date.utcoffset() is None:
        raise DigestError(source, "feed entry date has no time zone")
    problem = date_range_problem(date)
    if problem is not None:
        raise DigestError(source, f"feed entry date {problem}")
    try:
        extra = plain_metadata(metadata or {})
    except ValueError as exc:
        raise DigestError(source, f"feed entry {exc}") from exc
    if nests_deeper_than(html):
        raise DigestError(source, f"feed entry HTML nests deeper than {MAX_HTML_DEPTH} elements")
    names = (" ".join(name.split()) for name in categories)
    return Digest(
        id=id.strip(),
        title=" ".join(title.split()),
        date=date,
        items=html_items(html),
        categories=tuple(dict.fromkeys(name for name in names if name)),
        metadata=extra,
        source=source,
    )


def html_items(html: str) -> tuple[Item, ...]:
    """The items of every top-level ordered list in `html`."""
    tree = LexborHTMLParser(html)
    tree.strip_tags(_DROPPED)
    items: list[Item] = []
    for ordered in _top_level_lists(tree.root):
        for number, list_item in _numbered(ordered):
            item = build_item(number, _blocks(list_item))
            if item is not None:
                items.append(item)
    return tuple(items)


def _top_level_lists(root: LexborNode | None) -> list[LexborNode]:
    """Every <ol> with no <li> above it, in document order, in one walk that skips list items.

    (Asking each <ol> for its ancestors instead costs time quadratic in the nesting depth.)
    """
    found: list[LexborNode] = []
    stack = [root] if root is not None else []
    while stack:
        node = stack.pop()
        if node.tag == "ol":
            found.append(node)
        if node.tag != "li":
            stack.extend(reversed(list(node.iter())))
    return found


def _int_attr(node: LexborNode, name: str) -> int | None:
    value = node.attributes.get(name)
    try:
        return int(value.strip()) if value else None
    except ValueError:
        return None


def _numbered(ordered: LexborNode) -> Iterable[tuple[int, LexborNode]]:
    """The list's <li> with the numbers a browser would show."""
    list_items = [child for child in ordered.iter() if child.tag == "li"]
    step = -1 if "reversed" in ordered.attributes else 1
    start = _int_attr(ordered, "start")
    number = start if start is not None else (len(list_items) if step < 0 else 1)
    for list_item in list_items:
        value = _int_attr(list_item, "value")
        number = value if value is not None else number
        yield number, list_item
        number += step


def _blocks(list_item: LexborNode) -> list[list[Event]]:
    """The <li> content as paragraphs of inline events, walked without recursion (HTML may nest deep)."""
    blocks: list[list[Event]] = []
    current: list[Event] = []
    numbers: dict[int, int] = {}  # nested <li> -> its number, filled as each nested <ol> is entered

    def flush() -> None:
        nonlocal current
        if any(isinstance(event, Text | Code) and event.text.strip() for event in current):
            blocks.append(current)
        current = []

    stack: list[tuple[LexborNode, bool]] = [(child, True) for child in _children(list_item)][::-1]
    while stack:
        node, entering = stack.pop()
        tag = node.tag
        if not entering:
            if tag in _MARK_TAGS:
                current.append(Mark(_MARK_TAGS[tag], False))
            elif tag == "a":
                current.append(LinkEnd())
            if tag in _BLOCK_TAGS:
                flush()
            continue
        if tag == "-text":
            current.extend(_text_events(node.text(deep=False)))
        elif tag == "br":
            current.append(Break(hard=True))
        elif tag == "img":
            current.append(Text(node.attributes.get("alt") or ""))
        elif tag in _CODE_TAGS:
            current.append(Code(node.text(deep=True)))
        elif tag == "pre":
            flush()
            current.append(Code(node.text(deep=True).strip("\n")))
            flush()
        elif tag and not tag.startswith(("-", "_", "!")):
            if tag in _BLOCK_TAGS:
                flush()
            if tag == "ol":
                numbers.update((child.mem_id, number) for number, child in _numbered(node))
            if tag == "li":
                current.append(Text(_marker(node, numbers)))
            elif tag in _MARK_TAGS:
                current.append(Mark(_MARK_TAGS[tag], True))
            elif tag == "a":
                current.append(LinkStart(node.attributes.get("href") or ""))
            stack.append((node, False))
            stack.extend((child, True) for child in reversed(_children(node)))
    flush()
    return blocks


def _children(node: LexborNode) -> list[LexborNode]:
    return list(node.iter(include_text=True))


def _marker(list_item: LexborNode, numbers: Mapping[int, int]) -> str:
    """A "• " or "N. " marker for a nested list item, so the nesting stays readable as text."""
    parent = list_item.parent
    if parent is None or parent.tag != "ol":
        return "• "
    return f"{numbers.get(list_item.mem_id, 1)}. "


def _text_events(text: str) -> list[Event]:
    """HTML whitespace collapses: a run with a newline is a soft break, any other run one space."""
    events: list[Event] = []
    for part in _HTML_SPACE.split(text):
        if not part:
            continue
        if _HTML_SPACE.fullmatch(part):
            events.append(Break() if "\n" in part or "\r" in part else Text(" "))
        else:
            events.append(Text(part))
    return events
