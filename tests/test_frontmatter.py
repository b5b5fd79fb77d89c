"""Front matter: the three formats, the line numbers of every error, and typed header fields."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.core.errors import DigestError
from bot.core.frontmatter import parse_date, plain_metadata, read_header, split_front_matter

SHANGHAI = ZoneInfo("Asia/Shanghai")


def header(text: str, default_tz: ZoneInfo | None = None):
    return read_header(split_front_matter(text, "post.md"), "post.md", default_tz)


def error(text: str, default_tz: ZoneInfo | None = None) -> DigestError:
    with pytest.raises(DigestError) as caught:
        header(text, default_tz)
    assert caught.value.source == "post.md"
    return caught.value


def test_yaml_body_and_key_lines() -> None:
    front = split_front_matter("---\ntitle: T\n\ndate: 2025-01-01T00:00:00Z\n---\nbody\n", "post.md")
    assert front.format == "yaml"
    assert front.body == "body\n"
    assert front.line_of("title") == 2
    assert front.line_of("date") == 4
    assert front.line_of("absent") == 1


def test_toml_and_json_key_lines() -> None:
    toml = split_front_matter(
        '+++\ntitle = "T"\n"date" = 2025-01-01T00:00:00Z\n[extra]\ntitle = 1\n+++\n', "p"
    )
    assert toml.format == "toml"
    assert (toml.line_of("title"), toml.line_of("date")) == (2, 3)
    assert toml.fields["extra"] == {"title": 1}
    json = split_front_matter('{\n  "title": "T",\n  "date": "2025-01-01T00:00:00Z"\n}\nbody', "p")
    assert json.format == "json"
    assert (json.line_of("title"), json.line_of("date")) == (2, 3)
    assert json.body == "\nbody"


def test_delimiters_may_carry_trailing_spaces() -> None:
    front = split_front_matter("---  \ntitle: T\n---\t\nbody", "p")
    assert front.fields == {"title": "T"}
    assert front.body == "body"


def test_empty_yaml_front_matter_is_missing_title() -> None:
    assert error("---\n---\nbody\n").reason == "front matter has no 'title'"


def test_yaml_error_line_counts_from_the_file_start() -> None:
    failure = error("---\ntitle: T\ndate: 2025-01-01T00:00:00Z\nlist: [a\n---\n")
    assert failure.line == 4
    assert failure.reason.startswith("invalid YAML front matter:")


def test_yaml_bad_indentation_line() -> None:
    failure = error("---\ntitle: T\n  date: x\n---\n")
    assert failure.line == 3
    assert "invalid YAML front matter" in failure.reason


def test_yaml_control_character_is_reported_with_its_line() -> None:
    failure = error("---\ntitle: T\nnote: a\x07b\n---\n")
    assert failure.line == 3
    assert "invalid YAML front matter" in failure.reason


def test_yaml_aliases_are_refused() -> None:
    failure = error("---\ntitle: T\nbase: &b [1]\ncopy: *b\n---\n")
    assert failure.line == 4
    assert "aliases" in failure.reason


def test_deeply_nested_front_matter_is_an_error_not_a_crash() -> None:
    failure = error("---\ntitle: T\nx: " + "[" * 5000 + "\n---\n")
    assert "invalid YAML front matter" in failure.reason
    deep_json = '{"title": "T", "date": "2025-01-01T00:00:00Z", "x": ' + "[" * 40 + "]" * 40 + "}"
    assert "nested deeper" in error(deep_json).reason


def test_yaml_impossible_timestamp_is_an_error() -> None:
    assert "invalid YAML front matter" in error("---\ntitle: T\ndate: 2025-13-45\n---\n").reason


def test_toml_error_line() -> None:
    failure = error('+++\ntitle = "T"\ndate = \nx = 1\n+++\n')
    assert failure.line == 3
    assert failure.reason == "invalid TOML front matter: Invalid value"


def test_json_error_line_and_huge_number() -> None:
    failure = error('{\n"title": "T",\n"date": ,\n}\n')
    assert failure.line == 3
    assert failure.reason.startswith("invalid JSON front matter:")
    assert "invalid JSON front matter" in error('{"title": "T", "n": ' + "9" * 5000 + "}").reason


def test_unclosed_toml_front_matter() -> None:
    failure = error('+++\ntitle = "T"\n')
    assert (failure.line, failure.reason) == (1, "front matter opened with '+++' on line 1 is never closed")


def test_header_fields_and_metadata() -> None:
    result = header(
        "---\ntitle: '  Two   words '\ndate: 2025-11-07T08:00:14+08:00\ncategories: [A, ' B ', A, '']\n"
        "lastmod: 2025-11-08\nparams: {when: 2025-11-08T01:02:03Z, 3: x}\n---\n"
    )
    assert result.title == "Two words"
    assert result.date == datetime(2025, 11, 7, 8, 0, 14, tzinfo=timezone(timedelta(hours=8)))
    assert result.categories == ("A", "B")
    assert result.metadata == {
        "lastmod": "2025-11-08",
        "params": {"when": "2025-11-08T01:02:03+00:00", "3": "x"},
    }


def test_single_string_category() -> None:
    text = "---\ntitle: T\ndate: 2025-01-01T00:00:00Z\ncategories: 机器人\n---\n"
    assert header(text).categories == ("机器人",)


def test_null_categories_mean_none() -> None:
    assert header("---\ntitle: T\ndate: 2025-01-01T00:00:00Z\ncategories:\n---\n").categories == ()


def test_empty_title_is_an_error() -> None:
    failure = error("---\ndate: 2025-01-01T00:00:00Z\ntitle: '  '\n---\n")
    assert (failure.line, failure.reason) == (3, "'title' is empty")


def test_naive_date_uses_default_zone_never_local_time() -> None:
    text = "---\ntitle: T\ndate: 2025-11-07 08:00:00\n---\n"
    assert header(text, SHANGHAI).date == datetime(2025, 11, 7, 8, tzinfo=SHANGHAI)
    failure = error(text)
    assert failure.line == 3
    assert "no time zone" in failure.reason


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-11-07T08:00:14+08:00", datetime(2025, 11, 7, 8, 0, 14, tzinfo=timezone(timedelta(hours=8)))),
        ("2025-11-07T00:00:00Z", datetime(2025, 11, 7, tzinfo=UTC)),
        ("2025-11-07 08:00", datetime(2025, 11, 7, 8, tzinfo=SHANGHAI)),
        ("2025-11-07", datetime(2025, 11, 7, tzinfo=SHANGHAI)),
        (date(2025, 11, 7), datetime(2025, 11, 7, tzinfo=SHANGHAI)),
        (datetime(2025, 11, 7, 1, tzinfo=UTC), datetime(2025, 11, 7, 1, tzinfo=UTC)),
    ],
)
def test_parse_date_forms(value: object, expected: datetime) -> None:
    result = parse_date(value, SHANGHAI, "p", 3)
    assert result == expected
    assert result.utcoffset() == expected.utcoffset()


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("2025-11-07", "'date' is a bare date: add a time and offset or configure a default time zone"),
        ("yesterday", "'date' is not an ISO 8601 date-time: 'yesterday'"),
        (time(8, 0), "'date' must be a date-time, not a time of day"),
        (True, "'date' must be a date-time, not a boolean"),
    ],
)
def test_parse_date_errors(value: object, reason: str) -> None:
    with pytest.raises(DigestError) as caught:
        parse_date(value, None, "p", 7)
    assert (caught.value.source, caught.value.line, caught.value.reason) == ("p", 7, reason)


def test_plain_metadata_is_json_compatible() -> None:
    assert plain_metadata({1: {b"x"}, "t": time(1, 2), "o": object}) == {
        "1": ["x"],
        "t": "01:02:00",
        "o": "<class 'object'>",
    }


@pytest.mark.parametrize(
    "value",
    [
        "9999-12-31T23:00:00-12:00",  # past datetime.max in UTC
        "9999-12-31T20:00:00+00:00",  # fine in UTC, overflows in UTC+14
        "0001-01-01T00:00:00+14:00",  # before datetime.min in UTC
        "0001-01-01T10:00:00+00:00",  # fine in UTC, overflows in UTC-12
        "9999-12-31",  # a bare date in the default zone (UTC), overflows in UTC+14
    ],
)
def test_dates_no_time_zone_can_show_are_rejected_with_their_line(value: str) -> None:
    failure = error(f"---\ntitle: T\n\ndate: {value}\n---\n", ZoneInfo("UTC"))
    assert failure.line == 4
    assert "outside the range every time zone can show" in failure.reason


@pytest.mark.parametrize("value", ["0001-01-02T12:00:00+00:00", "9999-12-29T12:00:00-12:00"])
def test_dates_a_day_inside_the_calendar_are_kept_and_show_everywhere(value: str) -> None:
    when = header(f"---\ntitle: T\ndate: {value}\n---\n").date
    assert when == datetime.fromisoformat(value)
    for hours in (14, -12):
        assert when.astimezone(timezone(timedelta(hours=hours))) == when


def test_out_of_range_dates_are_rejected_in_toml_and_json_too() -> None:
    toml = error('+++\ntitle = "T"\ndate = 9999-12-31T23:59:59Z\n+++\n')
    assert (toml.line, "outside the range" in toml.reason) == (3, True)
    json = error('{\n"title": "T",\n"date": "0001-01-01T00:00:00+14:00"\n}\n')
    assert (json.line, "outside the range" in json.reason) == (3, True)
