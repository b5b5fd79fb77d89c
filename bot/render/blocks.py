"""What the splitter works on: blocks of lines of styled spans, and what they cost in a part.

The cost of a span is the platform's: a platform counting UTF-16 units passes one cost function, a
platform counting the markdown it will emit another; the splitter only adds them up.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.core.model import Span

Line = tuple[Span, ...]
# What a span adds to a part. It must be at least the span's length in characters and 0 for an empty
# span (which renders to nothing): the splitter relies on both to skip costing slices that cannot fit.
SpanCost = Callable[[Span], int]

LINE_BREAK = "\n"
BLOCK_BREAK = "\n\n"


@dataclass(frozen=True, slots=True)
class Block:
    """A unit the splitter keeps together when it can: the header or one item, as lines of spans."""

    lines: tuple[Line, ...]


def line_cost(line: Line, cost: SpanCost) -> int:
    """Cost of a line: its spans side by side."""
    return sum(cost(span) for span in line)


def block_cost(block: Block, cost: SpanCost) -> int:
    """Cost of a block rendered with one line break between its lines."""
    return sum(line_cost(line, cost) for line in block.lines) + len(LINE_BREAK) * max(0, len(block.lines) - 1)
