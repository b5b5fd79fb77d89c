"""Markdown digest posts: the item rules (titles, authors, summaries, styles, categories) and fuzzing."""

from __future__ import annotations

from datetime import UTC

from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_helpers import HEAD, body, texts

from bot.core.errors import DigestError
from bot.core.model import Span, plain_text
from bot.core.parse import parse_digest

# --- item rules ----------------------------------------------------------------------------------------


def test_soft_breaks_join_cjk_without_space_and_latin_with_one() -> None:
    digest = body("1. 标题\n\n   第一行中文\n   第二行中文\n   then English\n   and more\n   中文。\n")
    assert texts(digest) == [["第一行中文第二行中文 then English and more 中文。"]]


def test_hard_breaks_are_newlines() -> None:
    digest = body("1. Title\n\n   line one\\\n   line two  \n   line three\n")
    assert texts(digest) == [["line one\nline two\nline three"]]


def test_title_splits_on_the_last_separator_and_ignores_styles() -> None:
    (item,) = body("1. [**Big** news - part - 2 - Jane Q](https://a.example/x)\n").items
    assert (item.title, item.author) == ("Big news - part - 2", "Jane Q")


def test_link_wrapped_in_bold_still_counts_as_the_title_link() -> None:
    (item,) = body("1. **[Title - Ann](https://a.example/t)** and *then* text\n").items
    assert (item.title, item.author, item.url) == ("Title", "Ann", "https://a.example/t")
    assert item.summary == ((Span("and "), Span("then", italic=True), Span(" text")),)


def test_text_before_the_link_makes_a_plain_title() -> None:
    (item,) = body("1. Read: [Title - Ann](https://a.example/t)\n").items
    assert (item.title, item.author, item.url) == ("Read: Title - Ann", None, None)


def test_separator_after_link_is_dropped() -> None:
    assert texts(body("1. [T](https://a.example/): summary here\n")) == [["summary here"]]
    assert texts(body("1. [T](https://a.example/)：中文摘要\n")) == [["中文摘要"]]
    assert texts(body("1. [T](https://a.example/) -5% revenue\n")) == [["-5% revenue"]]


def test_empty_link_text_falls_back_to_the_url() -> None:
    (item,) = body("1. [](https://a.example/only)\n").items
    assert (item.title, item.url) == ("https://a.example/only", "https://a.example/only")


def test_autolinks_and_images() -> None:
    (item,) = body(
        "1. T\n\n   See <https://a.example/auto> and ![**chart** of X](https://i.example/c.png)\n"
    ).items
    assert item.summary == (
        (
            Span("See "),
            Span("https://a.example/auto", link="https://a.example/auto"),
            Span(" and chart of X"),
        ),
    )


def test_styles_nest_and_code_keeps_spaces() -> None:
    (item,) = body("1. T\n\n   ***both*** ~~gone **bold**~~ `a  b` [*x*](https://a.example/)\n").items
    assert item.summary == (
        (
            Span("both", bold=True, italic=True),
            Span(" "),
            Span("gone ", strike=True),
            Span("bold", bold=True, strike=True),
            Span(" "),
            Span("a  b", code=True),
            Span(" "),
            Span("x", italic=True, link="https://a.example/"),
        ),
    )


def test_nested_lists_code_blocks_quotes_and_headings_become_paragraphs() -> None:
    markdown = (
        "1. Title\n\n"
        "   - first point\n"
        "   - second point\n\n"
        "   2) nested one\n"
        "   3) nested two\n\n"
        "   ```\n   code  block\n   ```\n\n"
        "   > quoted text\n\n"
        "   ## A heading\n\n"
        "   <div>raw html</div>\n"
    )
    digest = body(markdown)
    assert len(digest.items) == 1
    assert texts(digest) == [
        [
            "• first point",
            "• second point",
            "2. nested one",
            "3. nested two",
            "code  block",
            "quoted text",
            "A heading",
            "<div>raw html</div>",
        ]
    ]
    assert digest.items[0].summary[4] == (Span("code  block", code=True),)
    assert digest.items[0].summary[6] == (Span("A heading", bold=True),)


def test_ordered_list_inside_blockquote_counts_and_bullets_do_not() -> None:
    digest = body("> 5. [Quoted - Q](https://a.example/q)\n\n- 1. not an item\n")
    assert [(i.number, i.title) for i in digest.items] == [(5, "Quoted")]


def test_empty_items_are_skipped() -> None:
    digest = body("1.\n2. [Real - R](https://a.example/r)\n3. ![](https://i.example/x.png)\n")
    assert [(i.number, i.title) for i in digest.items] == [(2, "Real")]


def test_item_starting_with_code_block_uses_it_as_title() -> None:
    (item,) = body("1.  ```\n    print('hi')\n    ```\n").items
    assert item.title == "print('hi')"


def test_category_line_variants() -> None:
    digest = body(
        "1. A\n\n   text\n\n   TAGS: x ; y\n"
        "2. B\n\n   **分类**：甲，乙、丙\n"
        "3. C\n\n   Categories:\n"
        "4. [D](https://a.example/d)\n   标签: 丁\n"
    )
    assert [i.source_categories for i in digest.items] == [("x", "y"), ("甲", "乙", "丙"), (), ("丁",)]
    assert texts(digest) == [["text"], [], ["Categories:"], []]


def test_category_line_of_a_single_paragraph_item() -> None:
    digest = body("1. Plain title\n   Categories: a, b\n2. Categories: c\n")
    assert [(i.title, i.source_categories) for i in digest.items] == [
        ("Plain title", ("a", "b")),
        ("Categories: c", ()),
    ]


def test_soft_break_after_styled_text_is_an_unstyled_space() -> None:
    (item,) = body("1. T\n\n   *it*\n   text **a\n   b**\n").items
    assert item.summary == ((Span("it", italic=True), Span(" text "), Span("a b", bold=True)),)


def test_entities_and_escapes_are_decoded() -> None:
    assert texts(body("1. T\n\n   AT&amp;T \\*not emphasis\\* &lt;tag&gt;\n")) == [
        ["AT&T *not emphasis* <tag>"]
    ]


def test_control_characters_do_not_reach_the_model() -> None:
    (item,) = body("1. T\n\n   a\x00b\x07c\td\n").items
    assert plain_text(item.summary[0]) == "a\ufffdbc d"


# --- fuzzing -------------------------------------------------------------------------------------------


def parses_or_digest_error(data: bytes | str) -> None:
    try:
        digest = parse_digest(data, "fuzz.md", default_tz=UTC)
    except DigestError as exc:
        assert exc.source == "fuzz.md"
        return
    for item in digest.items:
        assert item.title
        for paragraph in item.summary:
            assert paragraph
            assert all(span.text for span in paragraph)
            assert all(
                span.link is None or span.link.startswith(("http://", "https://")) for span in paragraph
            )


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_random_bytes_only_raise_digest_error(data: bytes) -> None:
    parses_or_digest_error(data)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["---\n", "+++\n", "{", "\ufeff---\r\n", ""]), st.text(max_size=300))
def test_random_front_matter_only_raises_digest_error(opening: str, text: str) -> None:
    parses_or_digest_error(opening + text)


MARKERS = ("1. ", "2) ", "\n", "\n\n", "   ", "[", "](", ")", "https://a.example/x", "javascript:x", " - ")
STYLES = (
    "**",
    "*",
    "~~",
    "`",
    "\\",
    "<b>",
    "![",
    "> ",
    "- ",
    "```",
    "Categories: ",
    "分类：",
    "中文",
    "、",
    "#",
)
MARKDOWN_PIECES = st.sampled_from([*MARKERS, *STYLES])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(MARKDOWN_PIECES, st.text(max_size=5)), max_size=60))
def test_random_markdown_bodies_parse(pieces: list[str]) -> None:
    parses_or_digest_error(HEAD + "".join(pieces))


def test_summary_under_a_wide_marker_stays_with_its_item() -> None:
    """`10.  [..]` needs five columns of indent in CommonMark; four still mean the item's summary."""
    text = (
        '---\ntitle: "2025.12.01.08 wide"\ndate: 2025-12-01T08:00:00+08:00\n---\n\n'
        "9.  [Nine - A](https://example.com/9)\n\n    Summary **nine**.\n\n"
        "10.  [Ten - B](https://example.com/10)\n\n    Summary **ten**.\n\n    Second paragraph.\n\n"
        "11. [Eleven - C](https://example.com/11)\n\n    Summary eleven.\n\n"
        "Closing remarks outside the list.\n\n    indented code after a paragraph\n"
    )
    items = parse_digest(text, "wide.md").items
    assert [i.number for i in items] == [9, 10, 11]
    ten = items[1]
    assert [plain_text(p) for p in ten.summary] == ["Summary ten.", "Second paragraph."]
    assert ten.summary[0][1] == Span("ten", bold=True)
    assert [plain_text(p) for p in items[2].summary] == ["Summary eleven."]
