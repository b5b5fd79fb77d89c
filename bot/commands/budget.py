"""A per-user command budget, so one user's flood cannot crowd out everybody else's replies.

A token bucket per (platform, user): `burst` commands at once, then one every `refill_seconds`
(`command_budget` in each platform's config). The first command over budget is answered once with
a "slow down" text; the rest are ignored until a token is back, so a flood costs at most one extra
send. Adapters ask before doing any work (no network call, no database query). Buckets of users
who have been idle long enough are forgotten, so memory follows the number of recently active users.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable

from bot.commands.config import CommandBudgetConfig
from bot.commands.messages import text
from bot.delivery.ratelimit import EPSILON, TokenBucket

PRUNE_ABOVE = 1024


class Verdict(enum.Enum):
    RUN = "run"
    SLOW_DOWN = "slow_down"  # over budget: answer once with messages' "slow_down"
    IGNORE = "ignore"  # over budget and already told


class CommandBudget:
    """Decides, without waiting, whether a user's command runs now."""

    def __init__(
        self, *, burst: int, refill_seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.burst = burst
        self.refill_seconds = refill_seconds
        self._clock = clock
        self._buckets: dict[tuple[str, str], TokenBucket] = {}
        self._told: set[tuple[str, str]] = set()
        self._prune_above = PRUNE_ABOVE

    @classmethod
    def from_config(cls, config: CommandBudgetConfig) -> CommandBudget:
        return cls(burst=config.burst, refill_seconds=config.refill_seconds)

    def admit(self, platform: str, user_id: str) -> Verdict:
        now = self._clock()
        key = (platform, user_id)
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self._prune_above:
                self._prune(now)
            bucket = self._buckets[key] = TokenBucket.full(1 / self.refill_seconds, self.burst, now)
        if bucket.delay(now) <= EPSILON:
            bucket.take(now)
            self._told.discard(key)
            return Verdict.RUN
        if key in self._told:
            return Verdict.IGNORE
        self._told.add(key)
        return Verdict.SLOW_DOWN

    def slow_down(self, language: str) -> str:
        """The one reply a user gets when over budget, naming the budget."""
        return text("slow_down", language, burst=self.burst, seconds=self.refill_seconds)

    def _prune(self, now: float) -> None:
        """Forget full buckets (a new one is the same); the next prune waits until the table doubles."""
        for key in [k for k, b in self._buckets.items() if b.idle(now)]:
            del self._buckets[key]
            self._told.discard(key)
        self._prune_above = max(PRUNE_ABOVE, 2 * len(self._buckets))

    def tracked_users(self) -> int:
        return len(self._buckets)
