"""`richtext._tidy` works on runs of characters for speed; it must agree with the obvious per-character
definition of its rules, kept here as the reference."""

from __future__ import annotations

from dataclasses import replace
from itertools import groupby

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.model import Paragraph, Span
from bot.core.richtext import _style, _tidy


def reference_tidy(spans: list[Span]) -> Paragraph:
    """Character by character: collapse spaces outside code, none around line breaks, trim, merge styles."""
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
            elif char == " ":
                if chars and (chars[-1][1].code or chars[-1][0] not in " \n"):
                    chars.append((char, span))
            else:
                chars.append((char, span))
    while chars and chars[-1][0] in " \n" and not chars[-1][1].code:
        chars.pop()
    return tuple(
        replace(run[0][1], text="".join(char for char, _ in run))
        for run in (list(group) for _, group in groupby(chars, key=lambda pair: _style(pair[1])))
    )


spans = st.builds(
    Span,
    text=st.text(alphabet=" \n\ta\u3000*", max_size=6),
    bold=st.booleans(),
    italic=st.booleans(),
    code=st.booleans(),
    link=st.sampled_from([None, "https://example.com/"]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(spans, max_size=12))
def test_tidy_agrees_with_the_per_character_rules(items: list[Span]) -> None:
    assert _tidy(items) == reference_tidy(items)


def test_tidy_examples() -> None:
    bold = Span("", bold=True)
    spans = [
        Span("  a   b "),
        replace(bold, text=" c "),
        Span(" \n  d"),
        Span(" `x` ", code=True),
        Span("  \n \n"),
    ]
    assert _tidy(spans) == (
        Span("a b "),
        replace(bold, text="c"),
        Span("\nd"),
        Span(" `x` ", code=True),
    )
