"""The one splitter: cut rendered content into parts that each fit a platform limit.

It works on the model's styled spans, before any markup exists, so a cut can never fall inside a
tag, an entity or an escape, and every part re-opens its own formatting (each span renders whole).
Platforms differ only in the cost function they pass: Telegram counts visible UTF-16 units, Discord
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
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TypeVar

from bot.core.model import Span

Line = tuple[Span, ...]
SpanCost = Callable[[Span], int]
T = TypeVar("T")

LINE_BREAK = "\n"
BLOCK_BREAK = "\n\n"
_CLOSERS = "\"'”’」』）)\\]】》"
_SENTENCE_END = re.compile(f"[。！？][{_CLOSERS}]*|[.!?][{_CLOSERS}]*(?=\\s)")
_SPACE_AFTER_TEXT = re.compile(r"(?<=\S)\s")
_LOOKAHEAD = 64
_ZWJ = "\u200d"


@dataclass(frozen=True, slots=True)
class Block:
    """A unit the splitter keeps together when it can: the header or one item, as lines of spans."""

    lines: tuple[Line, ...]


def line_cost(line: Line, cost: SpanCost) -> int:
    return sum(cost(span) for span in line)


def block_cost(block: Block, cost: SpanCost) -> int:
    """Cost of a block rendered with one line break between its lines."""
    return sum(line_cost(line, cost) for line in block.lines) + len(LINE_BREAK) * max(0, len(block.lines) - 1)


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
        size = block_cost(block, cost)
        gap = len(BLOCK_BREAK) if current else 0
        if used + gap + size <= limit:
            current.append(block)
            used += gap + size
            continue
        rest: Block | None = block
        room = limit - used - gap
        if size > limit and current and room >= limit // 4 and _find_cut(block, room, cost) is not None:
            head, rest = cut_once(block, room, cost)
            current.append(head)
        if current:
            parts.append(current)
        pieces = cut_block(rest, limit, cost) if rest is not None else []
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
    pieces: list[Block] = []
    rest: Block | None = block
    limit = budget if first_budget is None else first_budget
    while rest is not None:
        head, rest = cut_once(rest, limit, cost)
        pieces.append(head)
        limit = budget
    return pieces


def cut_once(block: Block, budget: int, cost: SpanCost) -> tuple[Block, Block | None]:
    """The longest good head of `block` within `budget`, and what is left (None when it all fits)."""
    if block_cost(block, cost) <= budget:
        return block, None
    cut = _find_cut(block, budget, cost)
    if cut is None:
        first = block.lines[0][0]
        plain = Span(first.text)
        if first == plain:
            raise ValueError(f"budget {budget} is too small for a single character")
        degraded = Block(((plain, *block.lines[0][1:]), *block.lines[1:]))
        return cut_once(degraded, budget, cost)
    return _apply_cut(block, *cut)


def _find_cut(block: Block, budget: int, cost: SpanCost) -> tuple[int, int] | None:
    """(line index, offset in that line's text) of the best cut; offset -1 means after the line."""
    half = budget / 2
    breaks: list[tuple[int, int]] = []  # (prefix cost, line index) for a cut after that line
    used = 0
    for index, line in enumerate(block.lines):
        sep = len(LINE_BREAK) if index else 0
        this = line_cost(line, cost)
        if used + sep + this <= budget:
            used += sep + this
            breaks.append((used, index))
            continue
        room = budget - used - sep
        prefix = _PrefixCost(line, cost)
        reach = prefix.reach(room)
        text = prefix.text
        start = used + sep
        sentence = _sentence_ends(text, reach)
        space = _space_starts(text, reach)
        if sentence is not None and start + prefix(sentence) >= half:
            return index, sentence
        if breaks and breaks[-1][0] >= half:
            return breaks[-1][1], -1
        if space is not None and start + prefix(space) >= half:
            return index, space
        if sentence is not None:
            return index, sentence
        if breaks:
            return breaks[-1][1], -1
        first_visible = len(text) - len(text.lstrip())
        if reach > first_visible:
            return index, _safe_break(text, reach, first_visible + 1)
        return None
    raise AssertionError("block exceeds the budget but every line fits")


def _apply_cut(block: Block, index: int, offset: int) -> tuple[Block, Block | None]:
    lines = block.lines
    if offset < 0:
        rest = lines[index + 1 :]
        return Block(lines[: index + 1]), (Block(rest) if rest else None)
    line = lines[index]
    length = sum(len(span.text) for span in line)
    head_line = _strip_end(_slice(line, 0, offset))
    tail_line = _strip_start(_slice(line, offset, length))
    head = Block((*lines[:index], head_line)) if head_line else Block(lines[:index])
    tail_lines = ((tail_line,) if tail_line else ()) + lines[index + 1 :]
    return head, (Block(tail_lines) if tail_lines else None)


class _PrefixCost:
    """Cost of the first k characters of a line, each span cut keeping its style."""

    def __init__(self, line: Line, cost: SpanCost) -> None:
        self.line = line
        self.cost = cost
        self.text = "".join(span.text for span in line)
        self.starts: list[int] = []
        self.cumulative: list[int] = []
        position = total = 0
        for span in line:
            self.starts.append(position)
            self.cumulative.append(total)
            position += len(span.text)
            total += cost(span)

    def __call__(self, k: int) -> int:
        for i in range(len(self.line) - 1, -1, -1):
            if self.starts[i] < k:
                span = self.line[i]
                return self.cumulative[i] + self.cost(replace(span, text=span.text[: k - self.starts[i]]))
        return 0

    def reach(self, room: int) -> int:
        """The largest k whose prefix cost fits `room` (0 when not even one character fits)."""
        if room <= 0:
            return 0
        low, high = 0, len(self.text)
        while low < high:
            middle = (low + high + 1) // 2
            if self(middle) <= room:
                low = middle
            else:
                high = middle - 1
        return low


def _sentence_ends(text: str, reach: int) -> int | None:
    """The last offset <= reach just after a sentence end (and its closing quotes), text left after it."""
    last_visible = len(text.rstrip())
    best = None
    for match in _SENTENCE_END.finditer(text, 0, min(len(text), reach + _LOOKAHEAD)):
        if match.end() > reach:
            break
        if match.end() < last_visible:
            best = match.end()
    return best


def _space_starts(text: str, reach: int) -> int | None:
    """The last offset <= reach of a whitespace run with visible text on both sides."""
    last_visible = len(text.rstrip())
    best = None
    for match in _SPACE_AFTER_TEXT.finditer(text, 0, min(len(text), reach + 1)):
        if match.start() < last_visible:
            best = match.start()
    return best


def _joins(text: str, k: int) -> bool:
    """Whether text[k-1] and text[k] belong to one visible character (a cut there would break it)."""
    before, after = text[k - 1], text[k]
    code = ord(after)
    if unicodedata.category(after) in ("Mn", "Me", "Mc") or _ZWJ in (before, after):
        return True
    if 0xFE00 <= code <= 0xFE0F or 0xE0100 <= code <= 0xE01EF or 0xE0020 <= code <= 0xE007F:
        return True
    if 0x1F3FB <= code <= 0x1F3FF or (0xDC00 <= code <= 0xDFFF and 0xD800 <= ord(before) <= 0xDBFF):
        return True
    if _regional(before) and _regional(after):
        run = 0
        while k - run - 1 >= 0 and _regional(text[k - run - 1]):
            run += 1
        return run % 2 == 1
    return False


def _regional(char: str) -> bool:
    return 0x1F1E6 <= ord(char) <= 0x1F1FF


def _safe_break(text: str, k: int, lowest: int) -> int:
    """Move a hard cut back to a character boundary; keep it if everything down to `lowest` is one
    cluster (a pathological run of combining marks must still be cut somewhere)."""
    candidate = k
    while candidate >= lowest and _joins(text, candidate):
        candidate -= 1
    return candidate if candidate >= lowest else k


def _slice(line: Line, start: int, end: int) -> Line:
    spans: list[Span] = []
    position = 0
    for span in line:
        low, high = max(start, position), min(end, position + len(span.text))
        if low < high:
            spans.append(replace(span, text=span.text[low - position : high - position]))
        position += len(span.text)
    return tuple(spans)


def _strip_end(line: Line) -> Line:
    spans = list(line)
    while spans:
        text = spans[-1].text.rstrip()
        if text:
            spans[-1] = replace(spans[-1], text=text)
            break
        spans.pop()
    return tuple(spans)


def _strip_start(line: Line) -> Line:
    spans = list(line)
    while spans:
        text = spans[0].text.lstrip()
        if text:
            spans[0] = replace(spans[0], text=text)
            break
        spans.pop(0)
    return tuple(spans)
