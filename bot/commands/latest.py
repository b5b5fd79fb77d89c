"""/latest, rendered once per (digest version, reader) in a worker thread, for every platform.

Selecting and rendering a large digest takes seconds: on the event loop that stalled every chat, and
per command it let a few members keep the CPU busy. Renderings are kept in a small LRU keyed by all
they depend on: the digest's seq (stored rows never change; an edit is a new seq), the platform
(which fixes the renderer and the operator's preview/embed choices), the filter, time zone,
language and the chat's reader options (format, previews). Concurrent requests for the same key
share one rendering.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.core.model import Digest, Filter, Vocabulary
from bot.core.select import select
from bot.delivery.planner import Lru, render_for
from bot.render import Renderer
from bot.render.options import PLAIN_LOOK, Look
from bot.store.db import Store

CACHE_SIZE = 32


@dataclass(frozen=True, slots=True)
class Latest:
    """The newest digest's title and its rendered parts for one reader (empty: nothing matched)."""

    title: str
    parts: tuple[Any, ...]


class LatestRenderer:
    """Renders the newest digest for a reader; `renderers` maps platform -> renderer."""

    def __init__(
        self,
        store: Store,
        vocabulary: Vocabulary,
        renderers: Mapping[str, Renderer],
        size: int = CACHE_SIZE,
    ) -> None:
        self._store = store
        self._vocabulary = vocabulary
        self._renderers = renderers
        self._cache = Lru(size)

    async def latest(
        self, platform: str, wanted: Filter, timezone: str, language: str, look: Look = PLAIN_LOOK
    ) -> Latest | None:
        """The newest digest for this reader (with its reader options), None when there is none yet."""
        seq = await self._store.latest_seq()
        if seq is None:
            return None
        key = (seq, platform, wanted, timezone, language, look)
        task = self._cache.find(key)
        if task is None:
            task = self._cache.put(key, asyncio.ensure_future(self._render(seq, *key[1:])))
            task.add_done_callback(lambda done: self._forget_failure(key, done))
        # Shielded: one impatient caller must not cancel the rendering the others wait for.
        result: Latest = await asyncio.shield(task)
        return result

    def _forget_failure(self, key: tuple[Any, ...], task: asyncio.Future[Latest]) -> None:
        """A failed rendering is not remembered (the next /latest tries again), even when every
        caller that waited for it has given up meanwhile."""
        if (task.cancelled() or task.exception() is not None) and self._cache.get(key) is task:
            del self._cache[key]

    async def _render(
        self, seq: int, platform: str, wanted: Filter, timezone: str, language: str, look: Look
    ) -> Latest:
        renderer = self._renderers.get(platform)
        if renderer is None:
            raise LookupError(f"no renderer for platform {platform!r}")
        digest = (await self._store.load_digests([seq]))[seq]
        return await asyncio.to_thread(self._build, digest, renderer, wanted, timezone, language, look)

    def _build(
        self, digest: Digest, renderer: Renderer, wanted: Filter, timezone: str, language: str, look: Look
    ) -> Latest:
        selected = select(digest, wanted)
        if not selected.items:
            return Latest(digest.title, ())
        parts = render_for(renderer, selected, self._vocabulary, wanted, timezone, language, look)
        return Latest(digest.title, tuple(parts))
