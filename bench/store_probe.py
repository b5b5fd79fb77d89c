"""What a chat command feels while a long store job runs: one store read, repeated and timed."""

from __future__ import annotations

import asyncio
import time

from bot.store.db import Store


async def probe(store: Store, until: asyncio.Event, waits: list[float]) -> None:
    """A chat command's store read, over and over until `until` is set; seconds of each in `waits`."""
    while not until.is_set():
        started = time.perf_counter()
        await store.get_subscription_by_id(1)
        waits.append(time.perf_counter() - started)
        await asyncio.sleep(0.001)
