"""Markdown digest posts: fixtures (good and bad), the item rules, ids, file loading, and fuzzing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.errors import DigestError
from bot.core.model import Digest, Span, plain_text
from bot.core.parse import digest_id, load_digest, parse_digest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "digests"
HEAD = "---\ntitle: T\ndate: 2025-11-20T20:00:00+08:00\n---\n\n"


def fixture(name: str) -> Digest:
    return load_digest(FIXTURES / "ok" / name)


def body(markdown: str) -> Digest:
    return parse_digest(HEAD + markdown, "inline.md")


def texts(digest: Digest) -> list[list[str]]:
    return [[plain_text(p) for p in item.summary] for item in digest.items]


# --- good fixtures ---------------------------------------------------------------------------------


def test_english_fixture() -> None:
    digest = fixture("en_basic.md")
    assert digest.id == "2025.11.21.08"
    assert digest.title == "2025.11.21.08 What happened in AI in the last 4 hours?"
    assert digest.date == datetime(2025, 11, 21, 8, tzinfo=UTC)
    assert digest.categories == ("Industry", "Research")
    assert digest.metadata == {
        "draft": False,
        "lastmod": "2025-11-21T09:30:00+00:00",
        "params": {"editor": "Night desk"},
    }
    assert digest.source == str(FIXTURES / "ok" / "en_basic.md")
    first, second, third = digest.items
    assert (first.number, first.title, first.author, first.url) == (
        1,
        "Chipmaker unveils a low-power inference accelerator",
        "Dana Whitfield",
        "https://example.com/en/chips/low-power",
    )
    assert first.summary[0] == (
        Span("The company says its new accelerator delivers "),
        Span("three times the tokens per watt", bold=True),
        Span(" of its previous generation, aimed at "),
        Span("edge deployments", italic=True),
        Span(" where cooling is scarce. Early customers include two cloud providers; see the "),
        Span("spec sheet", link="https://example.com/en/chips/spec"),
        Span(" for details."),
    )
    assert first.summary[1] == (
        Span("Shipping starts next quarter, with "),
        Span("int4", code=True),
        Span(" support and "),
        Span("no", strike=True),
        Span(" limited FP8 support at launch."),
    )
    assert (second.title, second.author) == (
        "State-of-the-art - Part 2: long-context evaluation",
        "Ravi Menon",
    )
    assert (third.title, third.author) == ("A title without an author", None)
    assert third.summary == ((Span("a short note after the link."),),)


def test_crlf_fixture_matches_lf() -> None:
    raw = (FIXTURES / "ok" / "crlf.md").read_bytes()
    assert b"\r\n" in raw, "the fixture must keep its CRLF line endings"
    digest = fixture("crlf.md")
    assert digest.date == datetime(2025, 11, 22, 20, tzinfo=timezone(timedelta(hours=1)))
    assert [i.title for i in digest.items] == ["Paper on sparse experts", "Second item"]
    assert texts(digest)[0] == ["A new paper trains sparse experts with fewer tokens."]
    assert parse_digest(raw.replace(b"\r\n", b"\n"), digest.source).items == digest.items


def test_bom_fixture() -> None:
    assert (FIXTURES / "ok" / "bom.md").read_bytes().startswith(b"\xef\xbb\xbf")
    digest = fixture("bom.md")
    assert digest.title == "2025.11.21.12 Morning digest"
    assert digest.categories == ("Robotics",)
    assert digest.items[0].author == "Mei Tan"


def test_toml_fixture() -> None:
    digest = fixture("toml.md")
    assert digest.id == "2025.11.21.16"
    assert digest.date == datetime(2025, 11, 21, 16, 0, 5, tzinfo=timezone(timedelta(hours=8)))
    assert digest.categories == ("人工智能产业", "政策与治理")
    assert digest.metadata == {"weight": 3, "params": {"editor": "值班编辑"}}
    assert digest.items[0].summary[0][1] == Span("智能算力规模", bold=True)


def test_json_fixture_uses_slug_as_id() -> None:
    digest = fixture("json.md")
    assert digest.id == "evening-2025-11-21"
    assert digest.date == datetime(2025, 11, 21, 20, tzinfo=timezone(timedelta(hours=-5)))
    assert digest.metadata == {"slug": "evening-2025-11-21", "tags": ["ai", "weekly"]}
    assert digest.items[0].title == "Note-taking app adds on-device summaries"


def test_paren_lists_keep_their_start_numbers() -> None:
    digest = fixture("paren_list.md")
    assert [(i.number, i.title) for i in digest.items] == [
        (3, "Third story first"),
        (4, "Fourth story"),
        (7, "Seventh story"),
    ]


def test_items_without_links_are_kept() -> None:
    first, second = fixture("no_link.md").items
    assert (first.title, first.author, first.url) == ("A plain headline with no link", None, None)
    assert texts(fixture("no_link.md"))[0] == ["The summary of an item that has no link at all."]
    assert (second.title, second.author) == ("Another plain headline - with a dash", None)


def test_only_http_links_survive() -> None:
    (item,) = fixture("javascript_link.md").items
    assert (item.title, item.author, item.url) == ("Click me", "Mallory", None)
    links = [span.link for paragraph in item.summary for span in paragraph if span.link]
    assert links == ["https://example.com/en/real"]
    assert plain_text(item.summary[0]) == (
        "See the data, mail us, a relative page and a real one. "
        "a chart of results and <b>raw html</b> stay text."
    )


def test_item_categories() -> None:
    items = fixture("item_categories.md").items
    assert [i.source_categories for i in items] == [
        ("机器人", "人工智能产业"),
        ("policy", "Macro", "industry"),
        ("就业市场", "宏观经济"),
        (),
    ]
    assert texts(fixture("item_categories.md")) == [
        ["一家公司启动家用人形机器人试点项目。"],
        ["New rules cover advanced accelerators."],
        [],
        ["Categories matter, says the author, but this paragraph is a summary."],
    ]


def test_post_without_items_is_an_empty_digest() -> None:
    digest = fixture("empty.md")
    assert (digest.id, digest.items, digest.categories) == ("2025.11.22.16", (), ())


def test_bundled_sample_digest() -> None:
    digest = load_digest(ROOT / "digests" / "2025.11.20.20.md")
    assert digest.id == "2025.11.20.20"
    assert digest.title == "2025.11.20.20 过去4小时全球AI发生了什么？"
    assert digest.date.utcoffset() == timedelta(hours=8)
    assert len(digest.categories) == 6
    assert [i.number for i in digest.items] == list(range(1, 9))
    for item in digest.items:
        assert item.author and item.url and item.url.startswith("https://example.com/")
        assert len(item.summary) == 1
        assert any(span.bold for span in item.summary[0])
    topics = ["人形机器人", "裁员", "征求意见稿", "宏观经济", "开源", "融资", "安全", "论文"]
    assert all(word in item.text() for word, item in zip(topics, digest.items, strict=True))


# --- bad input ---------------------------------------------------------------------------------------

BAD = [
    ("invalid_yaml.md", 4, "invalid YAML front matter: while parsing a flow sequence"),
    ("invalid_toml.md", 5, "invalid TOML front matter: Invalid value"),
    ("invalid_json.md", 4, "invalid JSON front matter: Expecting property name enclosed in double quotes"),
    ("not_utf8.md", 6, "not UTF-8 text (invalid byte at offset 79)"),
    ("missing_title.md", 1, "front matter has no 'title'"),
    ("missing_date.md", 1, "front matter has no 'date'"),
    ("naive_date.md", 4, "'date' has no time zone"),
    ("bare_date.md", 3, "'date' is a bare date"),
    ("bad_date.md", 3, "'date' is not an ISO 8601 date-time: 'next tuesday at noon'"),
    ("date_type.md", 3, "'date' must be a date-time, not a number"),
    ("categories_type.md", 4, "'categories' must be a list or a string, not a mapping"),
    ("categories_entry.md", 4, "'categories' entries must be strings, not a number"),
    ("title_type.md", 3, "'title' must be a string, not a list"),
    ("unclosed.md", 1, "front matter opened with '---' on line 1 is never closed"),
    (
        "no_front_matter.md",
        1,
        "no front matter: a digest starts with '---' (YAML), '+++' (TOML) or '{' (JSON)",
    ),
    ("yaml_list.md", 2, "front matter must be a mapping of keys to values, not a list"),
    ("yaml_alias.md", 5, "invalid YAML front matter: aliases (*name) are not allowed in front matter"),
]


@pytest.mark.parametrize(("name", "line", "reason"), BAD)
def test_bad_fixtures(name: str, line: int, reason: str) -> None:
    path = FIXTURES / "bad" / name
    with pytest.raises(DigestError) as caught:
        load_digest(path)
    assert caught.value.source == str(path)
    assert caught.value.line == line
    assert caught.value.reason.startswith(reason)
    assert str(caught.value).startswith(f"{path}:{line}: ")


def test_naive_date_fixture_with_default_zone() -> None:
    zone = ZoneInfo("Asia/Shanghai")
    digest = load_digest(FIXTURES / "bad" / "naive_date.md", default_tz=zone)
    assert digest.date == datetime(2025, 11, 23, 20, tzinfo=zone)
    bare = load_digest(FIXTURES / "bad" / "bare_date.md", default_tz=zone)
    assert bare.date == datetime(2025, 11, 24, tzinfo=zone)


def raises(data: bytes | str) -> DigestError:
    with pytest.raises(DigestError) as caught:
        parse_digest(data, "feed/post.md")
    assert caught.value.source == "feed/post.md"
    return caught.value


def test_invalid_utf8_line_counts_crlf_and_bom() -> None:
    data = b"\xef\xbb\xbf---\r\ntitle: T\r\n\r\nnote: \xc3\x28\r\n---\r\n"
    failure = raises(data)
    assert (failure.line, failure.reason) == (4, "not UTF-8 text (invalid byte at offset 26)")


def test_invalid_utf8_in_body_is_an_error_too() -> None:
    failure = raises(HEAD.encode() + b"1. caf\xe9\n")
    assert failure.line == 6


def test_str_input_may_carry_a_bom_and_cr_line_breaks() -> None:
    digest = parse_digest("\ufeff" + HEAD.replace("\n", "\r") + "1. [A - B](https://a.example/)\r", "x.md")
    assert (digest.title, digest.items[0].author) == ("T", "B")


def test_empty_input() -> None:
    assert raises(b"").line == 1


def test_file_too_large_is_refused_before_reading_it_all(tmp_path: Path) -> None:
    path = tmp_path / "huge.md"
    with path.open("wb") as handle:
        handle.truncate(8 * 1024**3)  # sparse: reading it all would take far longer than this test
    with pytest.raises(DigestError) as caught:
        load_digest(path, max_bytes=1000)
    assert (caught.value.source, caught.value.line) == (str(path), None)
    assert caught.value.reason == "file is larger than the 1000-byte limit"


def test_file_at_the_limit_is_read(tmp_path: Path) -> None:
    path = tmp_path / "2025.11.20.20.md"
    data = HEAD.encode()
    path.write_bytes(data)
    assert load_digest(path, max_bytes=len(data)).title == "T"


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DigestError) as caught:
        load_digest(tmp_path / "gone.md")
    assert caught.value.source == str(tmp_path / "gone.md")
    assert (caught.value.line, caught.value.reason) == (None, "cannot read file: No such file or directory")


def test_directory_is_unreadable(tmp_path: Path) -> None:
    with pytest.raises(DigestError) as caught:
        load_digest(tmp_path)
    assert caught.value.reason == "cannot read file: Is a directory"


# --- ids -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "fields", "source", "expected"),
    [
        ("2025.11.07.08 过去4小时", {"id": "x"}, "a/b.md", "2025.11.07.08"),
        ("2025-11-07 Daily", {}, "a/b.md", "2025-11-07"),
        ("2025.11.07", {}, "b.md", "2025.11.07"),
        ("2025.11 Monthly", {"slug": " monthly-11 "}, "b.md", "monthly-11"),
        ("20251107 compact", {"id": 42}, "b.md", "42"),
        ("2025.11.07.08过去", {"id": ""}, "dir/2025.11.07.08.md", "2025.11.07.08"),
        ("News", {"id": True}, "dir/evening.markdown", "evening"),
    ],
)
def test_digest_id(title: str, fields: dict[str, object], source: str, expected: str) -> None:
    assert digest_id(title, fields, source) == expected


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
