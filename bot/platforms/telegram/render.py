"""Telegram renderer: sendMessage parameters in HTML parse mode, each within 4096 visible UTF-16 units.

Layout: a header (bold title, local date, category names), then per item '12. Title — Author' with a
bold title linked to the item, the summary with its formatting, and the item's categories as
hashtags; in compact mode only '12. Title' a line. Only &lt; &gt; &amp; &quot; are emitted, as
Telegram accepts no other named entity.
"""

from __future__ import annotations

import re
from typing import Any

from bot.core.model import Category, Digest, Item, Span, Vocabulary
from bot.render.document import (
    category_label,
    compact_block,
    header_block,
    item_categories,
    render_blocks,
    summary_lines,
    title_line,
    vocabulary_for,
)
from bot.render.limits import TextLimit
from bot.render.options import RenderOptions
from bot.render.split import Block, Line, split_blocks

Payload = dict[str, Any]

# Telegram counts a message after entity parsing; its own unit is disputed, so we count UTF-16 code
# units, which is never fewer than what Telegram counts.
TELEGRAM_TEXT = TextLimit(4096, "utf16")

_TAG = re.compile(r"<[^<>]*>")
_ENTITY = re.compile(r"&(?:(lt|gt|amp|quot)|#([0-9]{1,7})|#[xX]([0-9a-fA-F]{1,6}));")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_NON_WORD = re.compile(r"[^\w]+")


def render_telegram(
    digest: Digest, options: RenderOptions, *, limit: TextLimit = TELEGRAM_TEXT
) -> list[Payload]:
    """The digest as sendMessage parameters (text, parse_mode, link_preview_options,
    disable_notification), one per part; `options.compact` lists linked titles only."""
    vocabulary = vocabulary_for(digest, options)
    blocks = [header_block(digest, options, vocabulary)]
    if options.compact:
        blocks.append(compact_block(digest.items))
    else:
        blocks += [_item_block(item, vocabulary, options.language) for item in digest.items]
    parts = split_blocks(blocks, limit.max_size, lambda span: limit.measure(span.text))
    return [_payload(render_blocks(part, html_line), options) for part in parts]


def plain_message(text: str) -> Payload:
    """`text` shown exactly as typed (HTML-escaped), without a link preview."""
    return {"text": escape(text), "parse_mode": "HTML", "link_preview_options": {"is_disabled": True}}


def plain_telegram(payload: Payload) -> Payload:
    """The same message without parse_mode, its text reduced to what Telegram would have shown; sent
    once when Telegram refuses the formatting."""
    text = payload.get("text")
    if not isinstance(text, str):
        raise ValueError(f"plain_telegram: payload has no text string: {payload!r}")
    plain = {key: value for key, value in payload.items() if key not in ("parse_mode", "entities")}
    plain["text"] = visible_text(text)
    return plain


def visible_text(html: str) -> str:
    """The text Telegram shows for our HTML: tags dropped, the supported entities decoded."""
    return _ENTITY.sub(_decode_entity, _TAG.sub("", html))


def html_line(line: Line) -> str:
    return "".join(html_span(span) for span in line)


def html_span(span: Span) -> str:
    """One span as Telegram HTML. Telegram lets code contain no other entity and a link contain no
    code, so a code span drops its other styles, and a linked code span is shown as a plain link."""
    if not span.text:
        return ""
    text = escape(span.text)
    if span.code and not span.link:
        return f"<code>{text}</code>"
    if span.strike:
        text = f"<s>{text}</s>"
    if span.italic:
        text = f"<i>{text}</i>"
    if span.bold:
        text = f"<b>{text}</b>"
    if span.link:
        text = f'<a href="{escape(span.link, quote=True)}">{text}</a>'
    return text


def escape(text: str, *, quote: bool = False) -> str:
    """Escape for Telegram HTML text (and attribute values, with `quote`)."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace('"', "&quot;") if quote else text


def hashtag(category: Category | str, language: str) -> str:
    """A Telegram hashtag for a category: its display name with every run of non-word characters
    turned into one underscore (Telegram tags are letters, digits and underscores)."""
    tag = _NON_WORD.sub("_", category_label(category, language)).strip("_")
    if not tag and isinstance(category, Category):
        tag = _NON_WORD.sub("_", category.id).strip("_")
    if not tag or tag.isdigit():
        tag = f"_{tag}"
    return f"#{tag}"


def _item_block(item: Item, vocabulary: Vocabulary, language: str) -> Block:
    lines = [title_line(item), *summary_lines(item)]
    tags = " ".join(dict.fromkeys(hashtag(c, language) for c in item_categories(item, vocabulary)))
    if tags:
        lines.append((Span(tags),))
    return Block(tuple(lines))


def _payload(text: str, options: RenderOptions) -> Payload:
    payload: Payload = {"text": text, "parse_mode": "HTML"}
    previews = options.link_previews if options.previews is None else options.previews
    if not previews:
        payload["link_preview_options"] = {"is_disabled": True}
    if options.silent:
        payload["disable_notification"] = True
    return payload


def _decode_entity(match: re.Match[str]) -> str:
    named, decimal, hexadecimal = match.groups()
    if named:
        return _NAMED[named]
    code = int(decimal) if decimal else int(hexadecimal, 16)
    return chr(code) if 0 < code <= 0x10FFFF else match.group(0)
