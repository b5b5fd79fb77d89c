"""Pick the items of a classified digest that one subscription wants; items keep their original numbers.

An item is kept when
- the filter names no categories, or one of the item's category ids is among them, and
- the filter has no include keywords, or the item's text (title, author, summary) matches one, and
- the item's text matches none of the exclude keywords.
Keywords follow the rules of `bot.core.textmatch` (CJK-aware, case-insensitive, `*` for a prefix).

Fan-out applies thousands of filters to the same digest, so the work is split: `compile_filter` turns a
`Filter` into compiled matchers once per distinct filter (cached), and `PreparedDigest` folds every
item's text once per digest. `select(digest, filter)` is the one-off convenience over both.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache

from bot.core.model import Digest, Filter, Item
from bot.core.textmatch import TermSet, compile_terms, fold


@dataclass(frozen=True, slots=True)
class CompiledFilter:
    """A Filter with its keyword lists compiled; None means "no constraint"."""

    categories: frozenset[str]
    include: TermSet | None
    exclude: TermSet | None

    @property
    def keeps_everything(self) -> bool:
        return not self.categories and self.include is None and self.exclude is None

    @property
    def reads_text(self) -> bool:
        return self.include is not None or self.exclude is not None

    def keeps(self, item: Item, folded_text: str | None = None) -> bool:
        """Whether `item` passes; `folded_text` is `fold(item.text())` when the caller has it already."""
        if self.categories and self.categories.isdisjoint(item.categories):
            return False
        if not self.reads_text:
            return True
        return self._keeps_folded(fold(item.text()) if folded_text is None else folded_text)

    def keeps_text(self, text: str) -> bool:
        """The keyword rules alone, on an item known only by its text (`Item.text()`'s lines), as
        the search index stores it."""
        return self._keeps_folded(fold(text))

    def _keeps_folded(self, text: str) -> bool:
        if self.include is not None and not self.include.search_folded(text):
            return False
        return self.exclude is None or not self.exclude.search_folded(text)


def compile_filter(filter: Filter) -> CompiledFilter:
    """Compile a subscription's filter once; raises `KeywordError` naming a keyword that cannot be used."""
    return _compile(frozenset(filter.categories), tuple(filter.include), tuple(filter.exclude))


@lru_cache(maxsize=16384)
def _compile(
    categories: frozenset[str], include: tuple[str, ...], exclude: tuple[str, ...]
) -> CompiledFilter:
    return CompiledFilter(
        categories=categories,
        include=compile_terms(include) if include else None,
        exclude=compile_terms(exclude) if exclude else None,
    )


class PreparedDigest:
    """A digest ready for many `select` calls: each item's folded text is computed at most once."""

    __slots__ = ("_folded", "digest")

    def __init__(self, digest: Digest) -> None:
        self.digest = digest
        self._folded: tuple[str, ...] | None = None

    def _texts(self) -> tuple[str, ...]:
        if self._folded is None:
            self._folded = tuple(fold(item.text()) for item in self.digest.items)
        return self._folded

    def select(self, filter: Filter | CompiledFilter) -> Digest:
        """The digest with only the items `filter` keeps (the same object when it keeps them all)."""
        compiled = filter if isinstance(filter, CompiledFilter) else compile_filter(filter)
        if compiled.keeps_everything:
            return self.digest
        items = self.digest.items
        if compiled.reads_text:
            texts = self._texts()
            kept = tuple(item for item, text in zip(items, texts, strict=True) if compiled.keeps(item, text))
        else:
            kept = tuple(item for item in items if compiled.keeps(item))
        return self.digest if len(kept) == len(items) else replace(self.digest, items=kept)


def select(digest: Digest, filter: Filter) -> Digest:
    """The items of a classified `digest` that `filter` wants, with their original numbers."""
    return PreparedDigest(digest).select(filter)
