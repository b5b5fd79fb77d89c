"""`richtext.to_paragraph` tidies whitespace on runs of characters for speed; it must agree with the
obvious per-character definition of its rules, kept here as the reference.

The spans under test are fed in as the parser's inline events (marks, links, hard breaks), so the
tidying is tested through the public entry point, not its private helpers.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from itertools import groupby
from typing import Literal

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.model import Paragraph, Span
from bot.core.richtext import Break, Code, Event, LinkEnd, LinkStart, Mark, Text, to_paragraph

STYLES: tuple[Literal["bold", "italic", "strike"], ...] = ("bold", "italic", "strike")


def style(span: Span) -> tuple[bool, bool, bool, bool, str | None]:
    """What makes two neighbouring spans one: every attribute but the text."""
    return (span.bold, span.italic, span.code, span.strike, span.link)


def events(spans: list[Span]) -> Iterator[Event]:
    """The events a parser emits for `spans`: styles as marks, and each "\\n" outside code as a hard break."""
    for span in spans:
        opened = [name for name in STYLES if getattr(span, name)]
        yield from (Mark(name, opening=True) for name in opened)
        if span.link:
            yield LinkStart(span.link)
        if span.code:
            yield Code(span.text)
        else:
            for number, line in enumerate(span.text.split("\n")):
                if number:
                    yield Break(hard=True)
                yield Text(line)
        if span.link:
            yield LinkEnd()
        yield from (Mark(name, opening=False) for name in opened)


def reference_tidy(spans: list[Span]) -> Paragraph:
    """Character by character: tabs are spaces, collapse spaces outside code, none around line breaks,
    trim, merge styles."""
    chars: list[tuple[str, Span]] = []
    for span in spans:
        for char in span.text:
            if span.code:
                chars.append((char, span))
            elif char == "\n":
                while chars and chars[-1][0] == " " and not chars[-1][1].code:
                    chars.pop()
                if chars:
                    chars.append((char, span))
            elif char in " \t":
                if chars and (chars[-1][1].code or chars[-1][0] not in " \n"):
                    chars.append((" ", span))
            else:
                chars.append((char, span))
    while chars and chars[-1][0] in " \n" and not chars[-1][1].code:
        chars.pop()
    return tuple(
        replace(run[0][1], text="".join(char for char, _ in run))
        for run in (list(group) for _, group in groupby(chars, key=lambda pair: style(pair[1])))
    )


spans = st.builds(
    Span,
    text=st.text(alphabet=" \n\ta\u3000*", max_size=6),
    bold=st.booleans(),
    italic=st.booleans(),
    code=st.booleans(),
    strike=st.booleans(),
    link=st.sampled_from([None, "https://example.com/"]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(spans, max_size=12))
def test_tidy_agrees_with_the_per_character_rules(items: list[Span]) -> None:
    assert to_paragraph(events(items)) == reference_tidy(items)


def test_tidy_examples() -> None:
    bold = Span("", bold=True)
    spans = [
        Span("  a   b "),
        replace(bold, text=" c "),
        Span(" \n  d"),
        Span(" `x` ", code=True),
        Span("  \n \n"),
    ]
    assert to_paragraph(events(spans)) == (
        Span("a b "),
        replace(bold, text="c"),
        Span("\nd"),
        Span(" `x` ", code=True),
    )
