"""Discord renderer: Create Message JSON bodies, every one within Discord's documented limits.

Embed mode (the default): the header is the message content and each item is an embed (title with
the item number, link, author, the summary as the description, category names in the footer, the
first category's color). A title over 256 characters continues at the start of the description; a
description over 4096 continues in further embeds without a title. Embeds are packed into messages
of at most 10 embeds and 6000 characters of embed text, keeping an item's embeds together when
they fit one message.

Markdown mode (`embeds=False`, from `discord.embeds: false`): plain content messages of at most 2000
characters, laid out like the Telegram message; links are [text](<url>) and the message asks
Discord to suppress embeds, so nothing unfurls unless link previews are wanted.

Every body sends "allowed_mentions": {"parse": []}, so no text in a digest can ping anyone.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from bot.core.model import Category, Digest, Item, Span, Vocabulary
from bot.platforms.discord import markdown, parts
from bot.render.document import (
    CATEGORY_SEPARATOR,
    category_label,
    header_block,
    http_url,
    item_categories,
    one_line,
    render_blocks,
    summary_lines,
    title_line,
    vocabulary_for,
)
from bot.render.options import RenderOptions
from bot.render.split import Block, Line, cut_block, cut_once, pack, split_blocks

Payload = dict[str, Any]
Embed = dict[str, Any]

DEFAULT_COLOR = 0x5865F2
SUPPRESS_EMBEDS = 1 << 2
_ELLIPSIS = "…"


@dataclass(frozen=True, slots=True)
class DiscordLimits:
    """Create Message limits (characters); the embed ones apply per embed, `embed_total` per message."""

    content: int = 2000
    embeds_per_message: int = 10
    embed_title: int = 256
    embed_description: int = 4096
    embed_author: int = 256
    embed_footer: int = 2048
    embed_total: int = 6000

    def __post_init__(self) -> None:
        sizes = (self.content, self.embed_title, self.embed_description, self.embed_author, self.embed_footer)
        if min(sizes) < 16 or self.embeds_per_message < 1:
            raise ValueError(f"DiscordLimits too small to hold any text: {self!r}")
        if self.embed_total < self.embed_title + self.embed_author + self.embed_footer + 16:
            raise ValueError("DiscordLimits.embed_total must leave room for a description")


DISCORD = DiscordLimits()


def render_discord(
    digest: Digest,
    options: RenderOptions,
    *,
    limits: DiscordLimits = DISCORD,
    embeds: bool = True,
    tagged: bool = False,
) -> list[Payload]:
    """The digest as Create Message bodies: embeds, or markdown messages when `embeds` is off (the
    operator's `discord.embeds`, bound by the platform's renderer factory). `tagged` bodies carry
    their items' category ids for the sender's role mentions, and keep room for them (see parts.py)."""
    vocabulary = vocabulary_for(digest, options)
    header = header_block(digest, options, vocabulary)
    if tagged:
        limits = replace(limits, content=limits.content - parts.MENTION_ROOM)
    ids = [parts.category_ids(item, vocabulary) for item in digest.items] if tagged else None
    if not embeds:
        return _markdown_messages(digest, options, vocabulary, header, limits, ids)
    header_markup = markdown.Markup(suppress_embeds=True)
    header_parts = [
        _content(part, header_markup) for part in split_blocks([header], limits.content, header_markup.cost)
    ]
    chains = [_item_embeds(item, vocabulary, options.language, limits) for item in digest.items]
    groups = pack(chains, embed_size, limits.embed_total, max_count=limits.embeds_per_message)
    bodies: list[Payload] = [_body(content=text) for text in header_parts[:-1]]
    bodies.append(_body(content=header_parts[-1], embeds=groups[0] if groups else None))
    bodies += [_body(embeds=group) for group in groups[1:]]
    if ids is not None:
        owners = parts.embed_owners(chains)
        for body in bodies:
            shown = dict.fromkeys(owners[id(embed)] for embed in body.get("embeds", ()))
            parts.tag(body, list(shown), ids)
    return bodies


def plain_message(text: str) -> Payload:
    """`text` shown exactly as typed: markdown escaped, no mentions pinged, bare links not unfurled."""
    return _body(content=markdown.escape(text))


def plain_discord(payload: Payload) -> Payload:
    """A content-only, unformatted copy of a body, at most 2000 characters.

    Only the fallback after Discord rejected the real body: it flattens the embeds into text, escapes
    everything, and may cut the end off (marked with '…'), so it is never the normal way to send.
    """
    pieces: list[str] = []
    if isinstance(payload.get("content"), str):
        pieces.append(markdown.visible(payload["content"]))
    for embed in payload.get("embeds") or ():
        pieces.extend(_embed_text(embed))
    text = "\n\n".join(piece for piece in pieces if piece.strip()) or _ELLIPSIS
    return {
        "content": _escape_within(text, DISCORD.content),
        "allowed_mentions": {"parse": []},
        "flags": SUPPRESS_EMBEDS,
    }


def embed_size(embed: Embed) -> int:
    """The characters an embed adds to a message's 6000 total (title, description, author, footer)."""
    return (
        len(embed.get("title", ""))
        + len(embed.get("description", ""))
        + len(embed.get("author", {}).get("name", ""))
        + len(embed.get("footer", {}).get("text", ""))
    )


def _item_embeds(item: Item, vocabulary: Vocabulary, language: str, limits: DiscordLimits) -> list[Embed]:
    categories = item_categories(item, vocabulary)
    first = categories[0] if categories else None
    color = first.color if isinstance(first, Category) and first.color is not None else DEFAULT_COLOR
    footer = _truncate(
        CATEGORY_SEPARATOR.join(category_label(c, language) for c in categories), limits.embed_footer
    )
    author = _truncate(one_line(item.author or ""), limits.embed_author)

    title_block = Block(((Span(f"{item.number}. {one_line(item.title)}".strip()),),))
    title_head, overflow = cut_once(title_block, limits.embed_title, _title_cost)
    title = "".join(markdown.escape_plain(span.text) for line in title_head.lines for span in line)
    lines: tuple[Line, ...] = (overflow.lines if overflow else ()) + summary_lines(item)

    room = limits.embed_total - len(footer)
    first_room = room - len(title) - len(author)
    markup = markdown.Markup(suppress_embeds=False)
    pieces = (
        cut_block(
            Block(lines),
            min(limits.embed_description, room),
            markup.cost,
            first_budget=min(limits.embed_description, first_room),
        )
        if lines
        else []
    )
    descriptions = [_content([piece], markup) for piece in pieces] or [""]

    embeds: list[Embed] = []
    for index, description in enumerate(descriptions):
        embed: Embed = {}
        if index == 0:
            embed["title"] = title
            url = http_url(item.url)
            if url:
                embed["url"] = url
            if author:
                embed["author"] = {"name": author}
        if description:
            embed["description"] = description
        embed["color"] = color
        embeds.append(embed)
    if footer:
        embeds[-1]["footer"] = {"text": footer}
    return embeds


def _markdown_messages(
    digest: Digest,
    options: RenderOptions,
    vocabulary: Vocabulary,
    header: Block,
    limits: DiscordLimits,
    ids: list[list[str]] | None,
) -> list[Payload]:
    suppress = not options.link_previews
    blocks = [header]
    for item in digest.items:
        lines = [title_line(item), *summary_lines(item)]
        names = CATEGORY_SEPARATOR.join(
            category_label(c, options.language) for c in item_categories(item, vocabulary)
        )
        if names:
            lines.append((Span(names, italic=True),))
        blocks.append(Block(tuple(lines)))
    markup = markdown.Markup(suppress_embeds=suppress)
    pieces = split_blocks(blocks, limits.content, markup.cost)
    bodies = [_body(content=_content(piece, markup)) for piece in pieces]
    if suppress:
        for body in bodies:
            body["flags"] = SUPPRESS_EMBEDS
    if ids is not None:
        for body, shown in zip(bodies, parts.markdown_owners(pieces, blocks[1:]), strict=True):
            parts.tag(body, shown, ids)
    return bodies


def _title_cost(span: Span) -> int:
    return len(markdown.escape_plain(span.text))


def _content(blocks: list[Block], markup: markdown.Markup) -> str:
    return render_blocks(blocks, markup.line)


def _body(*, content: str | None = None, embeds: list[Embed] | None = None) -> Payload:
    body: Payload = {}
    if content:
        body["content"] = content
    if embeds:
        body["embeds"] = embeds
    body["allowed_mentions"] = {"parse": []}
    return body


def _embed_text(embed: Embed) -> list[str]:
    author = embed.get("author", {}).get("name", "")
    title = markdown.visible(embed.get("title", ""))
    url = embed.get("url", "")
    description = markdown.visible(embed.get("description", ""))
    footer = embed.get("footer", {}).get("text", "")
    heading = " — ".join(part for part in (title, author) if part)
    return ["\n".join(part for part in (heading, url, description, footer) if part)]


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + _ELLIPSIS


def _escape_within(text: str, limit: int) -> str:
    """Escape `text` line by line; if that exceeds `limit`, keep the longest prefix that fits with '…'."""
    escaped = _escape_lines(text)
    if len(escaped) <= limit:
        return escaped
    low, high = 0, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if len(_escape_lines(text[:middle])) + len(_ELLIPSIS) <= limit:
            low = middle
        else:
            high = middle - 1
    return _escape_lines(text[:low]) + _ELLIPSIS


def _escape_lines(text: str) -> str:
    return "\n".join(markdown.escape(line) for line in text.split("\n"))
