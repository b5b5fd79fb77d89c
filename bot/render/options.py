"""What a renderer needs to know about the reader: vocabulary, time zone, language and chosen categories.

Kept apart from the renderers so the delivery engine can build one RenderOptions per subscription
without importing any platform code.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, tzinfo
from typing import NamedTuple

from bot.core.model import Vocabulary


@dataclass(frozen=True, slots=True)
class RenderOptions:
    """Per-reader rendering choices; `selected` holds category ids (empty = the reader wants all).

    The reader's own options (/format, /previews, /silent): `compact` lists numbered linked titles
    without summaries; `previews` overrides the platform's `link_previews` default when not None;
    `silent` sends without a notification. A renderer applies those its platform has.
    """

    vocabulary: Vocabulary
    timezone: tzinfo = UTC
    language: str = "zh"
    selected: frozenset[str] = field(default_factory=frozenset)
    link_previews: bool = False
    compact: bool = False
    previews: bool | None = None
    silent: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.vocabulary, Vocabulary):
            raise TypeError(f"RenderOptions.vocabulary must be a Vocabulary, got {self.vocabulary!r}")
        if not isinstance(self.timezone, tzinfo):
            raise TypeError(f"RenderOptions.timezone must be a tzinfo, got {self.timezone!r}")
        if not isinstance(self.language, str) or not self.language.strip():
            raise ValueError(f"RenderOptions.language must be a code like 'zh', got {self.language!r}")
        if not _is_id_collection(self.selected):
            raise TypeError(f"RenderOptions.selected must be a set of category ids, got {self.selected!r}")
        object.__setattr__(self, "selected", frozenset(self.selected))


class Look(NamedTuple):
    """A subscription's reader options as stored (format, previews 1/0/None, silent 1/0): the part
    of its reading the planner keys renders by, applied to RenderOptions with `apply`."""

    format: str = "full"
    previews: int | None = None
    silent: int = 0

    def apply(self, options: RenderOptions) -> RenderOptions:
        previews = None if self.previews is None else bool(self.previews)
        return replace(options, compact=self.format == "compact", previews=previews, silent=bool(self.silent))


PLAIN_LOOK = Look()


def _is_id_collection(value: object) -> bool:
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        return False
    return all(isinstance(item, str) for item in value)
