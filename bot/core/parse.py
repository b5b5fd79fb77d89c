"""Digest posts (markdown with front matter) -> `Digest`.

Digest id -- stable across edits of the body, because the store and the delivery ledger key on it:
1. the title's leading stamp, e.g. "2025.11.07.08" from "2025.11.07.08 过去4小时…": digits separated
   by dots or dashes, at least year, month and day (`YYYY.MM.DD[.HH...]`), kept exactly as written;
2. else an explicit `id` or `slug` front-matter key (a string or integer);
3. else the file name without its extension (`PurePath(source).stem`).

Items are the items of the post's ordered lists (`1.` or `1)`, CommonMark via markdown-it-py),
numbered from each list's start number; lists nested inside an item are part of that item. A post
with several ordered lists yields all their items, in order (numbers may then repeat). How an item
becomes title/author/url/summary is shared with the feed-HTML parser: see `bot.core.richtext`.
Empty list items are skipped. Raw HTML in markdown stays literal text; links of any scheme other
than http(s) keep their text and lose the link.

Input is UTF-8 with or without a BOM, with LF, CRLF or CR line breaks. Every problem is one
`DigestError(source, reason, line)`; nothing else escapes `parse_digest` or `load_digest`.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import tzinfo
from pathlib import Path, PurePath
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token

from bot.core import collector
from bot.core.errors import DigestError
from bot.core.frontmatter import read_header, split_front_matter
from bot.core.model import Digest, Item
from bot.core.richtext import Break, Code, Event, LinkEnd, LinkStart, Mark, Text, build_item

_STAMP = re.compile(r"\d{4}[.-]\d{1,2}[.-]\d{1,2}(?:[.-]\d{1,4})*(?=\s|$)")
_MARKS: dict[str, Event] = {
    "strong_open": Mark("bold", True),
    "strong_close": Mark("bold", False),
    "em_open": Mark("italic", True),
    "em_close": Mark("italic", False),
    "s_open": Mark("strike", True),
    "s_close": Mark("strike", False),
    "softbreak": Break(),
    "hardbreak": Break(hard=True),
    "link_close": LinkEnd(),
}


def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark").enable("strikethrough")
    # Keep links of every scheme as link tokens so their text survives; richtext.safe_url decides
    # which ones stay links (markdown-it would otherwise print a javascript: link as raw markup).
    md.validateLink = lambda url: True  # type: ignore[method-assign]
    return md


_MD = _markdown()


def load_digest(path: Path, *, max_bytes: int = 1_000_000, default_tz: tzinfo | None = None) -> Digest:
    """Read and parse one digest file; a file over `max_bytes` is refused without reading it all."""
    source = str(path)
    try:
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise DigestError(source, f"cannot read file: {exc.strerror or exc}") from exc
    if len(data) > max_bytes:
        raise DigestError(source, f"file is larger than the {max_bytes}-byte limit")
    return parse_digest(data, source, default_tz=default_tz)


def parse_digest(data: bytes | str, source: str, *, default_tz: tzinfo | None = None) -> Digest:
    """Parse a digest post; `default_tz` dates front-matter dates that carry no offset."""
    front = split_front_matter(decode_text(data, source), source)
    header = read_header(front, source, default_tz)
    # markdown-it allocates a token with two dicts per delimiter and none of it is garbage until the
    # parse ends: on a 512 KiB post dense in markup the collector took about half the parse time.
    with collector.paused():
        items = markdown_items(front.body)
    return Digest(
        id=digest_id(header.title, front.fields, source),
        title=header.title,
        date=header.date,
        items=items,
        categories=header.categories,
        metadata=header.metadata,
        source=source,
    )


def decode_text(data: bytes | str, source: str) -> str:
    """UTF-8 (BOM optional) to text with "\\n" line breaks; bad bytes are reported by line."""
    if isinstance(data, str):
        text = data.removeprefix("\ufeff")
    else:
        body = data.removeprefix(codecs.BOM_UTF8)
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            prefix = body[: exc.start].replace(b"\r\n", b"\n").replace(b"\r", b"\n")
            offset = exc.start + len(data) - len(body)
            raise DigestError(
                source, f"not UTF-8 text (invalid byte at offset {offset})", prefix.count(b"\n") + 1
            ) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def digest_id(title: str, fields: Mapping[str, Any], source: str) -> str:
    """The stable id: title stamp, else front-matter `id`/`slug`, else the file name stem."""
    stamp = _STAMP.match(title.strip())
    if stamp:
        return stamp.group(0)
    for key in ("id", "slug"):
        value = fields.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return PurePath(source).stem or source


@dataclass(slots=True)
class _Block:
    """A block-level node: markdown-it's flat token stream regrouped by nesting.

    (markdown_it.tree.SyntaxTreeNode would also build a node per inline token, which costs half as much
    again as the parse on long paragraphs; inline tokens are read flat from `token.children`.)
    """

    token: Token
    children: list[_Block] = field(default_factory=list)

    @property
    def type(self) -> str:
        return self.token.type.removesuffix("_open")


def _block_tree(tokens: Sequence[Token]) -> _Block:
    root = _Block(Token("root", "", 0))
    stack = [root]
    for token in tokens:
        if token.nesting < 0:
            if len(stack) > 1:
                stack.pop()
            continue
        node = _Block(token)
        stack[-1].children.append(node)
        if token.nesting > 0:
            stack.append(node)
    return root


def markdown_items(body: str) -> tuple[Item, ...]:
    """The items of every ordered list that is not itself inside a list item.

    An indented block right after a list belongs to its last item: under a wide marker such as
    `10.  ` CommonMark wants five columns of indent, so a summary indented by four falls out of the
    item as a code block, although the writer (and every reader) means it as that item's summary.
    """
    entries: list[tuple[int, list[list[Event]]]] = []
    after_list = False
    for node in _top_level(_block_tree(_MD.parse(body))):
        if node.type == "ordered_list":
            start = _start(node)
            entries.extend((start + offset, _blocks(item)) for offset, item in enumerate(node.children))
            after_list = True
        elif node.type == "code_block" and after_list and entries:
            entries[-1][1].extend(_blocks(_block_tree(_MD.parse(node.token.content))))
        else:
            after_list = False
    built = (build_item(number, blocks) for number, blocks in entries)
    return tuple(item for item in built if item is not None)


def _top_level(node: _Block) -> Iterator[_Block]:
    """Blocks outside list items, in document order; a blockquote's blocks count as its own."""
    for child in node.children:
        if child.type == "blockquote":
            yield from _top_level(child)
        else:
            yield child


def _start(ordered: _Block) -> int:
    start = ordered.token.attrs.get("start", 1)
    return start if isinstance(start, int) else int(start)


def _blocks(node: _Block) -> list[list[Event]]:
    """A list item's content as paragraphs of inline events; nested lists keep their markers."""
    blocks: list[list[Event]] = []
    for child in node.children:
        if child.type == "paragraph":
            blocks.append(_inline(child))
        elif child.type == "heading":
            blocks.append([Mark("bold", True), *_inline(child), Mark("bold", False)])
        elif child.type in ("fence", "code_block") and child.token.content.strip("\n"):
            blocks.append([Code(child.token.content.strip("\n"))])
        elif child.type == "html_block" and child.token.content.strip():
            blocks.append(_lines(child.token.content.strip()))
        elif child.type == "blockquote":
            blocks.extend(_blocks(child))
        elif child.type in ("bullet_list", "ordered_list"):
            blocks.extend(_nested_list(child))
    return blocks


def _nested_list(node: _Block) -> list[list[Event]]:
    blocks: list[list[Event]] = []
    start = _start(node)
    for offset, list_item in enumerate(node.children):
        marker = "• " if node.type == "bullet_list" else f"{start + offset}. "
        inner = _blocks(list_item) or [[]]
        blocks.append([Text(marker), *inner[0]])
        blocks.extend(inner[1:])
    return blocks


def _lines(text: str) -> list[Event]:
    events: list[Event] = []
    for line in text.split("\n"):
        if events:
            events.append(Break())
        events.append(Text(line))
    return events


def _inline(block: _Block) -> list[Event]:
    """Events of a paragraph or heading node (its one child is the inline token)."""
    token = block.children[0].token if block.children else None
    return _inline_tokens(token.children or []) if token is not None else []


def _inline_tokens(tokens: Sequence[Token]) -> list[Event]:
    events: list[Event] = []
    for token in tokens:
        if token.type in _MARKS:
            events.append(_MARKS[token.type])
        elif token.type == "link_open":
            events.append(LinkStart(str(token.attrs.get("href", ""))))
        elif token.type == "code_inline":
            events.append(Code(token.content))
        elif token.type == "image":
            alt = _inline_tokens(token.children or [])
            events.append(Text("".join(e.text for e in alt if isinstance(e, Text | Code))))
        elif token.content:
            events.append(Text(token.content))
    return events
