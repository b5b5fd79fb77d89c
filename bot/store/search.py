"""Searching the archive: every item of every stored digest (its newest version), newest first.

On SQLite the index (migration 010) is an FTS5 table with the trigram tokenizer over item title,
author and summary, so Chinese needs no word breaks and a word of 3+ characters is any substring.
Shorter words have no trigram: a query made only of them scans the last `RECENT_DAYS` days with
LIKE instead, and a short word beside long ones filters the long ones' hits. User text never reaches FTS5 as
syntax: each word is one quoted string (quotes doubled), so AND, NEAR, `*`, `:` or `^` are literal.
Pages are at most `MAX_PAGE_SIZE` hits and start at most `MAX_OFFSET` hits in; the hits stream
from the index newest first, so a page costs about as many row reads as it shows (a short word
beside long ones reads the long ones' hits until the page is full).

On PostgreSQL, pg_trgm GIN indexes (migrations/postgres/010_schema.sql) serve the same queries: each
word of 3+ characters is an ILIKE over the indexed text expression, a chat's categories a LIKE over
the indexed categories; user text only ever travels as a parameter, escaped for LIKE.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.core.search_query import (
    MAX_OFFSET,
    MAX_PAGE_SIZE,
    QUERY_TTL,
    RECENT_DAYS,
    Hit,
    Query,
)
from bot.store.connection import Dialect
from bot.store.database import Database
from bot.store.times import to_db

MAX_KEYWORD_SCAN = 2_000  # matches a chat's keyword rules are applied to, newest first, per page
_COLUMNS = "s.id, s.digest_seq, d.digest_id, s.number, s.published, s.title, s.url, s.author, s.summary"
# Hits stream from the index newest first (FTS5 reads its doclists backwards for rowid DESC), each
# joined to its row by primary key, so a page stops after its last hit instead of sorting them all.
_INDEXED = f"""
SELECT {_COLUMNS}
FROM search_fts f JOIN search_items s ON s.id = f.rowid JOIN digests d ON d.seq = s.digest_seq
WHERE search_fts MATCH :match AND s.newest = 1 {{like}}
ORDER BY f.rowid DESC LIMIT :limit OFFSET :offset
"""
# The last days' items, newest first, from the first of them (found through the date index).
_RECENT = f"""
SELECT {_COLUMNS} FROM search_items s JOIN digests d ON d.seq = s.digest_seq
WHERE s.id >= (SELECT ifnull(min(id), 1 << 62) FROM search_items INDEXED BY search_items_published
               WHERE published >= :since)
  AND s.published >= :since AND s.newest = 1 {{like}}
  AND (:everything OR EXISTS (SELECT 1 FROM json_each(:categories) c
                              WHERE instr(s.categories, '|' || c.value || '|')))
ORDER BY s.id DESC LIMIT :limit OFFSET :offset
"""

# PostgreSQL: one statement for both cases; the conditions come from `_postgres_statement`. The text
# expression is the one search_items_text indexes, so the planner matches it to the index.
_PG_TEXT = "(s.title || E'\\n' || s.author || E'\\n' || s.summary)"
_PG_SEARCH = f"""
SELECT {_COLUMNS} FROM search_items s JOIN digests d ON d.seq = s.digest_seq
WHERE s.newest = 1 {{conditions}}
ORDER BY s.id DESC LIMIT ? OFFSET ?
"""
Statement = tuple[str, dict[str, object] | list[object]]


def _quoted(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def fts_match(words: Collection[str], categories: Collection[str] = ()) -> str:
    """An FTS5 query that finds every word as literal text in an item's text (each one a quoted
    string), in an item of one of `categories` (ids, each matched between its bars) when given."""
    text = "{title author summary} : (" + " AND ".join(_quoted(word) for word in words) + ")"
    if not categories:
        return text
    return text + " AND categories : (" + " OR ".join(_quoted(f"|{c}|") for c in sorted(categories)) + ")"


def like_pattern(word: str) -> str:
    """A LIKE pattern for `word` anywhere, with LIKE's own wildcards escaped (ESCAPE '\\')."""
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


@dataclass(frozen=True, slots=True)
class SearchPage:
    """One page of hits, newest first; `more` says whether a next page exists; `recent_only` that
    only the last RECENT_DAYS days were searched (every word under 3 characters)."""

    hits: tuple[Hit, ...]
    more: bool
    recent_only: bool


class SearchOps(Database):
    """The store's search operations; each is one read (or, for `remember_query`, one write)."""

    async def search(
        self,
        query: Query,
        categories: Collection[str] = (),
        *,
        keep: Callable[[str], bool] | None = None,
        limit: int = 10,
        offset: int = 0,
    ) -> SearchPage:
        """Hits for `query` among items of the given category ids (none: every item); with `keep`
        (a chat's keyword rules, on an item's title, author and summary lines) only the hits it
        keeps, found among the newest MAX_KEYWORD_SCAN matches so a page stays bounded."""
        limit = max(1, min(limit, MAX_PAGE_SIZE))
        offset = max(0, min(offset, MAX_OFFSET))
        window = (limit + 1, offset) if keep is None else (MAX_KEYWORD_SCAN, 0)
        since = self.clock.now() - timedelta(days=RECENT_DAYS)
        statement = _STATEMENTS[self.dialect](query, categories, int(since.timestamp()), *window)
        async with self.statement(write=False) as tx:
            rows = list(await tx.conn.fetchall(*statement))
        if keep is not None:
            kept = [row for row in rows if keep("\n".join((row["title"], row["author"], row["summary"])))]
            rows = kept[offset : offset + limit + 1]
        hits = tuple(
            Hit(
                row["id"],
                row["digest_seq"],
                row["digest_id"],
                row["number"],
                datetime.fromtimestamp(row["published"], UTC),
                row["title"],
                row["url"],
            )
            for row in rows[:limit]
        )
        return SearchPage(hits, len(rows) > limit, query.recent_only)

    async def remember_query(self, text: str) -> int:
        """A short id for a query (the same text keeps its id), so page buttons can name it;
        queries unused for QUERY_TTL are forgotten in the same transaction."""
        now = self.clock.now()
        async with self.transaction() as tx:
            await tx.conn.execute("DELETE FROM search_queries WHERE used_at < ?", (to_db(now - QUERY_TTL),))
            rows = await tx.conn.fetchall(
                "INSERT INTO search_queries (query, used_at) VALUES (?, ?)"
                " ON CONFLICT (query) DO UPDATE SET used_at = excluded.used_at RETURNING id",
                (text, to_db(now)),
            )
        return int(next(iter(rows))[0])

    async def remembered_query(self, token: int) -> str | None:
        """The query behind a page button, or None once it was forgotten."""
        async with self.statement(write=False) as tx:
            rows = await tx.conn.fetchall("SELECT query FROM search_queries WHERE id = ?", (token,))
        return str(next(iter(rows))[0]) if rows else None

    async def search_index_size(self) -> int:
        """Bytes the search tables and their indexes take (SQLite: dbstat, with the FTS shadow
        tables; PostgreSQL: each table's total relation size, indexes and TOAST included)."""
        async with self.statement(write=False) as tx:
            rows = await tx.conn.fetchall(_INDEX_SIZE[tx.conn.dialect])
        return int(next(iter(rows))[0])


def _sqlite_statement(
    query: Query, categories: Collection[str], since: int, limit: int, offset: int
) -> Statement:
    """The FTS5 MATCH (or, for short words only, the recent-days scan) with named parameters."""
    params: dict[str, object] = {
        "everything": not categories,
        "categories": json.dumps(sorted(categories)),
        "limit": limit,
        "offset": offset,
    }
    likes = []
    for n, word in enumerate(query.short):
        params[f"w{n}"] = like_pattern(word)
        likes.append(
            f"AND (s.title LIKE :w{n} ESCAPE '\\' OR s.author LIKE :w{n} ESCAPE '\\'"
            f" OR s.summary LIKE :w{n} ESCAPE '\\')"
        )
    if query.recent_only:
        params["since"] = since
        return _RECENT.format(like=" ".join(likes)), params
    params["match"] = fts_match(query.indexed, categories)
    return _INDEXED.format(like=" ".join(likes)), params


def _postgres_statement(
    query: Query, categories: Collection[str], since: int, limit: int, offset: int
) -> Statement:
    """Long words through the trigram index, short ones as filters on the columns (they have no
    trigram), the last days only when every word is short; LIKE's default escape is backslash."""
    conditions: list[str] = []
    params: list[object] = []
    for word in query.indexed:
        conditions.append(f"AND {_PG_TEXT} ILIKE ?")
        params.append(like_pattern(word))
    if query.recent_only:
        conditions.append("AND s.published >= ?")
        params.append(since)
    for word in query.short:
        conditions.append("AND (s.title ILIKE ? OR s.author ILIKE ? OR s.summary ILIKE ?)")
        params.extend([like_pattern(word)] * 3)
    if categories:
        ordered = sorted(categories)
        conditions.append("AND (" + " OR ".join(["s.categories LIKE ?"] * len(ordered)) + ")")
        params.extend(like_pattern(f"|{category}|") for category in ordered)
    return _PG_SEARCH.format(conditions=" ".join(conditions)), [*params, limit, offset]


_STATEMENTS: dict[str, Callable[[Query, Collection[str], int, int, int], Statement]] = {
    "sqlite": _sqlite_statement,
    "postgres": _postgres_statement,
}
_INDEX_SIZE: dict[Dialect, str] = {
    "sqlite": "SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name LIKE 'search%'",
    "postgres": "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c"
    " WHERE c.relkind = 'r' AND c.relname LIKE 'search%' AND pg_table_is_visible(c.oid)",
}
