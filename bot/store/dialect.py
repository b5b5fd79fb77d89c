"""SQL fragments that differ between SQLite and PostgreSQL, named for what they do.

Statements are written once where the two dialects agree; where they do not, the statement asks
for the fragment here by `conn.dialect`, so every difference is a visible call beside its query.
Lists travel as one JSON text parameter on both sides (one placeholder, any length).
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.store.connection import Dialect


def json_ids(dialect: Dialect, param: str = "?") -> str:
    """A subquery of the integers in a JSON array parameter, for `id IN (...)`."""
    if dialect == "postgres":
        return f"(SELECT value::bigint FROM jsonb_array_elements_text({param}::jsonb) AS j(value))"
    return f"(SELECT value FROM json_each({param}))"


def json_texts(dialect: Dialect, param: str = "?") -> str:
    """A subquery of the strings in a JSON array parameter, for `name IN (...)`."""
    if dialect == "postgres":
        return f"(SELECT value FROM jsonb_array_elements_text({param}::jsonb) AS j(value))"
    return f"(SELECT value FROM json_each({param}))"


def json_field(dialect: Dialect, column: str, key: str) -> str:
    """The text of top-level `key` in a JSON object held in a TEXT column (NULL when absent)."""
    if dialect == "postgres":
        return f"({column}::jsonb ->> '{key}')"
    return f"json_extract({column}, '$.{key}')"


def json_text_rows(dialect: Dialect, columns: tuple[str, ...], param: str = "?") -> str:
    """A subquery of a JSON array-of-arrays parameter as rows of text named `columns` (one per
    position), for joining a batch of keys in one statement."""
    if dialect == "postgres":
        picked = ", ".join(f"j.value ->> {n} AS {name}" for n, name in enumerate(columns))
        return f"(SELECT {picked} FROM jsonb_array_elements({param}::jsonb) AS j(value))"
    picked = ", ".join(f"json_extract(j.value, '$[{n}]') AS {name}" for n, name in enumerate(columns))
    return f"(SELECT {picked} FROM json_each({param}) AS j)"


def json_array(dialect: Dialect, expressions: Sequence[str]) -> str:
    """A JSON array text of SQL values, e.g. a key for a tuple of columns; equal values give equal
    text within one dialect (the two dialects space it differently, and no key crosses between them)."""
    if dialect == "postgres":
        return f"jsonb_build_array({', '.join(expressions)})::text"
    return f"json_array({', '.join(expressions)})"


def json_lookup(dialect: Dialect, param: str, key: str) -> str:
    """The text value under the SQL expression `key` in a JSON object parameter (NULL if absent)."""
    if dialect == "postgres":
        return f"({param}::jsonb ->> ({key}))"
    return f"(SELECT value FROM json_each({param}) WHERE key = {key})"
