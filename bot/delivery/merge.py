"""Merging the digests that piled up for an ``at HH:MM`` subscription into one message-sized digest.

A scheduled chat gets one delivery per slot, however many digests were published since the last
one; the same story often appears in consecutive digests, so items are de-duplicated by link.

Decisions (callers and renderers rely on them):
- input order is kept; callers pass digests oldest first (arrival order), and the first occurrence of
  a story wins, so an item keeps the number it had where it first appeared;
- item numbers are never renumbered, so they still match the site; numbers may repeat across digests;
- one digest is returned unchanged; for several: id ``"<first id>..<last id>"``, title
  ``"<last title> (+N earlier)"``, date = the newest date, source and metadata from the last digest
  plus ``metadata["merged_from"]`` = the ids of every merged digest (renderers may localise from it),
  categories and extra categories = ordered unions.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import TypeVar
from urllib.parse import urlsplit, urlunsplit

from bot.core.model import Category, Digest, Item

MERGED_FROM = "merged_from"
_T = TypeVar("_T")


def normalize_link(url: str) -> str:
    """A link's identity: scheme and host case-folded, fragment and trailing slash dropped."""
    parts = urlsplit(url.strip())
    path = parts.path.rstrip("/")
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, parts.query, ""))


def normalize_title(title: str) -> str:
    """A title's identity: NFKC, case-folded, whitespace collapsed (full-width and ASCII forms match)."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", title)).strip().casefold()


def item_key(item: Item) -> tuple[str, str]:
    if item.url and item.url.strip():
        return ("link", normalize_link(item.url))
    return ("title", normalize_title(item.title))


def _unique(values: Iterable[_T], key: Callable[[_T], Hashable]) -> tuple[_T, ...]:
    """Values in first-seen order, each identity once."""
    seen: set[Hashable] = set()
    result: list[_T] = []
    for value in values:
        identity = key(value)
        if identity in seen:
            continue
        seen.add(identity)
        result.append(value)
    return tuple(result)


def _category_id(category: Category) -> str:
    return category.id


def merge_digests(digests: Sequence[Digest]) -> Digest:
    """All digests in one, oldest first, each story once; see the module docstring for the rules."""
    if not digests:
        raise ValueError("merge_digests needs at least one digest")
    if len(digests) == 1:
        return digests[0]
    first, last = digests[0], digests[-1]
    seen: set[tuple[str, str]] = set()
    items: list[Item] = []
    for digest in digests:
        for item in digest.items:
            key = item_key(item)
            if key in seen:
                continue
            seen.add(key)
            items.append(item)
    return Digest(
        id=f"{first.id}..{last.id}",
        title=f"{last.title} (+{len(digests) - 1} earlier)",
        date=max(d.date for d in digests),
        items=tuple(items),
        categories=_unique((c for d in digests for c in d.categories), key=str.casefold),
        metadata={**last.metadata, MERGED_FROM: tuple(d.id for d in digests)},
        source=last.source,
        extra_categories=_unique((c for d in digests for c in d.extra_categories), key=_category_id),
    )
