"""One leader among the bot's processes for work that admits a single consumer (Telegram long polling).

Every process runs an `Election` on the same lease: the one that takes it runs `on_win` (start
polling); the others try again every `retry` seconds. When the leader's lease is lost (its database
connection dropped, so the server released the lock) it runs `on_loss` (stop polling) and competes
again; when the leader dies, the server releases its lock and the next retry elsewhere wins, so a
takeover needs at most `retry` seconds plus the server noticing the dead connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from bot.core.lease import Lease

log = logging.getLogger(__name__)

RETRY_SECONDS = 3.0

Action = Callable[[], Awaitable[None]]


def polling_lease_name(platform: str) -> str:
    """The lease of `platform`'s update polling (the same in every process of the bot)."""
    return f"digestbot:poll:{platform}"


class Election:
    """Runs `on_win` while this process holds `lease` and `on_loss` when it stops holding it."""

    def __init__(
        self, lease: Lease, on_win: Action, on_loss: Action, *, retry: float = RETRY_SECONDS
    ) -> None:
        self._lease = lease
        self._on_win = on_win
        self._on_loss = on_loss
        self._retry = retry
        self.leading = False
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Compete once now (a lone process leads at once), then keep competing in the background."""
        await self._attempt()
        self._task = asyncio.create_task(self._run(), name=f"election-{self._lease.name}")

    async def _run(self) -> None:
        while True:
            if self.leading:
                await self._lease.wait_lost()
                log.warning("election %s: lease lost, stepping down", self._lease.name)
                await self._step_down()
            else:
                await asyncio.sleep(self._retry)
                await self._attempt()

    async def _attempt(self) -> None:
        if not await self._lease.try_acquire():
            return
        log.info("election %s: won", self._lease.name)
        self.leading = True
        try:
            await self._on_win()
        except Exception:
            log.exception("election %s: could not take up the work; giving the lease back", self._lease.name)
            self.leading = False
            await self._lease.release()

    async def _step_down(self) -> None:
        self.leading = False
        try:
            await self._on_loss()
        except Exception:
            log.exception("election %s: stopping the work failed", self._lease.name)

    async def stop(self) -> None:
        """Stop competing; the leader stops its work, then hands the lease over."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self.leading:
            await self._step_down()
            await self._lease.release()
