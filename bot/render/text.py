"""Plain-text renderer for the console and logs: the same layout as the chat messages, no markup.

Inline links are shown as their text only (a URL after every cut piece of a link would repeat it);
the item's own URL gets a line of its own under the title.
"""

from __future__ import annotations

from bot.core.model import Digest, Item, Span, Vocabulary
from bot.render.document import (
    CATEGORY_SEPARATOR,
    category_label,
    header_block,
    http_url,
    item_categories,
    render_blocks,
    summary_lines,
    title_line,
    vocabulary_for,
)
from bot.render.limits import TEXT_PART, TextLimit
from bot.render.options import RenderOptions
from bot.render.split import Block, Line, split_blocks


def render_text(digest: Digest, options: RenderOptions, *, limit: TextLimit = TEXT_PART) -> list[str]:
    """The digest as plain-text parts of at most `limit` characters each."""
    vocabulary = vocabulary_for(digest, options)
    blocks = [header_block(digest, options, vocabulary)]
    blocks += [_item_block(item, vocabulary, options.language) for item in digest.items]
    parts = split_blocks(blocks, limit.max_size, lambda span: limit.measure(span.text))
    return [render_blocks(part, text_line) for part in parts]


def text_line(line: Line) -> str:
    return "".join(span.text for span in line)


def _item_block(item: Item, vocabulary: Vocabulary, language: str) -> Block:
    lines: list[Line] = [title_line(item, link=False)]
    url = http_url(item.url)
    if url:
        lines.append((Span(url),))
    lines += summary_lines(item)
    names = CATEGORY_SEPARATOR.join(category_label(c, language) for c in item_categories(item, vocabulary))
    if names:
        lines.append((Span(f"[{names}]"),))
    return Block(tuple(lines))
