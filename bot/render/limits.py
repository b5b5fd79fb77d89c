"""Message size limits as data, so the one splitter serves every platform and tests can shrink them.

A platform measures text either in UTF-16 code units or in characters (Unicode code points, Python's
`len`); each platform package declares its own limits with the unit it documents.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Unit = Literal["utf16", "chars"]


def utf16_length(text: str) -> int:
    """Length in UTF-16 code units (astral characters count 2); tolerates stray surrogates."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


@dataclass(frozen=True, slots=True)
class TextLimit:
    """The largest message text a platform accepts and the unit it is measured in."""

    max_size: int
    unit: Unit = "chars"

    def __post_init__(self) -> None:
        if self.max_size < 16:
            raise ValueError(f"TextLimit.max_size must be at least 16, got {self.max_size}")

    def measure(self, text: str) -> int:
        return utf16_length(text) if self.unit == "utf16" else len(text)


TEXT_PART = TextLimit(4000, "chars")
