"""Platform-neutral digest model: what every parser produces and every renderer consumes.

Rich text is a flat sequence of styled spans per paragraph (not a tree) so that splitting a long
summary and re-opening its formatting in the next message part is a matter of cutting one span.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Span:
    """A run of text with one set of inline styles; `link` is always an http(s) URL or None."""

    text: str
    bold: bool = False
    italic: bool = False
    code: bool = False
    strike: bool = False
    link: str | None = None


Paragraph = tuple[Span, ...]


def plain_text(paragraph: Iterable[Span]) -> str:
    """The visible text of a paragraph, without any formatting."""
    return "".join(span.text for span in paragraph)


@dataclass(frozen=True, slots=True)
class Item:
    """One numbered entry of a digest; `number` is the number shown on the site, kept after filtering."""

    number: int
    title: str
    author: str | None = None
    url: str | None = None
    summary: tuple[Paragraph, ...] = ()
    categories: tuple[str, ...] = ()
    source_categories: tuple[str, ...] = ()

    def text(self) -> str:
        """Title, author and summary as plain text: what keyword filters and classification look at."""
        parts = [self.title, self.author or ""]
        parts.extend(plain_text(p) for p in self.summary)
        return "\n".join(parts)


@dataclass(frozen=True, slots=True)
class Digest:
    """A parsed digest post. `categories` holds the raw names its front matter declares."""

    id: str
    title: str
    date: datetime
    items: tuple[Item, ...] = ()
    categories: tuple[str, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)
    source: str = ""
    extra_categories: tuple[Category, ...] = ()


@dataclass(frozen=True, slots=True)
class Category:
    """A category of the vocabulary: stable ASCII id, display names, aliases and classification keywords."""

    id: str
    name_zh: str
    name_en: str
    aliases: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    color: int | None = None

    def names(self) -> tuple[str, ...]:
        """Every name a user may type for this category (matched case-insensitively)."""
        return (self.id, self.name_zh, self.name_en, *self.aliases)

    def display(self, language: str) -> str:
        return self.name_zh if language.startswith("zh") else self.name_en


class Vocabulary:
    """The ordered set of known categories, looked up by id or by any name, case-insensitively."""

    def __init__(self, categories: Iterable[Category]) -> None:
        self._by_id: dict[str, Category] = {}
        self._by_name: dict[str, Category] = {}
        for category in categories:
            if category.id in self._by_id:
                raise ValueError(f"duplicate category id {category.id!r}")
            self._by_id[category.id] = category
            for name in category.names():
                self._by_name.setdefault(name.casefold(), category)

    def __iter__(self) -> Iterator[Category]:
        return iter(self._by_id.values())

    def __len__(self) -> int:
        return len(self._by_id)

    def __contains__(self, category_id: object) -> bool:
        return category_id in self._by_id

    def get(self, category_id: str) -> Category | None:
        return self._by_id.get(category_id)

    def resolve(self, name: str) -> Category | None:
        """The category a user or a digest means by `name` (id, display name or alias), or None."""
        return self._by_name.get(name.strip().casefold())

    def merged(self, extra: Iterable[Category]) -> Vocabulary:
        """This vocabulary plus categories a digest introduced (unknown front-matter categories)."""
        extra = [c for c in extra if c.id not in self._by_id]
        return Vocabulary([*self._by_id.values(), *extra]) if extra else self


@dataclass(frozen=True, slots=True)
class Filter:
    """What a subscription wants: categories (empty = all) and keyword include/exclude lists."""

    categories: frozenset[str] = frozenset()
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
