"""A search query as readers type it: checked words, and the limits every search obeys.

Pure, so the command line and the command table read the limits without opening a database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.core.problems import Problem

MAX_QUERY_CHARS = 200
MAX_WORDS = 8
MIN_INDEXED_CHARS = 3  # the trigram tokenizer indexes nothing shorter
RECENT_DAYS = 30
MAX_PAGE_SIZE = 50
MAX_OFFSET = 500
QUERY_TTL = timedelta(days=7)

CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class QueryError(Problem):
    """A search query that cannot be run (empty, too long, too many words); says why in any language."""


@dataclass(frozen=True, slots=True)
class Query:
    """A checked query: its words, split into those the index finds and those scanned with LIKE."""

    text: str
    words: tuple[str, ...]

    @property
    def indexed(self) -> tuple[str, ...]:
        return tuple(w for w in self.words if len(w) >= MIN_INDEXED_CHARS)

    @property
    def short(self) -> tuple[str, ...]:
        return tuple(w for w in self.words if len(w) < MIN_INDEXED_CHARS)

    @property
    def recent_only(self) -> bool:
        """True when no word can use the index: only the last RECENT_DAYS days are searched."""
        return not self.indexed


def parse_query(text: str) -> Query:
    """Words separated by white space, checked; raises QueryError naming the problem. Control
    characters count as spaces (a NUL would end the pattern SQLite sees, matching everything)."""
    stripped = " ".join(CONTROL.sub(" ", text).split())
    if not stripped:
        raise QueryError("search_empty")
    if len(stripped) > MAX_QUERY_CHARS:
        raise QueryError("search_too_long", limit=MAX_QUERY_CHARS)
    words = tuple(dict.fromkeys(stripped.split()))
    if len(words) > MAX_WORDS:
        raise QueryError("search_too_many_words", limit=MAX_WORDS)
    return Query(stripped, words)


@dataclass(frozen=True, slots=True)
class Hit:
    """One found item: where it is (digest row, item number), when the digest is dated, what it is."""

    id: int
    digest_seq: int
    digest_id: str
    number: int
    published: datetime
    title: str
    url: str | None
