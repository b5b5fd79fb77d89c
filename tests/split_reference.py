"""The splitter as it was before it became linear: the oracle tests/test_split_linear.py compares
the linear one with, on arbitrary blocks and cost functions.

It re-costs the whole rest of a block for every part it cuts (quadratic in the size of a block), so
it lives here, in tests only. The helpers that did not change are imported from the real module.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from bot.core.model import Span
from bot.render.cuts import LOOKAHEAD, SENTENCE_END, SPACE_AFTER_TEXT, safe_break, strip_end
from bot.render.split import BLOCK_BREAK, LINE_BREAK, Block, Line, SpanCost, block_cost, line_cost


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
            return index, safe_break(text, reach, first_visible + 1)
        return None
    raise AssertionError("block exceeds the budget but every line fits")


def _apply_cut(block: Block, index: int, offset: int) -> tuple[Block, Block | None]:
    lines = block.lines
    if offset < 0:
        rest = lines[index + 1 :]
        return Block(lines[: index + 1]), (Block(rest) if rest else None)
    line = lines[index]
    length = sum(len(span.text) for span in line)
    head_line = strip_end(_slice(line, 0, offset))
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
    for match in SENTENCE_END.finditer(text, 0, min(len(text), reach + LOOKAHEAD)):
        if match.end() > reach:
            break
        if match.end() < last_visible:
            best = match.end()
    return best


def _space_starts(text: str, reach: int) -> int | None:
    """The last offset <= reach of a whitespace run with visible text on both sides."""
    last_visible = len(text.rstrip())
    best = None
    for match in SPACE_AFTER_TEXT.finditer(text, 0, min(len(text), reach + 1)):
        if match.start() < last_visible:
            best = match.start()
    return best


def _slice(line: Line, start: int, end: int) -> Line:
    spans: list[Span] = []
    position = 0
    for span in line:
        low, high = max(start, position), min(end, position + len(span.text))
        if low < high:
            spans.append(replace(span, text=span.text[low - position : high - position]))
        position += len(span.text)
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
