"""The nesting estimate that keeps lexbor's depth-times-tags cost away from hostile feed entries."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from selectolax.lexbor import LexborHTMLParser, LexborNode

from bot.core.errors import DigestError
from bot.core.html_depth import MAX_HTML_DEPTH, nests_deeper_than
from bot.core.html_items import parse_html_digest


def real_depth(html: str) -> int:
    """The deepest element below <body> in the tree lexbor builds."""
    tree = LexborHTMLParser(html)
    deepest = 0
    stack: list[tuple[LexborNode, int]] = [(tree.body, 0)] if tree.body is not None else []
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in node.iter())
    return deepest


@pytest.mark.parametrize(
    "html",
    [
        "<ol>" + "<li>item" * 5000 + "</ol>",  # list items left open, as HTML allows
        "<p>one" * 5000,
        "<dl>" + "<dt>t<dd>d" * 5000 + "</dl>",
        "<table>" + "<tr><td>a<td>b" * 5000 + "</table>",
        "<ul><li><p>a" * 100 + "</ul>" * 100 + "<div></div>" * 5000,
        "<br><img src=x><hr>" * 5000,
        "a < b and <3 " * 5000,
        "</div>" * 5000 + "<div>x</div>",
    ],
    ids=["open-li", "open-p", "open-dt-dd", "open-td", "p-in-lists", "void", "text-lt", "stray-ends"],
)
def test_wide_or_sloppy_but_shallow_markup_passes(html: str) -> None:
    assert not nests_deeper_than(html)


@pytest.mark.parametrize(
    "html",
    [
        "<span>" * (MAX_HTML_DEPTH + 1) + "<p></p>" * 10,
        "<div>" * (MAX_HTML_DEPTH + 1),
        "<ol><li>" * (MAX_HTML_DEPTH // 2 + 1),
        "<DIV><Span>" * (MAX_HTML_DEPTH // 2 + 1),
        # A block's end tag does close the <b> above it, but the parser reopens every such formatting
        # element (distinct attributes defeat its limit of three) at the next text: lexbor nests these
        # 601 deep. So the estimate must not let a block end tag pop formatting elements.
        "".join(f"<p><b id={n}>x</p>" for n in range(MAX_HTML_DEPTH + 1)),
        "<div/>" * (MAX_HTML_DEPTH + 1),  # outside SVG and MathML, "/>" opens an element like ">"
    ],
    ids=["span-then-p", "div", "ol-li", "upper-case", "reopened-formatting", "html-self-closing"],
)
def test_deep_nesting_is_caught(html: str) -> None:
    assert nests_deeper_than(html)


TAGS = (
    "div",
    "span",
    "li",
    "ol",
    "p",
    "b",
    "i",
    "a",
    "table",
    "tr",
    "td",
    "dt",
    "dd",
    "pre",
    "select",
    "option",
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            ["<div>", "</div>", "<span>", "</span>", "<li>", "</li>", "<ol>", "</ol>", "<p>", "x"]
        ),
        max_size=80,
    )
)
def test_the_estimate_never_undercounts_the_real_tree(pieces: list[str]) -> None:
    """What lexbor really builds is never deeper than the estimate allows (here: limit = its depth)."""
    html = "".join(pieces)
    depth = real_depth(html)
    if depth > 1:
        assert nests_deeper_than(html, limit=depth - 1)


def test_a_deeply_nested_feed_entry_is_rejected_before_parsing() -> None:
    html = "<ol><li>T" + "<span>" * 50_000 + "<p></p>" * 50_000 + "</li></ol>"
    with pytest.raises(DigestError) as caught:
        parse_html_digest(html, source="feed:e", id="e", title="T", date=datetime(2031, 1, 1, tzinfo=UTC))
    assert caught.value.reason == f"feed entry HTML nests deeper than {MAX_HTML_DEPTH} elements"
