"""Keyword matching: Latin word boundaries, CJK substrings, prefixes, separators, bad keywords."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.textmatch import (
    MAX_TERM_LENGTH,
    KeywordError,
    TermSet,
    compile_terms,
    fold,
    has_cjk,
    is_cjk,
)


def matches(term: str, text: str) -> bool:
    return TermSet([term]).search(text)


@pytest.mark.parametrize(
    ("term", "text", "expected"),
    [
        ("AI", "AI is here", True),
        ("AI", "he said so", False),
        ("AI", "OpenAI ships", False),
        ("AI", "Meta's AI.", True),
        ("AI", "AI-native apps", True),
        ("ai", "NEW AI MODEL", True),
        ("AI", "Google发布AI芯片", True),
        ("AI", "AI2 institute", False),
        ("AI", "my_AI_tool", True),
        ("robot", "robot", True),
        ("robot", "robots", False),
        ("robot*", "robots and robotics", True),
        ("robot*", "a microrobot", False),
        ("GPT*", "GPT-5 and GPTs", True),
        ("GPT*", "ChatGPT", False),
        ("S&P 500", "the S&P 500 fell", True),
        ("C++", "written in C++.", True),
        ("C++", "written in XC++", False),
        (".NET", "built on .NET today", True),
    ],
)
def test_latin_terms_match_whole_words(term: str, text: str, expected: bool) -> None:
    assert matches(term, text) is expected


@pytest.mark.parametrize(
    ("term", "text", "expected"),
    [
        ("机器人", "人形机器人执行任务", True),
        ("机器人", "機器人", False),
        ("裁员", "大厂裁员潮", True),
        ("ロボット", "新しいロボットが登場", True),
        ("로봇", "로봇이 일한다", True),
        ("AI芯片", "发布AI芯片", True),
        ("AI芯片", "发布 AI 芯片", True),
        ("AI芯片", "OpenAI芯片", False),
        ("开源 模型", "开源模型", True),
        ("宇树", "宇树科技（Unitree）", True),
        ("Unitree", "宇树科技（Unitree）", True),
        ("Unitree", "宇树Unitree机器人", True),
    ],
)
def test_cjk_terms_match_as_substrings(term: str, text: str, expected: bool) -> None:
    assert matches(term, text) is expected


@pytest.mark.parametrize(
    ("term", "text"),
    [
        ("open source", "open-source models"),
        ("open-source", "open source models"),
        ("open source", "open  \n source"),
        ("large language model", "Large Language Models? no: large language model"),
        ("GPT-4o", "GPT 4o"),
        ("open source", "open\u2013source"),
    ],
)
def test_spaces_and_hyphens_are_interchangeable(term: str, text: str) -> None:
    assert matches(term, text)


def test_multi_word_term_needs_a_separator_between_latin_words() -> None:
    assert not matches("open source", "opensource")


def test_full_width_term_is_normalised() -> None:
    assert matches("ＡＩ", "AI news")
    assert matches("  robot   arm ", "a robot arm")


def test_empty_term_set_matches_nothing() -> None:
    terms = TermSet([])
    assert not terms.search("anything")
    assert terms.counts("anything") == {}
    assert len(terms) == 0


def test_counts_per_term_longest_match_first() -> None:
    terms = TermSet(["机器人", "人形机器人", "robot*", "AI"])
    counts = terms.counts("人形机器人和机器人，Robots, ROBOTICS and AI; said")
    assert counts == {"人形机器人": 1, "机器人": 1, "robot*": 2, "AI": 1}


def test_a_term_failing_its_right_boundary_gives_way_to_a_shorter_one_at_the_same_place() -> None:
    terms = TermSet(["open source", "open*", "机器人", "robotaxi"])
    assert terms.counts("open sourcery, robotaxis, open source") == {"open*": 1, "open source": 1}
    assert TermSet(["robotaxi", "robot*"]).counts("robotaxis robotaxi") == {"robot*": 1, "robotaxi": 1}


def test_a_match_inside_a_word_is_skipped_and_the_search_goes_on_from_the_next_character() -> None:
    assert TermSet(["ai", "in"]).counts("main in said ai") == {"in": 1, "ai": 1}
    assert TermSet(["ab", "b"]).counts("aab b") == {"b": 1}


def test_many_terms_without_a_right_boundary_compile_into_one_pattern() -> None:
    cjk = [chr(0x4E00 + i) + chr(0x4E00 + i + 1) for i in range(0, 600, 2)]
    terms = TermSet([*cjk, "robot*", "AI"])
    assert terms.counts(f"{cjk[-1]}robots AI said") == {cjk[-1]: 1, "robot*": 1, "AI": 1}


def test_counts_attribute_separator_variants_to_their_term() -> None:
    assert TermSet(["open source", "AI芯片"]).counts("open-source, Open Source, AI 芯片") == {
        "open source": 2,
        "AI芯片": 1,
    }


def test_duplicate_terms_are_merged_and_prefix_wins() -> None:
    terms = TermSet(["robot", "Robot", "robot*", "open source", "open-source"])
    assert sorted(terms.terms) == ["open source", "robot*"]
    assert terms.counts("robots robot") == {"robot*": 2}


def test_compile_terms_is_cached() -> None:
    assert compile_terms(("a", "b")) is compile_terms(("a", "b"))


def test_search_folded_equals_search() -> None:
    terms = TermSet(["Layoff*", "裁员"])
    text = "Big LAYOFFS ahead"
    assert terms.search(text) and terms.search_folded(fold(text))


@pytest.mark.parametrize(
    ("term", "reason"),
    [
        ("", "is empty"),
        ("   ", "is empty"),
        ("*", "is empty"),
        ("- -", "is empty"),
        ("ro*bot", "only allowed at the end"),
        ("*robot", "only allowed at the end"),
        ("x" * (MAX_TERM_LENGTH + 1), "longer than"),
    ],
)
def test_bad_keywords_raise_a_named_error(term: str, reason: str) -> None:
    with pytest.raises(KeywordError, match=re.escape(reason)) as excinfo:
        TermSet(["ok", term])
    assert excinfo.value.term == term
    assert isinstance(excinfo.value, ValueError)


def test_non_text_keyword_is_rejected() -> None:
    with pytest.raises(KeywordError, match="must be text"):
        TermSet([42])  # type: ignore[list-item]


def test_regex_metacharacters_are_literal() -> None:
    assert matches("a.b", "a.b") and not matches("a.b", "axb")
    assert matches("(beta)", "app (beta) now") and matches("$5", "costs $5")


def test_is_cjk() -> None:
    assert all(is_cjk(c) for c in "汉かカ한ㄅ𠀀")
    assert not any(is_cjk(c) for c in "aÄ1_，。")
    assert has_cjk("AI芯片") and not has_cjk("AI chips")


latin_word = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=8)
filler = st.text(alphabet="abc xyz-.,机器人的", max_size=20)


@settings(max_examples=200, deadline=None)
@given(word=latin_word, before=filler, after=filler)
def test_word_found_when_surrounded_by_non_letters(word: str, before: str, after: str) -> None:
    assert matches(word, f"{before} {word.upper()} {after}")


@settings(max_examples=200, deadline=None)
@given(word=latin_word, left=latin_word, right=latin_word)
def test_word_not_found_inside_a_longer_word(word: str, left: str, right: str) -> None:
    assert not matches(word, f"{left}{word}{right}")


@settings(max_examples=200, deadline=None)
@given(term=st.text(min_size=1, max_size=20), text=st.text(max_size=60))
def test_arbitrary_input_never_crashes(term: str, text: str) -> None:
    try:
        terms = TermSet([term])
    except KeywordError:
        return
    assert terms.search(text) is bool(terms.counts(text))


def test_a_non_ascii_letter_after_a_term_is_judged_by_the_exact_boundary() -> None:
    """The quick pattern lets "robot" end before "ä"; the exact one refuses it and, at the same
    place, falls back to the shorter term, as a single exact pattern would."""
    assert not TermSet(["robot"]).search("robotä")
    assert TermSet(["ai chip", "ai"]).counts("ai chipé and ai chips, ai chip") == {"ai": 2, "ai chip": 1}
    assert TermSet(["café"]).counts("café, cafés, caféé") == {"café": 1}
    assert TermSet(["robot*"]).counts("robotä") == {"robot*": 1}


keyword = st.builds(
    lambda word, star: word + star,
    st.text(alphabet="abn 人机-", min_size=1, max_size=5).filter(lambda w: w.strip(" -")),
    st.sampled_from(["", "*"]),
)


@settings(max_examples=300, deadline=None)
@given(terms=st.lists(keyword, min_size=1, max_size=8), text=st.text(alphabet="abnAB 人机-é,", max_size=40))
def test_the_terms_present_in_a_text_count_as_every_term_would(terms: list[str], text: str) -> None:
    """`counts` compiles only the terms whose first token is in the text. After a "|" (no term or
    separator has one, so no match crosses it) that spells every term, the text is counted with all
    of them compiled: its counts must not change."""
    term_set = TermSet(terms)
    everything = "|".join(terms)
    alone, spelled = Counter(term_set.counts(text)), Counter(term_set.counts(everything))
    assert Counter(term_set.counts(f"{text}|{everything}")) == alone + spelled
    assert bool(alone) == term_set.search(text)
