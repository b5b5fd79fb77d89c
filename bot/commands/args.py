"""Parsing of command arguments into validated values; errors are Problems (any language)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from bot.core.model import Vocabulary
from bot.core.problems import Problem
from bot.core.textmatch import compile_terms

MAX_ARGS_CHARS = 500
MAX_KEYWORDS = 20
MAX_KEYWORD_CHARS = 50
_SEPARATORS = re.compile(r"[\s,，、;；]+")


# Words that name every category at once (`/subscribe all`, `/categories 全部`).
ALL_WORDS = frozenset({"all", "全部", "全部分类", "所有", "所有分类"})


def means_all(args: Iterable[str]) -> bool:
    """Whether the arguments are one word meaning "every category" (the empty filter)."""
    words = split_list(args)
    return len(words) == 1 and words[0].casefold() in ALL_WORDS


def split_list(args: Iterable[str]) -> list[str]:
    """Arguments split on spaces and commas (ASCII or CJK), empty pieces dropped."""
    return [piece for arg in args for piece in _SEPARATORS.split(arg) if piece]


def resolve_categories(args: Iterable[str], vocabulary: Vocabulary) -> tuple[frozenset[str], list[str]]:
    """Category ids named by id or display name (case-insensitive), and the names nobody knows.

    A multi-word display name ("Open Source") is tried as a whole before its words are split apart.
    """
    ids: set[str] = set()
    unknown: list[str] = []
    for arg in args:
        whole = vocabulary.resolve(arg)
        if whole is not None:
            ids.add(whole.id)
            continue
        for piece in split_list([arg]):
            category = vocabulary.resolve(piece)
            if category is None:
                unknown.append(piece)
            else:
                ids.add(category.id)
    return frozenset(ids), unknown


def parse_keywords(
    args: Iterable[str], include: tuple[str, ...], exclude: tuple[str, ...]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Apply `+word` (include), `-word` (exclude) and `clear` to the current lists."""
    include_list, exclude_list = list(include), list(exclude)
    for word in args:
        if word.casefold() == "clear":
            include_list, exclude_list = [], []
            continue
        sign, term = ("-", word[1:]) if word.startswith("-") else ("+", word.removeprefix("+"))
        term = term.strip()
        if not term:
            raise Problem("keyword_blank", word=word)
        if len(term) > MAX_KEYWORD_CHARS:
            raise Problem("keyword_long", limit=MAX_KEYWORD_CHARS)
        compile_terms((term,))
        add, other = (include_list, exclude_list) if sign == "+" else (exclude_list, include_list)
        if term in other:
            other.remove(term)
        if term not in add:
            add.append(term)
    if len(include_list) + len(exclude_list) > MAX_KEYWORDS:
        raise Problem("keywords_max", limit=MAX_KEYWORDS)
    return tuple(include_list), tuple(exclude_list)
