"""Feed-entry HTML: read with the same rules as markdown posts, hostile markup made harmless."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from selectolax.lexbor import LexborNode

import bot.core.html_items as html_items_module
from bot.core.errors import DigestError
from bot.core.html_items import html_items, parse_html_digest
from bot.core.model import Span, plain_text
from bot.core.parse import parse_digest

WHEN = datetime(2025, 11, 20, 12, tzinfo=UTC)

MARKDOWN = """---
title: T
date: 2025-11-20T12:00:00Z
---

1.  [Robot folds laundry - Li Hua](https://example.com/robot)

    A **humanoid** robot folds *towels* with `policy-v2`; see
    [the video](https://example.com/video) and [bad](javascript:void(0)).

    第二段中文
    继续。

    分类：机器人、研究

2.  Plain headline without link
"""

HTML = """
<p>Intro paragraph.</p>
<ol>
  <li>
    <p><a href="https://example.com/robot">Robot folds laundry - Li Hua</a></p>
    <p>A <strong>humanoid</strong> robot folds <em>towels</em> with <code>policy-v2</code>; see
       <a href="https://example.com/video">the video</a> and <a href="javascript:void(0)">bad</a>.</p>
    <p>第二段中文
       继续。</p>
    <p>分类：机器人、研究</p>
  </li>
  <li>Plain headline without link</li>
</ol>
"""


def nested(depth: int) -> object:
    value: object = 1
    for _ in range(depth):
        value = [value]
    return value


def entry(html: str, **changes: object) -> object:
    fields: dict[str, object] = {"source": "feed:entry-1", "id": "entry-1", "title": "T", "date": WHEN}
    fields.update(changes)
    return parse_html_digest(html, **fields)  # type: ignore[arg-type]


def test_html_and_markdown_give_the_same_items() -> None:
    assert html_items(HTML) == parse_digest(MARKDOWN, "post.md").items
    first = html_items(HTML)[0]
    assert first.summary[0][1] == Span("humanoid", bold=True)
    assert first.source_categories == ("机器人", "研究")


def test_parse_html_digest_fields() -> None:
    digest = entry(
        HTML,
        title="  2025.11.20.12  digest ",
        categories=(" AI ", "AI", "", "Robots"),
        metadata={"published": WHEN, "tags": ("a",)},
    )
    assert digest.id == "entry-1"
    assert digest.title == "2025.11.20.12 digest"
    assert digest.date == WHEN
    assert digest.categories == ("AI", "Robots")
    assert digest.metadata == {"published": "2025-11-20T12:00:00+00:00", "tags": ["a"]}
    assert digest.source == "feed:entry-1"
    assert [i.number for i in digest.items] == [1, 2]


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"id": " "}, "feed entry has no id"),
        ({"title": ""}, "feed entry has no title"),
        ({"date": datetime(2025, 11, 20, 12)}, "feed entry date has no time zone"),
        ({"metadata": {"x": nested(40)}}, "feed entry metadata is nested deeper than 32 levels"),
        (
            {"date": datetime(9999, 12, 31, 23, tzinfo=UTC)},
            "feed entry date 9999-12-31T23:00:00+00:00 is outside",
        ),
        ({"date": datetime(1, 1, 1, 3, tzinfo=UTC)}, "feed entry date 0001-01-01T03:00:00+00:00 is outside"),
    ],
)
def test_bad_entry_fields(changes: dict[str, object], reason: str) -> None:
    with pytest.raises(DigestError) as caught:
        entry("<ol><li>x</li></ol>", **changes)
    assert caught.value.source == "feed:entry-1"
    assert caught.value.line is None
    assert caught.value.reason.startswith(reason)


def test_scripts_styles_and_comments_are_dropped() -> None:
    (item,) = html_items(
        "<ol><li><a href='https://a.example/'>T</a><script>alert(1)</script><style>p{}</style>"
        "<p>safe<!-- hidden --> text<noscript>no</noscript></p></li></ol>"
    )
    assert item.summary == ((Span("safe text"),),)


def test_only_http_links_survive_and_raw_markup_is_text() -> None:
    (item,) = html_items(
        "<ol><li><a href=' JavaScript:alert(1)'>Bad - Eve</a> <a href='data:text/html,x'>d</a> "
        "<a href='/relative'>r</a> <a>none</a> <a href='HTTPS://A.example/ok'>ok</a> &lt;b&gt;</li></ol>"
    )
    assert (item.title, item.author, item.url) == ("Bad", "Eve", None)
    assert item.summary == ((Span("d r none "), Span("ok", link="HTTPS://A.example/ok"), Span(" <b>")),)


def test_numbering_follows_html_rules() -> None:
    html = (
        "<ol start='4'><li>a</li><li value='10'>b</li><li>c</li></ol>"
        "<ol reversed><li>x</li><li>y</li><li>z</li></ol>"
        "<ol start='oops'><li>q</li></ol><ul><li>not an item</li></ul>"
    )
    assert [(i.number, i.title) for i in html_items(html)] == [
        (4, "a"),
        (10, "b"),
        (11, "c"),
        (3, "x"),
        (2, "y"),
        (1, "z"),
        (1, "q"),
    ]


def test_nested_lists_stay_inside_their_item() -> None:
    (item,) = html_items(
        "<ol><li>Top<ol start='2'><li>inner <b>one</b></li><li>inner two</li></ol>"
        "<ul><li>dot</li></ul></li></ol>"
    )
    assert item.title == "Top"
    assert [plain_text(p) for p in item.summary] == ["2. inner one", "3. inner two", "• dot"]


def test_inline_tags_breaks_and_pre() -> None:
    (item,) = html_items(
        "<ol><li><b>Title</b><br>line <i>two</i><br>line <s>three</s> <del>x</del> <kbd>Ctrl  C</kbd> "
        "<img src='x.png' alt='a chart'><pre>  code\n  block</pre><div>after</div></li></ol>"
    )
    assert item.title == "Title line two line three x Ctrl C a chart"
    assert item.summary == ((Span("  code\n  block", code=True),), (Span("after"),))


def test_text_after_title_link_and_br() -> None:
    (item,) = html_items(
        "<ol><li><strong><a href='https://a.example/t'>Headline - Writer</a></strong><br>"
        "Summary with <u>underline</u> and&nbsp;nbsp.</li></ol>"
    )
    assert (item.title, item.author, item.url) == ("Headline", "Writer", "https://a.example/t")
    assert item.summary == ((Span("Summary with underline and\xa0nbsp."),),)


def test_no_list_means_no_items_and_broken_html_is_repaired() -> None:
    assert html_items("<p>just text</p>") == ()
    assert html_items("") == ()
    (item,) = html_items("<ol><li><p><b>unclosed <i>tags")
    assert item.title == "unclosed tags"


def test_each_list_is_numbered_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Numbering a nested <li> by re-walking its list made a long nested list cost quadratic time."""
    walks: list[int] = []
    numbered = html_items_module._numbered

    def counting(ordered: LexborNode) -> Iterator[tuple[int, LexborNode]]:
        walks.append(1)
        return numbered(ordered)

    monkeypatch.setattr(html_items_module, "_numbered", counting)
    (item,) = html_items("<ol><li>Top<ol start='7'>" + "<li>x</li>" * 300 + "</ol></li></ol>")
    assert [plain_text(p) for p in item.summary][::299] == ["7. x", "306. x"]
    assert len(walks) == 2


def test_lists_nested_without_list_items_are_all_top_level() -> None:
    items = html_items(
        "<div><ol><li>A</li><ol start='5'><li>B</li></ol></ol></div><ol><li>C<ol><li>D</li></ol></li></ol>"
    )
    assert [(i.number, i.title) for i in items] == [(1, "A"), (5, "B"), (1, "C")]


def test_deeply_nested_markup_does_not_recurse() -> None:
    html = "<ol><li>T<p>" + "<span>" * 5000 + "deep" + "</span>" * 5000 + "</p></li></ol>"
    (item,) = html_items(html)
    assert item.summary == ((Span("deep"),),)


TAGS = ("<ol>", "</ol>", "<li>", "</li>", "<ul>", "<a href='https://a.example/'>", "<a href='javascript:x'>")


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.sampled_from(
                [*TAGS, "</a>", "<b>", "</b>", "<p>", "<br>", "<pre>", "<script>", " - ", "\n", "中文"]
            ),
            st.text(max_size=6),
        ),
        max_size=50,
    )
)
def test_random_html_never_fails(pieces: list[str]) -> None:
    digest = entry("".join(pieces))
    for item in digest.items:
        assert item.title
        for paragraph in item.summary:
            assert paragraph
            assert all(span.link is None or span.link.startswith("https://") for span in paragraph)
