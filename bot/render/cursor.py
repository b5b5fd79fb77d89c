"""A block being cut front to back, in time linear in its size.

Every span is costed once into per-line prefix sums, a cut is found by bisecting those, and what is
left is a position in the block, not a new block that would be costed again for every part. The
rule for where a cut falls is in the docstring of bot/render/split.py.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass, replace
from itertools import accumulate

from bot.core.model import Span
from bot.render.blocks import LINE_BREAK, Block, Line, SpanCost
from bot.render.cuts import LOOKAHEAD, VISIBLE, safe_break, sentence_ends, space_starts, strip_end


@dataclass(frozen=True, slots=True)
class LineText:
    """A line's text and where each span starts in it, built only for a line that gets cut."""

    text: str
    starts: list[int]  # one per span, then the length of the text
    last_visible: int  # the length of the text without its trailing whitespace


class BlockCursor:
    """A block being cut front to back in time linear in its size: every span is costed once into
    per-line prefix sums, a cut is found by bisecting those, and what is left is a position in the
    block (line, character, and whether the span there lost its formatting), not a new block that
    would be costed again for every part."""

    def __init__(self, block: Block, cost: SpanCost) -> None:
        self.block = block
        self.lines = block.lines
        self.cost = cost
        self.sums = [list(accumulate(map(cost, line), initial=0)) for line in self.lines]
        self.after = [0] * (len(self.lines) + 1)  # cost of the line breaks and lines after line i
        for index in range(len(self.lines) - 2, -1, -1):
            self.after[index] = len(LINE_BREAK) + self.sums[index + 1][-1] + self.after[index + 1]
        self.texts: dict[int, LineText] = {}
        self.finished = False
        self.line = 0  # the first line not wholly taken
        self.start = 0  # characters of that line already taken, with the whitespace at the cut
        self.first = 0  # the span holding that position
        self.plain = False  # whether that span has lost its formatting (its markup cannot fit)
        self.first_cost: int | None = None  # cost of what is left of that span, once needed

    def remaining(self, bound: int | None = None) -> int:
        """Cost of what is left of the block (with `bound`: or `bound + 1` if it certainly exceeds it)."""
        return self._line_cost(self.line, bound) + self.after[self.line] if self.lines else 0

    def pieces(self, budget: int, first_budget: int | None = None) -> list[Block]:
        """What is left, cut into pieces of at most `budget` (the first: `first_budget`, if given)."""
        pieces: list[Block] = []
        limit = budget if first_budget is None else first_budget
        while not self.finished:
            pieces.append(self.cut(limit))
            limit = budget
        return pieces

    def cut(self, budget: int) -> Block:
        """Take the longest good head within `budget`; a span whose markup alone cannot fit is made plain."""
        while self.remaining(budget) > budget:
            cut = self.find_cut(budget)
            if cut is not None:
                return self.take(*cut)
            first = self._span(self.line, self.first, self.start)
            if first == Span(first.text):
                raise ValueError(f"budget {budget} is too small for a single character")
            self.plain = True
            self._move(self.line, self.start)
        return self.rest()

    def rest(self) -> Block:
        """All that is left, as one block; the cursor is then finished."""
        self.finished = True
        if self.line == 0 and self.start == 0 and not self.plain:
            return self.block
        return Block(tuple(self._line(index) for index in range(self.line, len(self.lines))))

    def find_cut(self, budget: int) -> tuple[int, int] | None:
        """(line index, offset in what is left of that line) of the best cut within `budget`, by the
        rule of the module docstring; offset -1 means after the line, None means no cut fits."""
        half = budget / 2
        last_break: tuple[int, int] | None = None  # (cost so far, line index) for a cut after that line
        used = 0
        for index in range(self.line, len(self.lines)):
            sep = len(LINE_BREAK) if index > self.line else 0
            this = self._line_cost(index, budget - used - sep)
            if used + sep + this <= budget:
                used += sep + this
                last_break = (used, index)
                continue
            room = budget - used - sep
            begin = self._begin(index)
            info = self._text(index)
            reach = self._reach(index, room)
            text = info.text[begin : begin + reach + LOOKAHEAD]
            last_visible = max(0, info.last_visible - begin)
            start = used + sep
            sentence = sentence_ends(text, reach, last_visible)
            space = space_starts(text, reach, last_visible)
            if sentence is not None and start + self._prefix(index, sentence) >= half:
                return index, sentence
            if last_break is not None and last_break[0] >= half:
                return last_break[1], -1
            if space is not None and start + self._prefix(index, space) >= half:
                return index, space
            if sentence is not None:
                return index, sentence
            if last_break is not None:
                return last_break[1], -1
            first_visible = len(text) - len(text.lstrip())
            if reach > first_visible:
                return index, safe_break(text, reach, first_visible + 1)
            return None
        raise AssertionError("block exceeds the budget but every line fits")

    def take(self, index: int, offset: int) -> Block:
        """The head up to a cut found by `find_cut`; the cursor moves past it and the whitespace there."""
        lines = [self._line(i) for i in range(self.line, index)]
        if offset < 0:
            lines.append(self._line(index))
            self._next_line(index + 1)
            return Block(tuple(lines))
        cut = self._begin(index) + offset
        head = strip_end(self._slice(index, self._begin(index), cut))
        if head:
            lines.append(head)
        visible = VISIBLE.search(self._text(index).text, cut)
        if visible is None:
            self._next_line(index + 1)
        else:
            self._move(index, visible.start())
        return Block(tuple(lines))

    def _next_line(self, index: int) -> None:
        if index < len(self.lines):
            self._move(index, 0)
        else:
            self.finished = True

    def _move(self, index: int, start: int) -> None:
        first = 0 if start == 0 else self._span_at(index, start)
        self.plain = self.plain and index == self.line and first == self.first
        self.line, self.start, self.first = index, start, first
        self.first_cost = None

    def _begin(self, index: int) -> int:
        return self.start if index == self.line else 0

    def _line_cost(self, index: int, bound: int | None = None) -> int:
        """Cost of what is left of line `index` (with `bound`: or `bound + 1` if it certainly exceeds it)."""
        sums = self.sums[index]
        if index != self.line or (self.start == 0 and not self.plain):
            return sums[-1]
        return self._first_cost(bound) + sums[-1] - sums[self.first + 1]

    def _first_cost(self, bound: int | None) -> int:
        """Cost of what is left of the span the cursor is in. With `bound`, a rest longer than `bound`
        characters is not costed (it cannot fit) and `bound + 1` is returned: re-costing the rest of
        a huge span for every part would make cutting it quadratic."""
        if self.first_cost is None:
            length = self._text(self.line).starts[self.first + 1] - self.start
            if bound is not None and length > bound:
                return bound + 1
            self.first_cost = self.cost(self._span(self.line, self.first, self.start))
        return self.first_cost

    def _text(self, index: int) -> LineText:
        info = self.texts.get(index)
        if info is None:
            line = self.lines[index]
            text = "".join(span.text for span in line)
            starts = list(accumulate((len(span.text) for span in line), initial=0))
            info = self.texts[index] = LineText(text, starts, len(text.rstrip()))
        return info

    def _span(self, index: int, number: int, low: int, high: int | None = None) -> Span:
        """Span `number` of line `index` cut to the characters low..high of the line, plain if it lost
        its formatting."""
        span = self.lines[index][number]
        if low or high is not None:
            begin = self._text(index).starts[number]
            text = span.text[max(0, low - begin) : None if high is None else high - begin]
            span = span if text == span.text else replace(span, text=text)
        plain = self.plain and index == self.line and number == self.first
        return Span(span.text) if plain else span

    def _line(self, index: int) -> Line:
        """What is left of line `index`."""
        begin = self._begin(index)
        if begin:
            return self._slice(index, begin, len(self._text(index).text))
        line = self.lines[index]
        if self.plain and index == self.line:
            return (self._span(index, 0, 0), *line[1:])
        return line

    def _slice(self, index: int, low: int, high: int) -> Line:
        """The characters low..high of line `index`, each span keeping its style; empty spans dropped."""
        starts = self._text(index).starts
        spans: list[Span] = []
        for number in range(self._span_at(index, low), len(self.lines[index])):
            if starts[number] >= high:
                break
            if max(low, starts[number]) < min(high, starts[number + 1]):
                spans.append(self._span(index, number, low, high if high < starts[number + 1] else None))
        return tuple(spans)

    def _span_at(self, index: int, position: int) -> int:
        """The non-empty span of line `index` holding character `position`."""
        return bisect_right(self._text(index).starts, position, hi=len(self.lines[index])) - 1

    def _prefix(self, index: int, k: int) -> int:
        """Cost of the first k characters of what is left of line `index`."""
        return self._prefix_within(index, k, None)

    def _prefix_within(self, index: int, k: int, room: int | None) -> int:
        """Like `_prefix`, but when `room` is given a prefix that certainly exceeds it (by the cost's
        lower bound of one per character) is not costed and `room + 1` is returned: cutting a huge
        span then costs only the slices near the budget."""
        if k <= 0:
            return 0
        begin = self._begin(index)
        first = self.first if index == self.line else 0
        starts, sums = self._text(index).starts, self.sums[index]
        target = begin + k
        number = bisect_left(starts, target, first + 1, len(self.lines[index])) - 1
        before = 0
        if number != first:
            before = self._line_cost(index, room) - sums[-1] + sums[number]
        if room is not None and before + target - max(begin, starts[number]) > room:
            return room + 1
        return before + self.cost(self._span(index, number, begin if number == first else 0, target))

    def _reach(self, index: int, room: int) -> int:
        """The largest k whose prefix cost fits `room` (0 when not even one character fits)."""
        if room <= 0:
            return 0
        low, high = 0, len(self._text(index).text) - self._begin(index)
        while low < high:
            middle = (low + high + 1) // 2
            if self._prefix_within(index, middle, room) <= room:
                low = middle
            else:
                high = middle - 1
        return low
