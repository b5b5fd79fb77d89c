"""Platform limits as data, so the one splitter serves every platform and tests can shrink them.

Telegram counts a message after entity parsing; its own unit is disputed, so we count UTF-16 code
units, which is never fewer than what Telegram counts. Discord documents its limits in characters,
counted here as Unicode code points (Python's `len`).
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


@dataclass(frozen=True, slots=True)
class DiscordLimits:
    """Create Message limits (characters); the embed ones apply per embed, `embed_total` per message."""

    content: int = 2000
    embeds_per_message: int = 10
    embed_title: int = 256
    embed_description: int = 4096
    embed_author: int = 256
    embed_footer: int = 2048
    embed_total: int = 6000

    def __post_init__(self) -> None:
        sizes = (self.content, self.embed_title, self.embed_description, self.embed_author, self.embed_footer)
        if min(sizes) < 16 or self.embeds_per_message < 1:
            raise ValueError(f"DiscordLimits too small to hold any text: {self!r}")
        if self.embed_total < self.embed_title + self.embed_author + self.embed_footer + 16:
            raise ValueError("DiscordLimits.embed_total must leave room for a description")


TELEGRAM_TEXT = TextLimit(4096, "utf16")
TEXT_PART = TextLimit(4000, "chars")
DISCORD = DiscordLimits()
