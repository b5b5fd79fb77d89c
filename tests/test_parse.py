"""Markdown digest posts: fixtures (good and bad), ids and file loading.

The item rules and the fuzzing live in test_parse_items.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from markdown_helpers import FIXTURES, HEAD, ROOT, fixture, texts

from bot.core.errors import DigestError
from bot.core.model import Span, plain_text
from bot.core.parse import digest_id, load_digest, parse_digest

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
