"""Pacing sends below what each platform tolerates, so it never has to refuse us.

Token buckets, one global per platform, one per chat, and one per group chat where the platform
limits groups on their own (say 20/min); which chat kinds count as groups is the platform's rule,
given in its `RatePolicy`. A send takes a token from every bucket that applies, all at once, only
when all of them have one; it never reserves a token it cannot use yet, so a slow chat does not hold
back the global budget. Buckets of chats that have been idle long enough are indistinguishable from
new ones and are dropped, so memory follows the number of recently active chats, not the number of
subscriptions.

A platform's broadcast pace can change at runtime (paid broadcasts: digests at up to 1,000/s, back
to the free limit when the platform refuses to charge for them). Sends marked `free`
(command replies, which are never paid) then also take a token from a second global bucket at the
policy's own `global_per_second`, so they keep the free limit whatever the broadcast pace.

Several processes on one PostgreSQL database share a platform's global limit: each send then also
takes a token from a `SharedGate` (bot.store.rate_buckets), the bot-wide bucket, before its local
slot; per-chat and per-group buckets stay local (see that module for why).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from bot.core.clock import Clock
from bot.delivery.config import RateLimits

GLOBAL_BURST_SECONDS = 0.03
PRUNE_ABOVE = 1024
EPSILON = 1e-9  # float refills land a hair short of a whole token; without this a waiter could spin


@dataclass(frozen=True, slots=True)
class RatePolicy:
    """One platform's limits plus the chat kinds its per-group limit applies to (none by default)."""

    limits: RateLimits
    group_kinds: frozenset[str] = frozenset()


class SharedGate(Protocol):
    """A platform's global budget shared with other processes (bot.store.rate_buckets.SharedTokens)."""

    async def take(self) -> float:
        """Wait for one token; the instant (monotonic) it came due."""
        ...

    def refund(self, due: float) -> None:
        """Give back a token taken (due at `due`) but not used right away."""
        ...

    def reshape(self, rate: float, capacity: float) -> None:
        """Pace the whole bot's sends at `rate` from now on (a broadcast pace change)."""
        ...


@dataclass(slots=True)
class TokenBucket:
    """`rate` tokens per second, at most `capacity` saved up; starts full.

    `stamp` may lie in the future: a token taken "at" a later instant is a reservation, and the
    next one becomes available only 1/rate after it, which queues waiters fairly (first come,
    first served) and wakes each of them exactly once.
    """

    rate: float
    capacity: float
    tokens: float
    stamp: float

    @classmethod
    def full(cls, rate: float, capacity: float, now: float) -> TokenBucket:
        if rate <= 0 or capacity < 1:
            raise ValueError(f"a token bucket needs rate > 0 and capacity >= 1, got {rate}, {capacity}")
        return cls(rate, capacity, capacity, now)

    def _refill(self, now: float) -> None:
        if now > self.stamp:
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now

    def available_at(self, now: float) -> float:
        """The earliest instant, not before `now`, at which a token can be taken."""
        self._refill(now)
        if self.tokens >= 1 - EPSILON:
            return max(now, self.stamp)
        return self.stamp + (1 - self.tokens) / self.rate

    def delay(self, now: float) -> float:
        """Seconds until a token is available (0 if one is now)."""
        return self.available_at(now) - now

    def take(self, at: float) -> None:
        """Take the token available at `at` (now, or a reserved future instant)."""
        self._refill(at)
        self.tokens -= 1

    def block(self, now: float, seconds: float) -> None:
        """No token before `seconds` from now (the platform said "retry after")."""
        until = now + seconds
        if self.available_at(now) < until:
            self.tokens, self.stamp = 1.0, until

    def idle(self, now: float) -> bool:
        """Full and unreserved: indistinguishable from a new bucket, so it can be forgotten."""
        self._refill(now)
        return self.stamp <= now and self.tokens >= self.capacity - EPSILON


def global_shape(per_second: float) -> tuple[float, float]:
    """Refill rate and capacity of a global bucket: a small burst (30 ms worth) absorbs scheduling
    hiccups; the refill rate is lowered by the same amount so that no one-second window ever holds
    more than `per_second` sends (the bot-wide bucket in PostgreSQL has the same shape)."""
    burst = max(1.0, per_second * GLOBAL_BURST_SECONDS)
    return max(per_second - burst, per_second / 2), burst


def _global_bucket(per_second: float, now: float) -> TokenBucket:
    rate, capacity = global_shape(per_second)
    return TokenBucket.full(rate, capacity, now)


class RateLimiter:
    """Per-platform policies; a platform without one is only bounded by the engine's concurrency."""

    def __init__(
        self,
        policies: Mapping[str, RatePolicy],
        clock: Clock,
        *,
        shared: Mapping[str, SharedGate] | None = None,
    ) -> None:
        self._policies = dict(policies)
        self._shared = dict(shared or {})
        self._clock = clock
        now = clock.monotonic()
        self._global = {
            platform: _global_bucket(policy.limits.global_per_second, now)
            for platform, policy in policies.items()
        }
        # Platforms broadcasting at another pace than their policy's free limit: that pace, and the
        # free limit's own bucket, which `free` sends still take from.
        self._paced: dict[str, float] = {}
        self._free: dict[str, TokenBucket] = {}
        self._chats: dict[tuple[str, str, str], TokenBucket] = {}
        self._prune_above = PRUNE_ABOVE

    def set_broadcast_rate(self, platform: str, per_second: float | None) -> None:
        """Pace `platform`'s sends at `per_second` globally from now on; None: back to its policy's
        `global_per_second`. Slots already handed out stay promised and the new pace starts after
        the last of them, so a drop in pace never lets a burst through."""
        free = self._policies[platform].limits.global_per_second
        rate = free if per_second is None else per_second
        if rate <= 0:
            raise ValueError(f"a broadcast rate must be > 0, got {rate}")
        now = self._clock.monotonic()
        old = self._global[platform]
        fresh = _global_bucket(rate, now)
        if old.stamp > now:
            fresh.tokens, fresh.stamp = 0.0, old.stamp
        self._global[platform] = fresh
        gate = self._shared.get(platform)
        if gate is not None:
            gate.reshape(*global_shape(rate))
        if rate == free:
            self._paced.pop(platform, None)
            self._free.pop(platform, None)
        else:
            self._paced[platform] = rate
            self._free.setdefault(platform, _global_bucket(free, now))

    def broadcast_rate(self, platform: str) -> float:
        """The global pace of `platform`'s digest sends now, in sends per second."""
        return self._paced.get(platform, self._policies[platform].limits.global_per_second)

    def _bucket(self, scope: str, platform: str, chat_id: str, rate: float, now: float) -> TokenBucket:
        key = (scope, platform, chat_id)
        bucket = self._chats.get(key)
        if bucket is None:
            if len(self._chats) >= self._prune_above:
                self._prune(now)
            bucket = self._chats[key] = TokenBucket.full(rate, 1.0, now)
        return bucket

    def _prune(self, now: float) -> None:
        """Drop idle chats; the next prune waits until the table doubles, so pruning stays O(1) per send."""
        for key in [k for k, b in self._chats.items() if b.idle(now)]:
            del self._chats[key]
        self._prune_above = max(PRUNE_ABOVE, 2 * len(self._chats))

    def _chat_buckets(
        self, policy: RatePolicy, platform: str, chat_id: str, kind: str, now: float
    ) -> list[TokenBucket]:
        limit = policy.limits
        buckets = [self._bucket("chat", platform, chat_id, limit.per_chat_per_second, now)]
        if limit.per_group_per_minute is not None and kind in policy.group_kinds:
            buckets.append(self._bucket("group", platform, chat_id, limit.per_group_per_minute / 60, now))
        return buckets

    def chat_delay(self, platform: str, chat_id: str, kind: str) -> float:
        """How long this chat's own limits (not the global one) would make a send wait."""
        policy = self._policies.get(platform)
        if policy is None:
            return 0.0
        now = self._clock.monotonic()
        return max(b.delay(now) for b in self._chat_buckets(policy, platform, chat_id, kind, now))

    async def acquire(self, platform: str, chat_id: str, kind: str, *, free: bool = False) -> None:
        """Wait for the chat's own limits, then reserve the next global slot and sleep until it.

        `free`: a send that is never paid for (a command reply) also keeps the free global limit
        while the platform broadcasts faster (see `set_broadcast_rate`)."""
        policy = self._policies.get(platform)
        if policy is None:
            return
        gate = self._shared.get(platform)
        while True:
            now, own = await self._chat_turn(policy, platform, chat_id, kind)
            if gate is None:
                break
            due = await gate.take()  # the bot-wide token; meanwhile another send may take the chat's
            now = self._clock.monotonic()
            own = self._chat_buckets(policy, platform, chat_id, kind, now)
            if max(b.delay(now) for b in own) <= EPSILON:
                break
            gate.refund(due)
        shared = [self._global[platform]]
        if free and platform in self._free:
            shared.append(self._free[platform])
        slot = max(bucket.available_at(now) for bucket in shared)
        for bucket in (*shared, *own):
            bucket.take(slot)
        if slot > now:
            await self._clock.sleep(slot - now)

    async def _chat_turn(
        self, policy: RatePolicy, platform: str, chat_id: str, kind: str
    ) -> tuple[float, list[TokenBucket]]:
        """Wait until the chat's own buckets have a token; the instant and those buckets."""
        while True:
            now = self._clock.monotonic()
            own = self._chat_buckets(policy, platform, chat_id, kind, now)
            wait = max(b.delay(now) for b in own)
            if wait <= EPSILON:
                return now, own
            await self._clock.sleep(wait)

    def penalize(self, platform: str, chat_id: str, seconds: float) -> None:
        """Honour a platform's "retry after": nothing more to this chat for `seconds`."""
        policy = self._policies.get(platform)
        if policy is not None:
            now = self._clock.monotonic()
            rate = policy.limits.per_chat_per_second
            self._bucket("chat", platform, chat_id, rate, now).block(now, seconds)

    def tracked_chats(self) -> int:
        return len(self._chats)
