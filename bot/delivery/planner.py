"""Fan-out: turn one new digest into ledger rows, one per (instant subscription, message part).

Set-based: each distinct *reading* (platform, filter, time zone, language: what a rendering depends
on) is selected and rendered once, its payload ids stored as the digest's variant for that reading
(bot/store/fanout.py), and SQLite writes a batch's rows with one INSERT ... SELECT joining the
subscriptions to those variants, so no Python object is built per row and memory does not grow with
the number of subscriptions. Batches are id ranges of the active instant subscriptions, one per
short transaction; the digest row remembers the last id planned, a crash resumes after it (with the
variants already saved), and the ledger's unique (subscription, unit, part) key makes replaying a
batch harmless. `at HH:MM` subscriptions are skipped here; the scheduler serves them.

Rendering happens outside any transaction (commands and deliveries must not wait for it); the
transaction that writes a batch first looks for readings without a variant and, if a subscription
switched to a new one meanwhile, lets go of the lock to render it: rows always match the
subscriptions as they are when the rows are committed.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import sys
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any, Final, NamedTuple
from zoneinfo import ZoneInfo

from bot.core.clock import Clock, SystemClock
from bot.core.codec import filter_from_dict
from bot.core.model import Digest, Filter, Vocabulary
from bot.core.schedule import after_quiet
from bot.core.select import PreparedDigest
from bot.render import Renderer
from bot.render.options import PLAIN_LOOK, Look, RenderOptions
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


# Subscriptions per fan-out transaction. Each commit writes every index leaf page the batch touched
# (one per payload in deliveries_by_payload, whatever the batch size), so larger batches write far
# fewer pages per row: 10,000 planned 1M subscriptions in 16 s instead of 26 s at 2,000, while one
# batch still holds the store only ~0.1-0.2 s (a command waits at most that long).
BATCH_SIZE = 10_000
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


# Reading field -> the subscriptions column it is read from: the one list the fan-out's join key
# (bot/store/fanout.py) and the readings it renders are built from. A new reading column is one line.
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


class Planner:
    """Plans every digest the store marked pending, resuming any fan-out a crash interrupted."""

    def __init__(
        self,
        store: Store,
        vocabulary: Vocabulary,
        *,
        renderers: Mapping[str, Renderer],
        clock: Clock | None = None,
        batch_size: int = BATCH_SIZE,
        on_enqueued: Callable[[], None] | None = None,
    ) -> None:
        """`on_enqueued` (e.g. engine.wake) runs after each committed batch that added rows, so
        sending starts while a large fan-out is still being planned."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self._store = store
        self._vocabulary = vocabulary
        self._renderers = renderers
        self._clock = clock or SystemClock()
        self._batch = batch_size
        self._on_enqueued = on_enqueued

    async def plan_pending(self) -> int:
        """Plan all digests waiting for fan-out, oldest first; returns the number of rows created."""
        async with self._store.transaction(write=False) as tx:
            pending = await tx.digests.to_plan()
        total = 0
        for seq in pending:
            total += await self.plan_digest(seq)
        return total

    async def plan_digest(self, seq: int) -> int:
        """Fan one digest out in committed batches; safe to call again after a crash or twice."""
        async with self._store.transaction(write=False) as tx:
            if await tx.digests.plan_cursor(seq) is None:
                return 0
        digest = (await self._store.load_digests([seq]))[seq]
        composer = Composer(self._vocabulary, self._renderers)
        started, added, planned = self._clock.monotonic(), 0, 0
        while (batch := await self._plan_batch(seq, digest, composer)) is not None:
            batch_added, batch_planned, done = batch
            added += batch_added
            planned += batch_planned
            if batch_added and self._on_enqueued is not None:
                self._on_enqueued()
            if done:
                break
        log.info(
            "planned digest %s (%s): %d messages for %d subscriptions in %.2f s",
            digest.id,
            digest.source,  # the file or entry: two sources may publish the same id
            added,
            planned,
            self._clock.monotonic() - started,
        )
        return added

    async def _plan_batch(self, seq: int, digest: Digest, composer: Composer) -> tuple[int, int, bool] | None:
        """Plan the next batch: (rows added, subscriptions planned, fan-out done), None if it was done.

        The transaction finds the batch (the next `batch_size` active instant subscriptions) and, when
        every reading in it has its variant, writes the batch's rows with one statement. Readings
        without one (all of them at first; later only those a subscription switched to meanwhile)
        are rendered in a worker thread with no transaction open and their variants saved, then the
        batch is read again: the loop ends as soon as the batch holds still.
        """
        columns = tuple(READING_COLUMNS.values())
        while True:
            async with self._store.transaction() as tx:
                cursor = await tx.digests.plan_cursor(seq)
                if cursor is None:
                    return None
                count, last = await tx.fanout.batch_end(cursor, self._batch)
                missing = await tx.fanout.missing_readings(seq, cursor, last, columns)
                if not missing:
                    now = self._clock.now()
                    quiet = await tx.fanout.quiet_pairs(seq, cursor, last)
                    due = {key: after_quiet(hours, zone, now) for key, (hours, zone) in quiet.items()}
                    added = await tx.fanout.insert(seq, cursor, last, columns, quiet_due=due, now=now)
                    done = count < self._batch
                    await tx.digests.advance_plan(seq, last, done=done, now=now)
                    if done:
                        await tx.fanout.forget(seq)
                    return added, count, done
            readings = {key: Reading._make(values) for key, values in missing.items()}
            fresh = await asyncio.to_thread(composer.compose_each, seq, digest, readings.values())
            await self._store.save_payloads(itertools.chain.from_iterable(fresh.values()))
            async with self._store.transaction() as tx:
                bodies = {p.hash: p.body for payloads in fresh.values() for p in payloads}
                ids = await tx.deliveries.payload_ids(bodies, self._clock.now())
                await tx.fanout.save_variants(
                    seq, {key: [ids[p.hash] for p in fresh[reading]] for key, reading in readings.items()}
                )
