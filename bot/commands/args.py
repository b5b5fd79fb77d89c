"""Parsing of command arguments into validated values; errors are ValueErrors a user can read."""

from __future__ import annotations

import re
from collections.abc import Iterable

from bot.core.model import Vocabulary
from bot.core.textmatch import compile_terms

MAX_ARGS_CHARS = 500
MAX_KEYWORDS = 20
MAX_KEYWORD_CHARS = 50
_SEPARATORS = re.compile(r"[\s,，、;；]+")


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
            raise ValueError(f"empty keyword in {word!r}")
        if len(term) > MAX_KEYWORD_CHARS:
            raise ValueError(f"keyword longer than {MAX_KEYWORD_CHARS} characters")
        compile_terms((term,))
        add, other = (include_list, exclude_list) if sign == "+" else (exclude_list, include_list)
        if term in other:
            other.remove(term)
        if term not in add:
            add.append(term)
    if len(include_list) + len(exclude_list) > MAX_KEYWORDS:
        raise ValueError(f"at most {MAX_KEYWORDS} keywords")
    return tuple(include_list), tuple(exclude_list)
