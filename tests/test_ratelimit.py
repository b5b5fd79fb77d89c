"""Token-bucket pacing: global, per chat and per Telegram group, with fake clocks (no real waiting)."""

from __future__ import annotations

import asyncio
import bisect
import itertools

import pytest
from clocks import AutoClock, ManualClock

from bot.delivery.config import RateLimits
from bot.delivery.ratelimit import PRUNE_ABOVE, RateLimiter, RatePolicy, TokenBucket
from bot.platforms.telegram.spec import GROUP_KINDS

TELEGRAM = RatePolicy(
    RateLimits(global_per_second=30, per_chat_per_second=1, per_group_per_minute=20), GROUP_KINDS
)


def test_bucket_refills_at_its_rate_and_caps_at_capacity() -> None:
    bucket = TokenBucket.full(rate=2, capacity=1, now=0)
    assert bucket.delay(0) == 0
    bucket.take(0)
    assert bucket.delay(0) == pytest.approx(0.5)
    assert bucket.delay(0.25) == pytest.approx(0.25)
    assert bucket.delay(100) == 0 and bucket.tokens == 1
    bucket.block(100, 3)
    assert bucket.delay(100) == pytest.approx(3)
    assert not bucket.idle(101) and bucket.idle(103.5)


@pytest.mark.parametrize(("rate", "capacity"), [(0, 1), (-1, 1), (1, 0.5)])
def test_bucket_rejects_impossible_settings(rate: float, capacity: float) -> None:
    with pytest.raises(ValueError, match="rate > 0 and capacity >= 1"):
        TokenBucket.full(rate, capacity, 0)


async def test_one_chat_is_paced_at_its_per_chat_rate() -> None:
    clock = AutoClock()
    limiter = RateLimiter({"telegram": TELEGRAM}, clock)
    stamps = []
    for _ in range(5):
        await limiter.acquire("telegram", "42", "private")
        stamps.append(clock.monotonic())
    assert [round(b - a, 6) for a, b in itertools.pairwise(stamps)] == [1.0] * 4


async def test_many_chats_share_the_global_rate_and_no_second_exceeds_it() -> None:
    clock = AutoClock()
    limiter = RateLimiter({"telegram": TELEGRAM}, clock)
    stamps = []
    for chat in range(300):
        await limiter.acquire("telegram", str(chat), "private")
        stamps.append(clock.monotonic())
    busiest = max(bisect.bisect_left(stamps, start + 1 - 1e-9) - i for i, start in enumerate(stamps))
    assert 28 <= busiest <= 30
    assert 300 / clock.monotonic() >= 0.95 * 30  # the burst allowance costs at most 5% of throughput


async def test_telegram_groups_get_twenty_a_minute() -> None:
    clock = AutoClock()
    limiter = RateLimiter({"telegram": TELEGRAM}, clock)
    for _ in range(4):
        await limiter.acquire("telegram", "-1001", "supergroup")
    assert clock.monotonic() == pytest.approx(9.0)  # 3 s apart, not 1 s
    assert limiter.chat_delay("telegram", "-1001", "supergroup") == pytest.approx(3.0)
    assert limiter.chat_delay("telegram", "-1001", "private") == pytest.approx(1.0)  # per-chat only


async def test_discord_has_no_group_limit() -> None:
    clock = AutoClock()
    discord = RatePolicy(RateLimits(global_per_second=45, per_chat_per_second=4))
    limiter = RateLimiter({"discord": discord}, clock)
    for _ in range(5):
        await limiter.acquire("discord", "9", "guild_channel")
    assert clock.monotonic() == pytest.approx(1.0)


async def test_unlimited_platform_never_waits() -> None:
    clock = AutoClock()
    limiter = RateLimiter({}, clock)
    for _ in range(100):
        await limiter.acquire("console", "local", "console")
    assert clock.monotonic() == 0
    limiter.penalize("console", "local", 10)
    assert limiter.chat_delay("console", "local", "console") == 0


async def test_retry_after_blocks_only_that_chat() -> None:
    clock = AutoClock()
    limiter = RateLimiter({"telegram": TELEGRAM}, clock)
    limiter.penalize("telegram", "7", 12)
    assert limiter.chat_delay("telegram", "7", "private") == pytest.approx(12)
    await limiter.acquire("telegram", "8", "private")
    assert clock.monotonic() == 0
    await limiter.acquire("telegram", "7", "private")
    assert clock.monotonic() == pytest.approx(12)


async def test_waiters_are_released_as_time_passes() -> None:
    clock = ManualClock()
    limiter = RateLimiter({"telegram": TELEGRAM}, clock)
    await limiter.acquire("telegram", "1", "private")
    waiter = asyncio.create_task(limiter.acquire("telegram", "1", "private"))
    await asyncio.sleep(0)
    await clock.advance(0.5)
    assert not waiter.done()
    await clock.advance(0.5)
    await asyncio.wait_for(waiter, 1)


async def test_idle_chat_buckets_are_forgotten() -> None:
    clock = AutoClock()
    limiter = RateLimiter({"telegram": TELEGRAM}, clock)
    for chat in range(PRUNE_ABOVE * 3):
        await limiter.acquire("telegram", str(chat), "private")
    assert limiter.tracked_chats() <= PRUNE_ABOVE + 1
