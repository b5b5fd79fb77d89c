"""The one splitter: cut rendered content into parts that each fit a platform limit.

It works on the model's styled spans, before any markup exists, so a cut can never fall inside a
tag, an entity or an escape, and every part re-opens its own formatting (each span renders whole).
Platforms differ only in the cost function they pass: one counting visible UTF-16 units, another
the length of the markdown it will emit.

The rule (tested in tests/test_split.py and, over arbitrary digests, tests/test_render_properties.py):
- Content is a list of blocks (the header, then one block per item); a block is lines of spans.
- Parts are filled greedily with whole blocks; a block that does not fit the rest of the current part
  starts the next part. Only a block bigger than a whole part is cut: it begins in the current part
  when at least a quarter of that part is free (so a header is not sent alone), and goes on in parts
  of its own; the last of them is filled further with the following blocks.
- A cut falls at the last line break or sentence end (。！？ always; . ! ? when followed by a space;
  closing quotes stay with their sentence) that keeps at least half the budget; failing that at the
  last space in that half; failing that at any earlier line break or sentence end; failing that, hard,
  at the last character boundary that fits (never between a character and its combining marks,
  inside an emoji sequence or flag, or inside a surrogate pair).
- Whitespace at a cut is dropped; no other text is lost or repeated. A span whose markup alone cannot
  fit a part (a huge link target) is kept as plain text.

Time is linear in the size of the content (tests/test_split_linear.py counts the work and checks the
output against the former quadratic splitter): see `BlockCursor` in bot/render/cursor.py.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from bot.render.blocks import BLOCK_BREAK, LINE_BREAK, Block, Line, SpanCost, block_cost, line_cost
from bot.render.cursor import BlockCursor

__all__ = [
    "BLOCK_BREAK",
    "LINE_BREAK",
    "Block",
    "Line",
    "SpanCost",
    "block_cost",
    "cut_block",
    "cut_once",
    "line_cost",
    "pack",
    "split_blocks",
]

T = TypeVar("T")


def split_blocks(blocks: Sequence[Block], limit: int, cost: SpanCost) -> list[list[Block]]:
    """Group blocks into parts of at most `limit`, cutting only blocks larger than a whole part.

    A block too big for any part starts in the part being filled when at least a quarter of it is
    still free (so the header is not sent alone) and a cut fits there without dropping formatting,
    and continues in parts of its own.
    """
    parts: list[list[Block]] = []
    current: list[Block] = []
    used = 0
    for block in blocks:
        cursor = BlockCursor(block, cost)
        size = cursor.remaining()
        gap = len(BLOCK_BREAK) if current else 0
        if used + gap + size <= limit:
            current.append(block)
            used += gap + size
            continue
        room = limit - used - gap
        if size > limit and current and room >= limit // 4:
            cut = cursor.find_cut(room)
            if cut is not None:
                current.append(cursor.take(*cut))
        if current:
            parts.append(current)
        pieces = cursor.pieces(limit)
        parts.extend([piece] for piece in pieces[:-1])
        current = pieces[-1:]
        used = block_cost(current[0], cost) if current else 0
    if current:
        parts.append(current)
    return parts


def pack(
    chains: Sequence[Sequence[T]],
    size: Callable[[T], int],
    limit: int,
    *,
    gap: int = 0,
    max_count: int | None = None,
) -> list[list[T]]:
    """Fill parts greedily with pieces; a chain (the pieces of one item) that would straddle a part
    boundary but fits a part on its own starts a new part instead."""
    parts: list[list[T]] = []
    current: list[T] = []
    used = 0

    def fits(count: int, extra: int, *, empty: bool) -> bool:
        base_count, base_used = (0, 0) if empty else (len(current), used + gap)
        within_count = max_count is None or base_count + count <= max_count
        return within_count and base_used + extra <= limit

    for chain in chains:
        sizes = [size(piece) for piece in chain]
        whole = sum(sizes) + gap * max(0, len(chain) - 1)
        if current and not fits(len(chain), whole, empty=False) and fits(len(chain), whole, empty=True):
            parts.append(current)
            current, used = [], 0
        for piece, piece_size in zip(chain, sizes, strict=True):
            if piece_size > limit:
                raise ValueError(f"a piece of size {piece_size} cannot fit the limit {limit}")
            if current and not fits(1, piece_size, empty=False):
                parts.append(current)
                current, used = [], 0
            used += piece_size + (gap if current else 0)
            current.append(piece)
    if current:
        parts.append(current)
    return parts


def cut_block(block: Block, budget: int, cost: SpanCost, *, first_budget: int | None = None) -> list[Block]:
    """Cut a block into pieces of at most `budget` (the first piece: `first_budget`, if given)."""
    return BlockCursor(block, cost).pieces(budget, first_budget)


def cut_once(block: Block, budget: int, cost: SpanCost) -> tuple[Block, Block | None]:
    """The longest good head of `block` within `budget`, and what is left (None when it all fits)."""
    cursor = BlockCursor(block, cost)
    head = cursor.cut(budget)
    return head, (None if cursor.finished else cursor.rest())
