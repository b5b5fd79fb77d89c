"""What every source hands to the pipeline: one new or changed document, parsed or with its error.

Sources report each version of a document once per process; the store de-duplicates across restarts
by (source, key, content_hash), so a source may re-announce everything on its first poll.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from bot.core.errors import DigestError
from bot.core.model import Digest

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Incoming:
    """`key` is the file path or feed entry id; `content_hash` the sha256 hex of the raw document.

    `history` marks what a newly added feed already held on its first poll: stored (for /latest),
    never sent, so adding a feed does not flood every chat with its back catalogue.
    """

    source: str
    key: str
    content_hash: str
    result: Digest | DigestError
    history: bool = False

    @property
    def ok(self) -> bool:
        return isinstance(self.result, Digest)


class Source(Protocol):
    """What the app runs for each configured source: one task per source, all feeding one queue."""

    name: str

    @property
    def next_delay(self) -> float:
        """Seconds from the end of one poll to the next (the interval, or a failure's back-off)."""
        ...

    async def poll(self) -> list[Incoming]:
        """What is new or changed since the previous poll; never raises for bad input or I/O."""
        ...

    async def run(self, queue: asyncio.Queue[Incoming]) -> None:
        """Poll on the source's own interval until cancelled."""
        ...

    async def aclose(self) -> None:
        """Release what the source holds between polls (a feed's HTTP session); called once at stop."""
        ...


async def poll_forever(
    source: Source, queue: asyncio.Queue[Incoming], sleep: Callable[[float], Awaitable[None]], what: str
) -> None:
    """The run loop of every source: poll until cancelled, `next_delay` apart; an unexpected error
    is logged (naming `what` was polled) and the next round goes on."""
    while True:
        try:
            found = await source.poll()
        except Exception:
            log.exception("source %s: polling %s failed unexpectedly", source.name, what)
            found = []
        for incoming in found:
            await queue.put(incoming)
        await sleep(source.next_delay)
