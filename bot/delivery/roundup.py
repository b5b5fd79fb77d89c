"""The weekly roundup: a week of digests as one post, grouped by category, the top N of each.

Decisions (documented in the README under "Schedules and delivery"):
- the week's items are pooled from the digests since the last roundup (at most 7 days old, newest
  version of each), de-duplicated by link (by title when an item has none): a story that appears
  in several digests, or changed between versions, counts once, with its newest text;
- "top" is a deterministic rank: the story the week's digests carried most often first (the news
  that kept coming back), then the one seen most recently, then the lower item number;
- each item is shown once, under its first category the chat selected (any, for "all"), sections
  in the vocabulary's order; within a section items are renumbered 1..N (numbers from different
  digests would mean nothing side by side);
- a section is rendered by the platform's own renderer as a digest whose header names the
  roundup and the category, so every platform shows a heading per category and the splitter cuts
  long sections as usual; a week with no matching item sends nothing, like an empty digest.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from bot.core.codec import filter_from_dict
from bot.core.model import Digest, Filter, Item, Vocabulary
from bot.core.select import PreparedDigest
from bot.delivery.config import DEFAULT_TOP, RoundupConfig
from bot.delivery.merge import item_key
from bot.delivery.planner import Lru, Payloads, as_payload, render_for
from bot.render import Renderer
from bot.render.options import Look
from bot.store.deliveries import StoredPayload

log = logging.getLogger(__name__)

WEEK_DIGESTS = 100  # newest digests one roundup reads at most (six a day is 42): bounds its memory
ROUNDUP_OF = "roundup_of"  # metadata: how many digests the roundup pooled
TITLES = {
    "zh": "每周回顾（{count} 期摘要）",
    "en": "Weekly roundup ({count} digests)",
    "en1": "Weekly roundup (1 digest)",
}


@dataclass(slots=True)
class _Story:
    item: Item
    seen: int  # in how many of the week's digests
    last: int  # index of the newest digest it appears in


def pool_week(digests: Sequence[Digest]) -> Digest:
    """The week's distinct stories (digests given oldest first), best first, with original numbers."""
    if not digests:
        raise ValueError("pool_week needs at least one digest")
    stories: dict[tuple[str, str], _Story] = {}
    for index, digest in enumerate(digests):
        for item in digest.items:
            key = item_key(item)
            story = stories.get(key)
            if story is None:
                stories[key] = _Story(item, 1, index)
            elif story.last != index:  # a newer digest: its text wins, and it counts once more
                story.item, story.seen, story.last = item, story.seen + 1, index
    ranked = sorted(stories.values(), key=lambda s: (-s.seen, -s.last, s.item.number))
    first, last = digests[0], digests[-1]
    return Digest(
        id=first.id if len(digests) == 1 else f"{first.id}..{last.id}",
        title=last.title,
        date=max(d.date for d in digests),
        items=tuple(s.item for s in ranked),
        categories=(),
        metadata={ROUNDUP_OF: len(digests)},
        source=last.source,
        extra_categories=tuple({c.id: c for d in digests for c in d.extra_categories}.values()),
    )


def sections(selected: Digest, wanted: Filter, vocabulary: Vocabulary, top: int) -> list[tuple[str, Digest]]:
    """(category id, its section) in vocabulary order: the top `top` of a pooled, selected digest."""
    known = vocabulary.merged(selected.extra_categories)
    order = {category.id: index for index, category in enumerate(known)}
    groups: dict[str, list[Item]] = {}
    for item in selected.items:
        mine = [c for c in item.categories if not wanted.categories or c in wanted.categories] or ["other"]
        group = groups.setdefault(mine[0], [])
        if len(group) < top:
            group.append(item)
    result = []
    for category in sorted(groups, key=lambda c: (order.get(c, len(order)), c)):
        items = tuple(replace(item, number=n) for n, item in enumerate(groups[category], start=1))
        result.append((category, replace(selected, id=f"{selected.id}#{category}", items=items)))
    return result


def prepare_week(digests: Sequence[Digest]) -> PreparedDigest | None:
    """The week's pool ready for every chat's filter; None when there is no digest to pool."""
    return PreparedDigest(pool_week(digests)) if digests else None


class RoundupComposer:
    """Pool, select, group and render roundups, with bounded caches shared by every chat due at once
    (most weekly chats share a time, the week's digests and a handful of filters)."""

    def __init__(
        self, vocabulary: Vocabulary, renderers: Mapping[str, Renderer], top: int | None = None
    ) -> None:
        """`top` is checked like the config key (`roundup.top_per_category`, default 5)."""
        top = RoundupConfig(top_per_category=top).top_per_category if top is not None else DEFAULT_TOP
        self._vocabulary = vocabulary
        self._renderers = renderers
        self._top = top
        self._payloads = Lru(512)

    def cached(
        self, versions: Hashable, platform: str, filter: str, timezone: str, language: str, *look: Any
    ) -> Payloads | None:
        """A rendering made already (most chats share one): no worker thread needed to get it."""
        found: Payloads | None = self._payloads.find((versions, platform, filter, timezone, language, *look))
        return found

    def compose(
        self,
        versions: Hashable,
        week: PreparedDigest,
        platform: str,
        filter: str,
        timezone: str,
        language: str,
        *look: Any,
    ) -> Payloads:
        """The payloads of one chat's roundup of `week` (`prepare_week`, keyed by `versions`); empty
        when nothing matches its filter, or when it cannot be rendered (logged). `look` is the rest
        of a Reading (its reader options)."""
        key = (versions, platform, filter, timezone, language, *look)
        found: Payloads | None = self._payloads.find(key)
        if found is None:
            try:
                found = self._compose(week, platform, filter, timezone, language, Look(*look))
            except Exception:
                log.exception(
                    "cannot compose the weekly roundup for %s subscribers; they get nothing", platform
                )
                found = ()
            self._payloads.put(key, found)
        return found

    def _compose(
        self, week: PreparedDigest, platform: str, filter: str, timezone: str, language: str, look: Look
    ) -> Payloads:
        renderer = self._renderers.get(platform)
        if renderer is None:
            raise LookupError(f"no renderer for platform {platform!r}")
        wanted = filter_from_dict(json.loads(filter))
        selected = week.select(wanted)
        count = week.digest.metadata[ROUNDUP_OF]
        english = "en1" if count == 1 else "en"
        title = TITLES["zh" if language.startswith("zh") else english].format(count=count)
        payloads: list[StoredPayload] = []
        for category, section in sections(selected, wanted, self._vocabulary, self._top):
            heading = replace(section, title=title)
            only = Filter(categories=frozenset({category}))
            parts = render_for(renderer, heading, self._vocabulary, only, timezone, language, look)
            payloads.extend(StoredPayload.of(as_payload(part)) for part in parts)
        return tuple(payloads)
