"""Selecting a subscription's items: categories, include/exclude keywords, numbers kept, fan-out helpers."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.core.model import Digest, Filter, Item, Span
from bot.core.select import CompiledFilter, PreparedDigest, compile_filter, select
from bot.core.textmatch import KeywordError


def item(number: int, title: str, summary: str = "", categories: tuple[str, ...] = (), **kw: str) -> Item:
    paragraphs = ((Span(summary),),) if summary else ()
    return Item(number=number, title=title, summary=paragraphs, categories=categories, **kw)


DIGEST = Digest(
    id="2025.11.20.20",
    title="digest",
    date=datetime(2025, 11, 20, 12, tzinfo=UTC),
    items=(
        item(1, "宇树发布人形机器人", "新机器人售价下降。", ("robotics", "products")),
        item(2, "科技公司裁员与招聘并存", "AI岗位需求上升。", ("jobs",)),
        item(3, "Startup raises $500M for robot brains", "Investors bet on robots.", ("funding", "robotics")),
        item(4, "Layoffs at a chipmaker", "Hiring freeze continues.", ("jobs", "industry")),
        item(5, "EU AI Act guidance", "Rules for general-purpose AI models.", ("policy",)),
    ),
    categories=("机器人", "就业市场"),
    source="digests/2025.11.20.20.md",
)


def numbers(digest: Digest) -> list[int]:
    return [i.number for i in digest.items]


def test_empty_filter_keeps_everything_and_returns_the_same_digest() -> None:
    assert select(DIGEST, Filter()) is DIGEST


def test_categories_intersect() -> None:
    assert numbers(select(DIGEST, Filter(categories=frozenset({"jobs"})))) == [2, 4]
    assert numbers(select(DIGEST, Filter(categories=frozenset({"robotics", "policy"})))) == [1, 3, 5]


def test_item_with_several_categories_is_kept_for_any_of_them() -> None:
    for category in ("funding", "robotics"):
        assert 3 in numbers(select(DIGEST, Filter(categories=frozenset({category}))))


def test_numbers_are_kept_and_digest_fields_unchanged() -> None:
    result = select(DIGEST, Filter(categories=frozenset({"policy"})))
    assert numbers(result) == [5]
    assert (result.id, result.title, result.date, result.categories, result.source) == (
        DIGEST.id,
        DIGEST.title,
        DIGEST.date,
        DIGEST.categories,
        DIGEST.source,
    )
    assert numbers(DIGEST) == [1, 2, 3, 4, 5]


def test_unknown_category_selects_nothing() -> None:
    assert select(DIGEST, Filter(categories=frozenset({"nope"}))).items == ()


@pytest.mark.parametrize(
    ("include", "expected"),
    [
        (("机器人",), [1]),
        (("robot*",), [3]),
        (("ROBOTS",), [3]),
        (("裁员", "layoff*"), [2, 4]),
        (("AI",), [2, 5]),
        (("hiring",), [4]),
    ],
)
def test_include_keywords(include: tuple[str, ...], expected: list[int]) -> None:
    assert numbers(select(DIGEST, Filter(include=include))) == expected


@pytest.mark.parametrize(
    ("exclude", "expected"),
    [
        (("机器人",), [2, 3, 4, 5]),
        (("robot*", "裁员"), [1, 4, 5]),
        (("ai",), [1, 3, 4]),
        (("said",), [1, 2, 3, 4, 5]),
    ],
)
def test_exclude_keywords(exclude: tuple[str, ...], expected: list[int]) -> None:
    assert numbers(select(DIGEST, Filter(exclude=exclude))) == expected


def test_categories_include_and_exclude_combine() -> None:
    wanted = Filter(
        categories=frozenset({"robotics", "jobs"}), include=("robot*", "招聘", "机器人"), exclude=("AI",)
    )
    assert numbers(select(DIGEST, wanted)) == [1, 3]


def test_author_is_part_of_the_text() -> None:
    digest = Digest(id="d", title="t", date=DIGEST.date, items=(item(9, "x", author="Gary Marcus"),))
    assert numbers(select(digest, Filter(include=("marcus",)))) == [9]


def test_unclassified_items_never_match_a_category_filter() -> None:
    digest = Digest(id="d", title="t", date=DIGEST.date, items=(item(1, "robots"),))
    assert select(digest, Filter(categories=frozenset({"robotics"}))).items == ()


def test_bad_keyword_raises_a_named_error() -> None:
    with pytest.raises(KeywordError, match="'ro\\*bot'"):
        select(DIGEST, Filter(include=("ro*bot",)))
    with pytest.raises(KeywordError, match="is empty"):
        compile_filter(Filter(exclude=("  ",)))


def test_compile_filter_is_cached_and_accepts_plain_collections() -> None:
    first = compile_filter(Filter(categories=frozenset({"jobs"}), include=("AI",)))
    assert compile_filter(Filter(categories=frozenset({"jobs"}), include=("AI",))) is first
    loose = Filter(categories={"jobs"}, include=["AI"])  # type: ignore[arg-type]
    assert compile_filter(loose) is first


def test_prepared_digest_serves_many_filters() -> None:
    prepared = PreparedDigest(DIGEST)
    assert numbers(prepared.select(Filter(include=("robot*",)))) == [3]
    assert numbers(prepared.select(compile_filter(Filter(exclude=("robot*",))))) == [1, 2, 4, 5]
    assert prepared.select(Filter()) is DIGEST
    compiled = compile_filter(Filter(categories=frozenset({"jobs"})))
    assert isinstance(compiled, CompiledFilter) and not compiled.reads_text
    assert numbers(prepared.select(compiled)) == [2, 4]


def test_keeping_every_item_returns_the_same_digest() -> None:
    assert select(DIGEST, Filter(exclude=("blockchain",))) is DIGEST
