"""The linear splitter gives exactly what the quadratic one gave, and its work grows with the size
of a block, not with the size times the number of parts.

The equivalence runs the splitter and tests/split_reference.py (the old algorithm) on arbitrary
blocks, budgets and cost functions; the work is counted (cost calls and the characters they cost),
never timed, so a regression to quadratic behaviour fails here whatever the machine's load.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
import split_reference as reference
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core.model import Span
from bot.platforms.discord import markdown
from bot.render.limits import utf16_length
from bot.render.split import Block, SpanCost, cut_block, cut_once, split_blocks

EQUIVALENCE = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TOKENS = [
    *"abXY09",
    " ",
    "  ",
    "\t",
    ". ",
    "! ",
    "?",
    "。",
    "！",
    "」",
    "”",
    "字",
    "😀",
    "👍🏽",
    "👨\u200d👩\u200d👧",
    "🇨🇳🇫🇷",
    "e\u0301",
    "❤\ufe0f",
    "*_`~|[]()<>&@",
    "@everyone",
    "https://example.com/a_(b)",
    "1. ",
    "# ",
]
COSTS: dict[str, SpanCost] = {
    "chars": lambda span: len(span.text),
    "utf16": lambda span: utf16_length(span.text),
    "discord": markdown.Markup(suppress_embeds=False).cost,
    "discord-suppressed": markdown.Markup(suppress_embeds=True).cost,
    "markup": lambda span: (
        (len(span.text) + (len(span.link) + 4 if span.link else 0) + 4 * span.bold) if span.text else 0
    ),
}

LINKS = [None, None, "https://example.com/x", "https://example.com/" + "p" * 40]


def styled(text: str, style: int, link: str | None) -> Span:
    """A span from a text and four style bits (one draw instead of four keeps generation fast)."""
    return Span(
        text,
        bold=bool(style & 1),
        italic=bool(style & 2),
        code=bool(style & 4),
        strike=bool(style & 8),
        link=link,
    )


short_text = st.lists(st.sampled_from(TOKENS), max_size=10).map("".join)
long_run = st.builds(
    lambda c, n: c * n, st.sampled_from(["a", "字", "😀", "e\u0301", "  ", ". "]), st.integers(20, 150)
)
spans = st.builds(styled, st.one_of(*[short_text] * 4, long_run), st.integers(0, 15), st.sampled_from(LINKS))
lines = st.lists(spans, min_size=0, max_size=6).map(tuple)
blocks = st.lists(lines, min_size=0, max_size=4).map(lambda found: Block(tuple(found)))


def outcome(work: Callable[[], object]) -> object:
    """The result, or the error it raised (both splitters must fail alike on a hopeless budget)."""
    try:
        return work()
    except ValueError as exc:
        return ("ValueError", str(exc))


@EQUIVALENCE
@given(block=blocks, budget=st.integers(6, 80), first=st.integers(6, 80), cost=st.sampled_from(sorted(COSTS)))
def test_cutting_a_block_gives_what_the_old_splitter_gave(
    block: Block, budget: int, first: int, cost: str
) -> None:
    measure = COSTS[cost]
    assert outcome(lambda: cut_block(block, budget, measure, first_budget=first)) == outcome(
        lambda: reference.cut_block(block, budget, measure, first_budget=first)
    )
    assert outcome(lambda: cut_once(block, budget, measure)) == outcome(
        lambda: reference.cut_once(block, budget, measure)
    )


@EQUIVALENCE
@given(
    found=st.lists(blocks, min_size=1, max_size=4),
    limit=st.integers(16, 120),
    cost=st.sampled_from(sorted(COSTS)),
)
def test_splitting_blocks_into_parts_gives_what_the_old_splitter_gave(
    found: list[Block], limit: int, cost: str
) -> None:
    measure = COSTS[cost]
    assert outcome(lambda: split_blocks(found, limit, measure)) == outcome(
        lambda: reference.split_blocks(found, limit, measure)
    )


@dataclass
class Counted:
    """A cost function that counts its calls and the characters it was asked to cost."""

    cost: SpanCost
    calls: int = 0
    chars: int = 0

    def __call__(self, span: Span) -> int:
        self.calls += 1
        self.chars += len(span.text)
        return self.cost(span)


def work(block: Block, budget: int) -> Counted:
    counted = Counted(COSTS["discord"])
    split_blocks([Block(((Span("header", bold=True),),)), block], budget, counted)
    return counted


def bold_run(count: int) -> Block:
    return Block(((*(span for n in range(count) for span in (Span(f"b{n:05}", bold=True), Span(" "))),),))


def link_lines(count: int) -> Block:
    return Block(
        tuple(
            (Span(f"link {n:05}", link=f"https://e.com/{n:05}"), Span(". More text.")) for n in range(count)
        )
    )


@pytest.mark.parametrize(
    "shape",
    [
        bold_run,
        link_lines,
        lambda n: Block(((Span("字" * 4 * n),),)),
        lambda n: Block(((Span("plain words " * n, italic=True),),)),
    ],
    ids=["bold-run", "link-lines", "one-huge-span", "huge-styled-span"],
)
def test_the_work_of_cutting_grows_linearly_with_the_block(shape: Callable[[int], Block]) -> None:
    small, large = work(shape(1_000), 500), work(shape(4_000), 500)
    assert large.calls <= 4.6 * small.calls
    assert large.chars <= 4.6 * small.chars


def test_each_span_is_costed_about_once_however_many_parts_it_makes() -> None:
    block = bold_run(2_000)
    counted = work(block, 300)
    parts = len(split_blocks([block], 300, COSTS["discord"]))
    spans = len(block.lines[0])
    assert parts > 50
    # Once each for the block's size, then per part a bisection of about 15 probes of short slices.
    assert counted.calls <= 1.2 * spans + 20 * parts
    assert counted.chars <= 1.5 * sum(len(span.text) for span in block.lines[0])
