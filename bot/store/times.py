"""How the store writes instants: ISO-8601 UTC text with microseconds, which sorts like the instant."""

from __future__ import annotations

from datetime import UTC, datetime


def to_db(value: datetime) -> str:
    """Aware datetime -> fixed-width UTC text; naive values are refused, their zone is unknowable."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value!r}: the store needs an aware datetime")
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def from_db(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)
