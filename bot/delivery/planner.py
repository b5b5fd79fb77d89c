"""Fan-out planning: decide who gets a new digest and render it, before any ledger row exists.

Set-based: each distinct *reading* (platform, filter, time zone, language, reader options: what a
rendering depends on; numbered by the database, see bot/store/fanout.py) that the active instant
subscriptions use is read from the `readings` table and rendered once, its payload ids stored as
the digest's variant for that reading, and the digest's fan-out instant recorded: its rows' due and
creation time. The rows themselves, one per (instant subscription, message part), are written later
in batches, as the engine drains the ledger (bot/delivery/expander.py). `at HH:MM` subscriptions
are skipped; the scheduler serves them.

Rendering happens outside any transaction (commands and deliveries must not wait for it); the
expansion renders, the same way, any reading a subscription switched to after planning.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import sys
import time
from collections import OrderedDict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any, Final, NamedTuple
from zoneinfo import ZoneInfo

from bot.core.clock import Clock, SystemClock
from bot.core.codec import filter_from_dict
from bot.core.model import Digest, Filter, Vocabulary
from bot.core.select import PreparedDigest
from bot.render import Renderer
from bot.render.options import PLAIN_LOOK, Look, RenderOptions
from bot.store.database import Transaction
from bot.store.db import Store
from bot.store.deliveries import NewDelivery, StoredPayload
from bot.store.subscriptions import Recipient

log = logging.getLogger(__name__)
# While a batch renders in a worker thread, the event loop and the database thread need the GIL at
# every hop of a command's queries; CPython hands it over only once per switch interval (5 ms by
# default), so a command's dozens of hops added up to a second. 1 ms keeps replies prompt during a
# fan-out at a negligible cost to the render.
SWITCH_INTERVAL = 0.001


def share_the_interpreter() -> None:
    """Let other threads have the GIL promptly while renders run (process-wide; the app calls it)."""
    sys.setswitchinterval(SWITCH_INTERVAL)


CACHE_SIZE = 2048


def as_payload(rendered: Any) -> dict[str, Any]:
    """Senders take dicts; the text renderer's strings travel as {"text": ...}."""
    return rendered if isinstance(rendered, dict) else {"text": str(rendered)}


@lru_cache(maxsize=256)
def _filter(text: str) -> Filter:
    return filter_from_dict(json.loads(text))


Payloads = tuple[StoredPayload, ...]


class Reading(NamedTuple):
    """Everything a subscription's rendering depends on besides the digest: chats sharing it share it.

    Its fields are READING_COLUMNS' keys, in the same order."""

    platform: str
    filter: str
    timezone: str
    language: str
    format: str = "full"  # the reader options (/format, /previews, /silent)
    previews: int | None = None
    silent: int = 0

    @classmethod
    def of(cls, recipient: Recipient) -> Reading:
        return cls(
            recipient.platform,
            recipient.filter,
            recipient.timezone,
            recipient.language,
            recipient.format,
            recipient.previews,
            recipient.silent,
        )


# Reading field -> the subscriptions column it is read from: the one list a reading's key (the
# `readings` table, bot/store/fanout.py) is built from, in this order. The database's triggers
# (migration 014, both backends) spell it out; tests/test_readings.py fails when they disagree, so a
# new reading column is one line here plus a migration replacing those triggers.
READING_COLUMNS: Final[Mapping[str, str]] = {
    "platform": "platform",
    "filter": "filter",
    "timezone": "timezone",
    "language": "language",
    "format": "format",
    "previews": "previews",
    "silent": "silent",
}


class Lru(OrderedDict[Hashable, Any]):
    """A small bounded cache (least recently used entries go first); None is never a value."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self._size = size

    def put(self, key: Hashable, value: Any) -> Any:
        self[key] = value
        if len(self) > self._size:
            self.popitem(last=False)
        return value

    def find(self, key: Hashable) -> Any:
        value = self.get(key)
        if value is not None:
            self.move_to_end(key)
        return value


class Composer:
    """select + render with bounded caches, shared by every subscription with the same settings.

    `digest_key` identifies the digest (its seq, or the seqs of a merge) so one Composer can serve
    several digests without mixing them up.
    """

    def __init__(
        self, vocabulary: Vocabulary, renderers: Mapping[str, Renderer], size: int = CACHE_SIZE
    ) -> None:
        self._vocabulary = vocabulary
        self._renderers = renderers
        self._prepared = Lru(8)
        self._selected = Lru(size)
        self._by_settings = Lru(size)
        self._by_content = Lru(size)

    def compose(
        self,
        digest_key: Hashable,
        digest: Digest,
        platform: str,
        filter: str,
        timezone: str,
        language: str,
        *look: Any,
    ) -> tuple[StoredPayload, ...]:
        """The payloads one subscription gets (empty when nothing matches its filter); `look` is the
        rest of a Reading (its reader options)."""
        key = (digest_key, platform, filter, timezone, language, *look)
        found: Payloads | None = self._by_settings.find(key)
        if found is None:
            try:
                found = self._compose(digest_key, digest, platform, filter, timezone, language, Look(*look))
            except Exception:
                log.exception(
                    "cannot compose digest %s for %s subscribers; they get nothing", digest.id, platform
                )
                found = ()
            self._by_settings.put(key, found)
        return found

    def compose_each(
        self, digest_key: Hashable, digest: Digest, readings: Iterable[Reading]
    ) -> dict[Reading, Payloads]:
        """`compose` for each of a batch's readings (one thread hop per batch, not per chat); the GIL
        is offered to other threads between two readings."""
        composed: dict[Reading, Payloads] = {}
        for reading in readings:
            composed[reading] = self.compose(digest_key, digest, *reading)
            time.sleep(0)
        return composed

    def _compose(
        self,
        digest_key: Hashable,
        digest: Digest,
        platform: str,
        filter: str,
        timezone: str,
        language: str,
        look: Look,
    ) -> tuple[StoredPayload, ...]:
        wanted = _filter(filter)
        selected = self._selected.find((digest_key, filter))
        if selected is None:
            prepared = self._prepared.find(digest_key) or self._prepared.put(
                digest_key, PreparedDigest(digest)
            )
            selected = self._selected.put((digest_key, filter), prepared.select(wanted))
        if not selected.items:
            return ()
        # Keyword filters often keep the same items as their category-only neighbours: render once.
        # Items are compared by value (numbers repeat across the digests of a merge).
        content = (digest_key, platform, selected.items, wanted.categories, timezone, language, look)
        found: Payloads | None = self._by_content.find(content)
        if found is None:
            found = self._by_content.put(
                content, self._render(selected, platform, wanted, timezone, language, look)
            )
        return found

    def _render(
        self, selected: Digest, platform: str, wanted: Filter, timezone: str, language: str, look: Look
    ) -> tuple[StoredPayload, ...]:
        renderer = self._renderers.get(platform)
        if renderer is None:
            raise LookupError(f"no renderer for platform {platform!r}")
        parts = render_for(renderer, selected, self._vocabulary, wanted, timezone, language, look)
        return tuple(StoredPayload.of(as_payload(part)) for part in parts)


def render_for(
    renderer: Renderer,
    selected: Digest,
    vocabulary: Vocabulary,
    wanted: Filter,
    timezone: str,
    language: str,
    look: Look = PLAIN_LOOK,
) -> list[Any]:
    """A selected digest as one reader sees it: their zone, language, chosen categories and options."""
    options = RenderOptions(
        vocabulary.merged(selected.extra_categories), ZoneInfo(timezone), language, selected=wanted.categories
    )
    return renderer(selected, look.apply(options))


def deliveries_for(
    recipient: Recipient,
    payloads: Sequence[StoredPayload],
    *,
    unit: str,
    digest_seq: int,
    due_at: datetime,
) -> list[NewDelivery]:
    return [
        NewDelivery(
            subscription_id=recipient.id,
            unit=unit,
            part=index,
            parts=len(payloads),
            digest_seq=digest_seq,
            platform=recipient.platform,
            chat_id=recipient.chat_id,
            thread_id=recipient.thread_id or None,
            kind=recipient.kind,
            payload=payload,
            due_at=due_at,
        )
        for index, payload in enumerate(payloads, start=1)
    ]


async def render_readings(
    store: Store, composer: Composer, seq: int, digest: Digest, readings: Mapping[int, Sequence[Any]]
) -> dict[int, Payloads]:
    """Each reading (id -> column values) rendered once in a worker thread, with no transaction
    open, and its bodies stored; `save_rendered` then records them as the digest's variants."""
    by_key = {key: Reading._make(values) for key, values in readings.items()}
    fresh = await asyncio.to_thread(composer.compose_each, seq, digest, by_key.values())
    await store.save_payloads(itertools.chain.from_iterable(fresh.values()))
    return {key: fresh[reading] for key, reading in by_key.items()}


async def save_rendered(tx: Transaction, seq: int, rendered: Mapping[int, Payloads], now: datetime) -> None:
    """The rendered readings as the digest's variants (payload ids in part order), in `tx`; `now`
    stamps their bodies as last queued (retention counts from it)."""
    bodies = {p.hash: p.body for payloads in rendered.values() for p in payloads}
    ids = await tx.deliveries.payload_ids(bodies, now)
    variants = {key: [ids[p.hash] for p in payloads] for key, payloads in rendered.items()}
    await tx.fanout.save_variants(seq, variants)


class Planner:
    """Plans every digest the store marked pending: decides who gets it and renders it, fast.

    Planning renders each reading the active instant subscriptions use (one probe of their reading
    index per known reading, no object per subscription), saves them as the digest's variants and
    records its fan-out instant; the ledger rows are written later, batch by batch as the engine
    drains (bot/delivery/expander.py).
    """

    def __init__(
        self,
        store: Store,
        vocabulary: Vocabulary,
        *,
        renderers: Mapping[str, Renderer],
        clock: Clock | None = None,
    ) -> None:
        self._store = store
        self._vocabulary = vocabulary
        self._renderers = renderers
        self._clock = clock or SystemClock()

    async def plan_pending(self) -> int:
        """Plan all digests waiting for it, oldest first; returns how many this call planned."""
        async with self._store.transaction(write=False) as tx:
            pending = await tx.digests.to_plan()
        planned = 0
        for seq in pending:
            planned += await self.plan_digest(seq) is not None
        return planned

    async def plan_digest(self, seq: int) -> int | None:
        """Render the readings in use and record the fan-out instant; returns the readings rendered,
        None when the digest was planned already (here, by another process, or before a crash)."""
        async with self._store.transaction(write=False) as tx:
            if seq not in await tx.digests.to_plan():
                return None
        started = self._clock.monotonic()
        digest = (await self._store.load_digests([seq]))[seq]
        readings = await self._readings_in_use()
        composer = Composer(self._vocabulary, self._renderers)
        rendered = await render_readings(self._store, composer, seq, digest, readings)
        async with self._store.transaction() as tx:
            if not await tx.digests.mark_planned(seq, self._clock.now()):
                return None
            await save_rendered(tx, seq, rendered, self._clock.now())
        log.info(
            "planned digest %s (%s): %d readings rendered in %.2f s; its messages are queued as the"
            " engine sends",
            digest.id,
            digest.source,  # the file or entry: two sources may publish the same id
            len(rendered),
            self._clock.monotonic() - started,
        )
        return len(rendered)

    async def _readings_in_use(self) -> dict[int, tuple[Any, ...]]:
        """The readings to render: one probe of the subscriptions' reading index per known reading,
        so a command waits for the number of readings, never for a million subscriptions."""
        async with self._store.transaction(write=False) as tx:
            return await tx.fanout.readings_in_use()
