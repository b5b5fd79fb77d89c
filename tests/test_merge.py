"""Merging digests for scheduled delivery: de-duplication, kept numbers, ids, titles and unions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from bot.core.model import Category, Digest, Item
from bot.delivery.merge import MERGED_FROM, merge_digests, normalize_link, normalize_title

CST = timezone(timedelta(hours=8))


def item(number: int, title: str, url: str | None = None) -> Item:
    return Item(number=number, title=title, url=url)


def digest(
    digest_id: str,
    hour: int,
    items: tuple[Item, ...],
    categories: tuple[str, ...] = (),
    extra: tuple[Category, ...] = (),
) -> Digest:
    return Digest(
        id=digest_id,
        title=f"{digest_id} 过去4小时AI动态",
        date=datetime(2025, 11, 7, hour, tzinfo=CST),
        items=items,
        categories=categories,
        metadata={"hour": hour},
        source=f"digests/{digest_id}.md",
        extra_categories=extra,
    )


MORNING = digest(
    "2025.11.07.08",
    8,
    (
        item(1, "新型推理芯片发布", "https://example.com/chip"),
        item(2, "Labour market report", "https://example.com/jobs"),
        item(3, "无链接的简讯"),
    ),
    categories=("技术进展", "就业市场"),
    extra=(Category(id="space", name_zh="航天", name_en="航天"),),
)
NOON = digest(
    "2025.11.07.12",
    12,
    (
        item(1, "Chip launch, follow-up", "HTTPS://Example.com/chip/#comments"),
        item(2, "机器人公司完成融资", "https://example.com/robots"),
        item(3, "无链接的  简讯"),
    ),
    categories=("机器人", "技术进展"),
    extra=(
        Category(id="space", name_zh="航天", name_en="航天"),
        Category(id="energy", name_zh="能源", name_en="能源"),
    ),
)
EVENING = digest(
    "2025.11.07.16",
    16,
    (item(1, "Policy update", "https://example.com/policy"), item(5, "labour market REPORT")),
    categories=("政策与治理",),
)


def test_single_digest_is_returned_unchanged() -> None:
    assert merge_digests([MORNING]) is MORNING


def test_empty_input_is_an_error() -> None:
    with pytest.raises(ValueError, match="at least one digest"):
        merge_digests([])


def test_items_deduplicated_by_link_first_occurrence_wins_numbers_kept() -> None:
    merged = merge_digests([MORNING, NOON])
    assert [(i.number, i.title) for i in merged.items] == [
        (1, "新型推理芯片发布"),
        (2, "Labour market report"),
        (3, "无链接的简讯"),
        (2, "机器人公司完成融资"),
        (3, "无链接的  简讯"),
    ]


def test_items_without_link_deduplicated_by_normalized_title() -> None:
    linkless = digest("2025.11.07.20", 20, (item(7, "无链接的简讯"), item(8, "ＡＢＣ News")))
    other = digest("2025.11.08.00", 23, (item(1, "abc  news"), item(2, "无链接的简讯")))
    merged = merge_digests([linkless, other])
    assert [(i.number, i.title) for i in merged.items] == [(7, "无链接的简讯"), (8, "ＡＢＣ News")]


def test_a_link_item_and_a_linkless_item_with_the_same_title_are_different() -> None:
    merged = merge_digests([MORNING, EVENING])
    assert [i.title for i in merged.items][-1] == "labour market REPORT"


def test_merged_identity_title_date_source_and_metadata() -> None:
    merged = merge_digests([MORNING, NOON, EVENING])
    assert merged.id == "2025.11.07.08..2025.11.07.16"
    assert merged.title == f"{EVENING.title} (+2 earlier)"
    assert merged.date == EVENING.date
    assert merged.source == EVENING.source
    assert merged.metadata == {"hour": 16, MERGED_FROM: ("2025.11.07.08", "2025.11.07.12", "2025.11.07.16")}


def test_date_is_the_newest_even_when_not_last() -> None:
    late = digest("late", 23, ())
    early = digest("early", 1, ())
    assert merge_digests([late, early]).date == late.date


def test_date_comparison_across_offsets() -> None:
    utc_digest = Digest(id="u", title="u", date=datetime(2025, 11, 7, 1, tzinfo=UTC))  # 09:00 CST
    assert merge_digests([utc_digest, MORNING]).date == utc_digest.date


def test_categories_and_extra_categories_are_ordered_unions() -> None:
    merged = merge_digests([MORNING, NOON, EVENING])
    assert merged.categories == ("技术进展", "就业市场", "机器人", "政策与治理")
    assert [c.id for c in merged.extra_categories] == ["space", "energy"]


def test_input_order_is_kept() -> None:
    merged = merge_digests([NOON, MORNING])
    assert merged.id == "2025.11.07.12..2025.11.07.08"
    assert merged.items[0].title == "Chip launch, follow-up"


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("https://example.com/a", "HTTPS://EXAMPLE.com/a/"),
        ("https://example.com/a#x", "https://example.com/a"),
        (" https://example.com/a?q=1 ", "https://example.com/a?q=1"),
    ],
)
def test_normalize_link_equal(a: str, b: str) -> None:
    assert normalize_link(a) == normalize_link(b)


def test_normalize_link_keeps_path_case_and_query() -> None:
    assert normalize_link("https://example.com/A") != normalize_link("https://example.com/a")
    assert normalize_link("https://example.com/a?q=1") != normalize_link("https://example.com/a?q=2")


def test_normalize_title() -> None:
    assert normalize_title("  Ｈello\u3000 World ") == "hello world"
