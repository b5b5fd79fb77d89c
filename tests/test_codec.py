"""Digest/Filter <-> JSON: lossless round trips, and clear errors for what cannot be stored."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.codec import (
    CodecError,
    decode_datetime,
    digest_from_dict,
    digest_to_dict,
    encode_datetime,
    filter_from_dict,
    filter_to_dict,
)
from bot.core.model import Category, Digest, Filter, Item, Span

ZONES = ["Asia/Shanghai", "America/New_York", "Europe/London", "Australia/Lord_Howe", "UTC"]

texts = st.text(max_size=20)
spans = st.builds(
    Span,
    text=texts,
    bold=st.booleans(),
    italic=st.booleans(),
    code=st.booleans(),
    strike=st.booleans(),
    link=st.none() | st.just("https://example.org/a?b=1"),
)
items = st.builds(
    Item,
    number=st.integers(1, 500),
    title=texts,
    author=st.none() | texts,
    url=st.none() | st.just("https://example.com/x"),
    summary=st.lists(st.lists(spans, max_size=3).map(tuple), max_size=3).map(tuple),
    categories=st.lists(st.sampled_from(["tech", "policy", "other"]), max_size=3).map(tuple),
    source_categories=st.lists(texts, max_size=2).map(tuple),
)
categories = st.builds(
    Category,
    id=st.from_regex(r"[a-z][a-z0-9-]{0,8}", fullmatch=True),
    name_zh=texts,
    name_en=texts,
    aliases=st.lists(texts, max_size=2).map(tuple),
    keywords=st.lists(texts, max_size=2).map(tuple),
    color=st.none() | st.integers(0, 0xFFFFFF),
)
aware = st.datetimes(
    min_value=datetime(1990, 1, 1),
    max_value=datetime(2090, 1, 1),
    timezones=st.sampled_from([ZoneInfo(z) for z in ZONES] + [UTC, timezone(timedelta(hours=5, minutes=30))]),
)
scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | texts
leaves = scalars | aware | st.dates() | st.times()
metadata_values = st.recursive(
    leaves,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.lists(inner, max_size=3).map(tuple)
        | st.dictionaries(texts, inner, max_size=3)
        | st.dictionaries(st.integers() | st.dates(), inner, max_size=2)
    ),
    max_leaves=10,
)
digests = st.builds(
    Digest,
    id=texts,
    title=texts,
    date=aware | st.datetimes(),
    items=st.lists(items, max_size=4).map(tuple),
    categories=st.lists(texts, max_size=3).map(tuple),
    metadata=st.dictionaries(texts, metadata_values, max_size=4),
    source=texts,
    extra_categories=st.lists(categories, max_size=2).map(tuple),
)


def _same_datetime(a: datetime, b: datetime) -> bool:
    """Equal instant (or wall time when naive), same zone object and same fold."""
    return a == b and a.tzinfo == b.tzinfo and a.fold == b.fold and a.utcoffset() == b.utcoffset()


@settings(max_examples=200, deadline=None)
@given(digests)
def test_digest_round_trip_is_lossless(digest: Digest) -> None:
    data = digest_to_dict(digest)
    decoded = digest_from_dict(json.loads(json.dumps(data)))
    assert decoded == digest
    assert _same_datetime(decoded.date, digest.date)
    assert decoded.date.isoformat() == digest.date.isoformat()


@settings(max_examples=200, deadline=None)
@given(st.datetimes(timezones=st.sampled_from([ZoneInfo(z) for z in ZONES])))
def test_datetime_keeps_zone_fold_and_wall_time(moment: datetime) -> None:
    decoded = decode_datetime(json.loads(json.dumps(encode_datetime(moment))))
    assert decoded.replace(tzinfo=None) == moment.replace(tzinfo=None)
    assert decoded.tzinfo is moment.tzinfo
    assert decoded.fold == moment.fold


def test_ambiguous_and_missing_local_times_survive() -> None:
    new_york = ZoneInfo("America/New_York")
    second = datetime(2025, 11, 2, 1, 30, tzinfo=new_york, fold=1)
    in_gap = datetime(2025, 3, 9, 2, 30, tzinfo=new_york)
    for moment in (second, in_gap):
        decoded = decode_datetime(encode_datetime(moment))
        assert decoded.utcoffset() == moment.utcoffset()
        assert decoded.astimezone(UTC) == moment.astimezone(UTC)


def test_realistic_digest_round_trip() -> None:
    shanghai = ZoneInfo("Asia/Shanghai")
    digest = Digest(
        id="2025.12.01.08",
        title="过去4小时发生了什么",
        date=datetime(2025, 12, 1, 8, 0, tzinfo=shanghai),
        items=(
            Item(
                1,
                "新芯片发布 - 某作者",
                author="某作者",
                url="https://example.com/1",
                summary=(
                    (Span("性能"), Span("提升十倍", bold=True), Span("link", link="https://a.example")),
                ),
                categories=("tech",),
                source_categories=("技术进展",),
            ),
        ),
        categories=("技术进展",),
        metadata={"date": date(2025, 12, 1), "tags": ("a", "b"), "nested": {"at": time(8, 0)}, 3: "int key"},
        source="site",
        extra_categories=(Category("space", "太空", "Space"),),
    )
    assert digest_from_dict(json.loads(json.dumps(digest_to_dict(digest), ensure_ascii=False))) == digest


def test_metadata_that_looks_like_a_tag_is_not_mistaken_for_one() -> None:
    digest = Digest("x", "t", datetime(2025, 1, 1, tzinfo=UTC), metadata={"m": {"$date": "2025-01-01"}})
    assert digest_from_dict(digest_to_dict(digest)).metadata == {"m": {"$date": "2025-01-01"}}


def test_unstorable_metadata_names_the_key() -> None:
    digest = Digest("x", "t", datetime(2025, 1, 1, tzinfo=UTC), metadata={"extra": {"when": object()}})
    with pytest.raises(CodecError) as err:
        digest_to_dict(digest)
    assert err.value.path == "metadata.extra.when"
    assert "object" in str(err.value)


def test_time_with_a_zone_is_refused() -> None:
    digest = Digest(
        "x", "t", datetime(2025, 1, 1, tzinfo=UTC), metadata={"t": time(8, tzinfo=ZoneInfo("Asia/Tokyo"))}
    )
    with pytest.raises(CodecError, match=r"metadata\.t"):
        digest_to_dict(digest)


@pytest.mark.parametrize(
    ("data", "where"),
    [
        ([], "digest"),
        ({"v": 99}, "digest.v"),
        ({"v": 1, "id": "x", "title": "t"}, "digest"),
        ({"v": 1, "id": "x", "title": "t", "date": {"at": "yesterday"}}, "digest.date"),
        (
            {"v": 1, "id": "x", "title": "t", "date": {"at": "2025-01-01T00:00:00", "zone": "Asia/Shanghai"}},
            None,
        ),
        (
            {
                "v": 1,
                "id": "x",
                "title": "t",
                "date": {"at": "2025-01-01T00:00:00+00:00", "zone": "Mars/Base"},
            },
            "digest.date",
        ),
        (
            {"v": 1, "id": "x", "title": "t", "date": {"at": "2025-01-01T00:00:00+00:00"}, "items": {}},
            "digest.items",
        ),
        (
            {
                "v": 1,
                "id": "x",
                "title": "t",
                "date": {"at": "2025-01-01T00:00:00+00:00"},
                "items": [{"title": "a"}],
            },
            "digest.items[0]",
        ),
        (
            {
                "v": 1,
                "id": "x",
                "title": "t",
                "date": {"at": "2025-01-01T00:00:00+00:00"},
                "items": [{"number": 1, "title": "a", "summary": [[{"bold": True}]]}],
            },
            "digest.items[0].summary[0][0]",
        ),
        (
            {"v": 1, "id": "x", "title": "t", "date": {"at": "2025-01-01T00:00:00+00:00"}, "metadata": []},
            "digest.metadata",
        ),
        (
            {
                "v": 1,
                "id": "x",
                "title": "t",
                "date": {"at": "2025-01-01T00:00:00+00:00"},
                "metadata": {"d": {"$date": "not a date"}},
            },
            "metadata.d",
        ),
        (
            {
                "v": 1,
                "id": "x",
                "title": "t",
                "date": {"at": "2025-01-01T00:00:00+00:00"},
                "extra_categories": [{"id": "a"}],
            },
            "digest.extra_categories[0]",
        ),
    ],
)
def test_malformed_stored_data_is_a_codec_error(data: object, where: str | None) -> None:
    with pytest.raises(CodecError) as err:
        digest_from_dict(data)
    if where is not None:
        assert err.value.path == where


def test_filter_round_trip_is_canonical() -> None:
    one = Filter(frozenset({"tech", "policy"}), ("芯片",), ("广告",))
    two = Filter(frozenset({"policy", "tech"}), ("芯片",), ("广告",))
    assert json.dumps(filter_to_dict(one)) == json.dumps(filter_to_dict(two))
    assert filter_from_dict(filter_to_dict(one)) == one
    with pytest.raises(CodecError, match=r"filter\.categories"):
        filter_from_dict({"categories": "tech"})
    with pytest.raises(CodecError, match="filter"):
        filter_from_dict("tech")
