"""Starting a platform so that a network failure at start-up is survived, not fatal.

A bot often starts before the network or a local Bot API server is up (containers, boot order).
A start that fails for a reason that may pass (PlatformStartError.retryable: unreachable, timeout,
5xx) is retried in the background with exponential back-off while the rest of the bot runs; a
rejected token or a bad setting fails at once, as before. Until the platform is up its sender
answers RetryAfter, so its messages wait in the ledger without using up their attempts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from bot.delivery.outcome import Outcome, Payload, RetryAfter, Sender, Target
from bot.platforms.base import Platform, PlatformStartError

log = logging.getLogger(__name__)
FIRST_RETRY = 1.0
MAX_RETRY = 60.0


class Starter:
    """Starts one platform; `start()` returns once it runs or is being retried in the background."""

    def __init__(
        self, platform: Platform, *, first_retry: float = FIRST_RETRY, max_retry: float = MAX_RETRY
    ) -> None:
        self.platform = platform
        self.started = asyncio.Event()
        self.sender = GatedSender(platform.sender, self)
        self._first_retry = first_retry
        self._max_retry = max_retry
        self._delay = first_retry
        self._retrying: asyncio.Task[None] | None = None

    @property
    def wait(self) -> float:
        """How long a message should wait before it asks again (the current retry interval)."""
        return self._delay

    async def start(self) -> None:
        """First attempt; raises PlatformStartError (or what the platform raised) when it is fatal."""
        try:
            await self.platform.start()
        except PlatformStartError as exc:
            if not exc.retryable:
                await self.platform.stop()
                raise
            log.warning("%s; retrying in %g s", exc, self._delay)
            self._retrying = asyncio.create_task(self._keep_trying(), name=f"start-{self.platform.name}")
            return
        except Exception:
            await self.platform.stop()
            raise
        self.started.set()

    async def _keep_trying(self) -> None:
        while True:
            await asyncio.sleep(self._delay)
            try:
                await self.platform.start()
            except PlatformStartError as exc:
                if not exc.retryable:
                    self._delay = self._max_retry
                    log.error("%s; not retrying (fix the config and restart)", exc)
                    return
                self._delay = min(self._delay * 2, self._max_retry)
                log.warning("%s; retrying in %g s", exc, self._delay)
                continue
            except Exception:
                self._delay = self._max_retry
                log.exception("%s: start failed unexpectedly; not retrying", self.platform.name)
                return
            self.started.set()
            self._delay = self._first_retry
            log.info("%s: started", self.platform.name)
            return

    async def stop(self) -> None:
        """Give up retrying, then stop the platform (safe whether or not it ever started)."""
        if self._retrying is not None:
            self._retrying.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._retrying
            self._retrying = None
        await self.platform.stop()


class GatedSender:
    """The platform's sender, held back (RetryAfter, which costs no attempt) until it has started."""

    def __init__(self, sender: Sender, starter: Starter) -> None:
        self.platform = sender.platform
        self._sender = sender
        self._starter = starter

    async def send(self, target: Target, payload: Payload) -> Outcome:
        if not self._starter.started.is_set():
            return RetryAfter(self._starter.wait)
        return await self._sender.send(target, payload)

    def plain(self, payload: Payload) -> Payload:
        return self._sender.plain(payload)
