"""Give every item of a digest one or more category ids: pure, deterministic, no I/O but one warning.

How an item's categories are chosen, in order:
1. Categories the item itself names (`source_categories`, e.g. feed entry tags) win: each is resolved by
   id or name through the vocabulary.
2. Otherwise keywords decide. Each category scores TITLE_WEIGHT per distinct keyword in the title plus
   one per occurrence in the summary (at most BODY_REPEAT_CAP per keyword, so one repeated word cannot
   dominate). The author line is ignored: a person's name says nothing about the topic.
3. The digest's front matter lists the categories its editor filed the post under. A declared category is
   kept once it has DECLARED_MIN points (two mentions, or one title hit); an undeclared one needs
   UNDECLARED_MIN (a title hit plus body mentions, or many body mentions) because a stray word in a
   summary ("investors" in a macro story) should not pull an item out of the editor's frame, while a
   clearly different topic still gets through. A digest that declares nothing treats every category as
   declared. Any kept category must also reach RELATIVE_MIN of the item's best score, which stops a
   passing mention from riding along with a strong match. If no category passes, the best-scoring ones
   are used. An item whose best score is below DECLARED_MIN (nothing matches, or one stray word in its
   summary) goes to "other". At most MAX_CATEGORIES are kept, best score first, ties in vocabulary order.

A declared or item category that the vocabulary does not know becomes a category of its own (see
`slug_category_id`), recorded in `digest.extra_categories` with the raw name as display names and as its
only keyword, and logged once. Classifying an already classified digest gives the same result.
"""

from __future__ import annotations

import hashlib
import logging
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import replace

from bot.core.model import Category, Digest, Item, Vocabulary, plain_text
from bot.core.textmatch import KeywordError, compile_terms, fold

logger = logging.getLogger(__name__)

OTHER = "other"
DEFAULT_OTHER = Category(id=OTHER, name_zh="其他", name_en="Other", aliases=("misc",))

TITLE_WEIGHT = 3
BODY_REPEAT_CAP = 2
DECLARED_MIN = 2
UNDECLARED_MIN = 5
RELATIVE_MIN = 0.35
MAX_CATEGORIES = 3

_MAX_ID_LENGTH = 40
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def slug_category_id(name: str) -> str:
    """A stable ASCII id for a category name: a slug for ASCII names, `cat-` plus a short hash otherwise.

    Transliterating Chinese would need a dictionary we do not ship; a hash of the normalised name is
    stable across runs and machines, which is what subscriptions stored in the database need.
    """
    normalised = unicodedata.normalize("NFKC", name).strip()
    if normalised.isascii():
        slug = _NOT_SLUG.sub("-", normalised.lower()).strip("-")[:_MAX_ID_LENGTH].strip("-")
        if slug:
            return slug
    digest = hashlib.sha1(normalised.casefold().encode("utf-8")).hexdigest()
    return f"cat-{digest[:6]}"


class _Resolver:
    """Maps category names to ids, creating (and announcing once) categories the vocabulary lacks."""

    def __init__(self, vocabulary: Vocabulary, extras: Iterable[Category], source: str) -> None:
        self.extras = list(extras)
        self.vocabulary = vocabulary.merged(self.extras)
        self.source = source

    def id_for(self, name: str) -> str | None:
        raw = " ".join(name.split())
        if not raw:
            return None
        known = self.vocabulary.resolve(raw) or self.vocabulary.get(slug_category_id(raw))
        if known is not None:
            return known.id
        category = Category(
            id=slug_category_id(raw), name_zh=raw, name_en=raw, keywords=_keywords_for_name(raw)
        )
        self.add(category)
        logger.warning(
            "%s: category %r is not in the vocabulary; using it as new category %r",
            self.source,
            raw,
            category.id,
        )
        return category.id

    def add(self, category: Category) -> None:
        self.extras.append(category)
        self.vocabulary = self.vocabulary.merged([category])


def _keywords_for_name(name: str) -> tuple[str, ...]:
    """The raw name as the new category's keyword, when it is usable as one."""
    try:
        compile_terms((name,))
    except KeywordError:
        return ()
    return (name,)


def _unique(ids: Iterable[str | None]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(i for i in ids if i is not None))


def score_item(item: Item, categories: Iterable[Category]) -> dict[str, int]:
    """Keyword score of every category with at least one hit (see the module docstring)."""
    title = fold(item.title)
    body = fold("\n".join(plain_text(p) for p in item.summary))
    scores: dict[str, int] = {}
    for category in categories:
        if not category.keywords:
            continue
        terms = compile_terms(category.keywords)
        in_title = terms.counts_folded(title)
        in_body = terms.counts_folded(body)
        score = TITLE_WEIGHT * len(in_title) + sum(min(n, BODY_REPEAT_CAP) for n in in_body.values())
        if score:
            scores[category.id] = score
    return scores


def choose_categories(
    scores: Mapping[str, int], declared: frozenset[str], order: Mapping[str, int]
) -> tuple[str, ...]:
    """Pick an item's categories from its keyword scores (see the module docstring for why)."""
    best = max(scores.values(), default=0)
    if best < DECLARED_MIN:
        return (OTHER,)
    floor = RELATIVE_MIN * best

    def passes(category_id: str, score: int) -> bool:
        minimum = DECLARED_MIN if not declared or category_id in declared else UNDECLARED_MIN
        return score >= floor and score >= minimum

    kept = [c for c, s in scores.items() if passes(c, s)] or [c for c, s in scores.items() if s == best]
    kept.sort(key=lambda c: (-scores[c], order.get(c, len(order))))
    return tuple(kept[:MAX_CATEGORIES])


def classify(digest: Digest, vocabulary: Vocabulary) -> Digest:
    """A copy of `digest` whose every item has at least one category id."""
    resolver = _Resolver(vocabulary, digest.extra_categories, digest.source or digest.id)
    declared = frozenset(_unique(resolver.id_for(name) for name in digest.categories))
    items: list[Item] = []
    for item in digest.items:
        explicit = _unique(resolver.id_for(name) for name in item.source_categories)
        if explicit:
            items.append(replace(item, categories=explicit))
            continue
        categories = list(resolver.vocabulary)
        order = {c.id: index for index, c in enumerate(categories)}
        chosen = choose_categories(score_item(item, categories), declared, order)
        items.append(replace(item, categories=chosen))
    if OTHER not in resolver.vocabulary and any(OTHER in item.categories for item in items):
        resolver.add(DEFAULT_OTHER)
    return replace(digest, items=tuple(items), extra_categories=tuple(resolver.extras))
