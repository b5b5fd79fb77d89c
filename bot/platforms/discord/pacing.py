"""A rolling one-second window on the bot's REST requests, counted when each request leaves.

Discord counts its global limit (50 requests/s per bot) where requests arrive. The delivery engine's
limiter paces digest sends when it hands out their slots, but a send leaves only after its ledger
write, so slots handed out on time can leave in a bunch, and discord.py's own calls (start-up,
command sync, lookups) are not paced at all. The window sits in the HTTP client, under every REST
call, so no second ever holds more than `discord.rate_limits.global_per_second` requests leaving
the bot; the rest of Discord's limit (50 - 45 by default) absorbs jitter on the way
(bench/send_discord.py measures what arrives).
"""

from __future__ import annotations

from collections import deque

from bot.core.clock import Clock, SystemClock


class SendWindow:
    """At most `per_second` requests in any rolling second (at least one: a slower pace is the
    engine's to keep); memory is that many timestamps, and a waiter sleeps until the oldest of them
    is a second old."""

    def __init__(self, per_second: float, clock: Clock | None = None) -> None:
        if per_second <= 0:
            raise ValueError(f"a send window needs a pace > 0, got {per_second}")
        self._limit = max(1, int(per_second))
        self._clock = clock or SystemClock()
        self._sent: deque[float] = deque()

    async def wait(self) -> None:
        while True:
            now = self._clock.monotonic()
            while self._sent and self._sent[0] <= now - 1.0:
                self._sent.popleft()
            if len(self._sent) < self._limit:
                self._sent.append(now)
                return
            await self._clock.sleep(self._sent[0] + 1.0 - now)
