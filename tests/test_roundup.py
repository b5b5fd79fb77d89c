"""The weekly roundup's content: pooling a week of digests, de-duplicating by link, top N per category."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sample_digests import VOCABULARY

from bot.config import ConfigError, parse_settings
from bot.core.model import Digest, Filter, Item, Span
from bot.core.select import select
from bot.delivery.roundup import ROUNDUP_OF, RoundupComposer, pool_week, prepare_week, sections
from bot.platforms.registry import default_renderers
from bot.render import render_text
from bot.store.subscriptions import encode_filter


def item(number: int, slug: str, *categories: str, text: str = "summary") -> Item:
    return Item(
        number=number,
        title=f"story {slug}",
        url=f"https://news.example/{slug}",
        summary=((Span(text),),),
        categories=categories,
    )


def digest(digest_id: str, day: int, *items: Item) -> Digest:
    return Digest(digest_id, f"digest {digest_id}", datetime(2026, 3, day, 8, tzinfo=UTC), items)


MONDAY = digest("d1", 23, item(1, "a", "tech"), item(2, "b", "policy"), item(3, "c", "tech"))
# "b" again, edited (and with a trailing slash and an upper-case host: the same link), plus a new "d"
WEDNESDAY = digest(
    "d2",
    25,
    replace(item(1, "b", "policy", text="summary, corrected"), url="https://NEWS.example/b/"),
    item(2, "d", "jobs", "tech"),
)


def test_a_story_in_several_digests_counts_once_with_its_newest_text_and_ranks_first() -> None:
    pool = pool_week([MONDAY, WEDNESDAY])
    assert [i.title for i in pool.items] == ["story b", "story d", "story a", "story c"]
    assert pool.items[0].summary == ((Span("summary, corrected"),),)  # the newest version's text
    assert pool.metadata[ROUNDUP_OF] == 2
    assert pool.date == WEDNESDAY.date and pool.id == "d1..d2"


def test_the_rank_is_most_often_seen_then_most_recent_then_lower_number() -> None:
    later = digest("d3", 27, item(7, "c", "tech"), item(5, "e", "tech"))
    pool = pool_week([MONDAY, WEDNESDAY, later])
    # b and c were each seen twice: c more recently; then e (d3, number 5), d (d2), a (d1)
    assert [i.title for i in pool.items] == ["story c", "story b", "story e", "story d", "story a"]
    assert pool.items[0].number == 7  # the newest appearance's number, before renumbering


def test_a_story_repeated_inside_one_digest_is_not_counted_twice() -> None:
    twice = digest("d9", 24, item(1, "z", "tech"), item(2, "z", "tech"), item(3, "y", "tech"))
    pool = pool_week([twice, digest("d10", 25, item(1, "y", "tech"))])
    assert [i.title for i in pool.items] == ["story y", "story z"]


def test_sections_group_by_first_wanted_category_in_vocabulary_order_with_top_n() -> None:
    pool = pool_week([MONDAY, WEDNESDAY])
    everything = sections(pool, Filter(), VOCABULARY, top=5)
    # vocabulary order: tech, policy, jobs...; "d" (jobs, tech) sits under its first category only
    assert [(c, [i.title for i in s.items]) for c, s in everything] == [
        ("tech", ["story a", "story c"]),
        ("policy", ["story b"]),
        ("jobs", ["story d"]),
    ]
    assert [i.number for i in everything[0][1].items] == [1, 2]  # renumbered within the section
    wanted = Filter(categories=frozenset({"tech"}))
    only_tech = sections(select(pool, wanted), wanted, VOCABULARY, top=1)
    assert [(c, [i.title for i in s.items]) for c, s in only_tech] == [("tech", ["story d"])]


def _text(digests: list[Digest], wanted: Filter, language: str, top: int = 5) -> list[str]:
    composer = RoundupComposer(VOCABULARY, {"console": render_text}, top)
    week = prepare_week(digests)
    if week is None:
        return []
    payloads = composer.compose((1, 2), week, "console", encode_filter(wanted), "Europe/Berlin", language)
    return [json.loads(p.body)["text"] for p in payloads]


def test_each_category_gets_its_own_heading_in_the_readers_language() -> None:
    english = _text([MONDAY, WEDNESDAY], Filter(), "en")
    assert [part.splitlines()[:3] for part in english] == [
        ["Weekly roundup (2 digests)", "2026-03-25 09:00 (Europe/Berlin)", name]
        for name in ("Tech", "Policy", "Jobs")
    ]
    assert "1. story b\nhttps://NEWS.example/b/\nsummary, corrected" in english[1]
    chinese = _text([MONDAY, WEDNESDAY], Filter(), "zh")
    assert chinese[0].splitlines()[:3] == [
        "每周回顾（2 期摘要）",
        "2026-03-25 09:00 (Europe/Berlin)",
        "技术进展",
    ]


def test_keywords_apply_and_a_week_with_no_match_sends_nothing() -> None:
    assert _text([MONDAY, WEDNESDAY], Filter(include=("corrected",)), "en") != []
    assert _text([MONDAY, WEDNESDAY], Filter(categories=frozenset({"industry"})), "en") == []
    assert _text([], Filter(), "en") == []  # every digest gone (retention): nothing to sum up


def test_top_per_category_is_validated_in_the_config_and_the_composer(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"roundup\.top_per_category: Input should be greater than"):
        parse_settings({"roundup": {"top_per_category": 0}}, "test", tmp_path)
    with pytest.raises(ConfigError, match=r"roundup\.top_per_category: Input should be less than"):
        parse_settings({"roundup": {"top_per_category": 51}}, "test", tmp_path)
    assert parse_settings({}, "test", tmp_path).roundup.top_per_category == 5
    with pytest.raises(ValueError, match="top_per_category"):
        RoundupComposer(VOCABULARY, {}, 0)


def test_on_discord_each_category_is_a_message_whose_content_is_the_heading() -> None:
    composer = RoundupComposer(VOCABULARY, default_renderers(), 5)
    week = prepare_week([MONDAY, WEDNESDAY])
    assert week is not None
    payloads = composer.compose((1, 2), week, "discord", encode_filter(Filter()), "UTC", "en")
    bodies = [json.loads(p.body) for p in payloads]
    assert [b["content"].splitlines()[-1] for b in bodies] == ["Tech", "Policy", "Jobs"]
    assert all(b["content"].startswith("**Weekly roundup \\(2 digests\\)**\n") for b in bodies)
    assert [[e["url"] for e in b["embeds"]] for b in bodies] == [
        ["https://news.example/a", "https://news.example/c"],
        ["https://NEWS.example/b/"],
        ["https://news.example/d"],
    ]
    assert all(b["allowed_mentions"] == {"parse": []} for b in bodies)
