"""Paid broadcasts without a network: the limiter's runtime pace, the switch, its config and /stats line.

The limiter runs on a fake clock (no real waiting): digest sends at the paid pace, command replies
still at the free one, and the drop back to the free pace when Telegram refuses to charge.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from clocks import AutoClock, ManualClock

from bot.commands.paid_status import paid_line
from bot.config import ConfigError, parse_settings
from bot.delivery.config import RateLimits
from bot.delivery.ratelimit import RateLimiter, RatePolicy
from bot.platforms import telegram
from bot.platforms.telegram.config import TelegramConfig
from bot.platforms.telegram.paid import PaidBroadcast, is_paid_refusal
from bot.platforms.telegram.spec import GROUP_KINDS

TELEGRAM = RatePolicy(
    RateLimits(global_per_second=30, per_chat_per_second=1, per_group_per_minute=20), GROUP_KINDS
)


def busiest_second(stamps: list[float]) -> int:
    """The most sends any one-second window holds."""
    return max(bisect.bisect_left(stamps, start + 1 - 1e-9) - i for i, start in enumerate(stamps))


async def sends(limiter: RateLimiter, clock: AutoClock, chats: range, *, free: bool = False) -> list[float]:
    stamps = []
    for chat in chats:
        await limiter.acquire("telegram", str(chat), "private", free=free)
        stamps.append(clock.monotonic())
    return stamps


async def test_digests_go_at_the_paid_pace_and_replies_keep_the_free_one() -> None:
    clock = AutoClock()
    limiter = RateLimiter({"telegram": TELEGRAM}, clock)
    limiter.set_broadcast_rate("telegram", 1000)
    assert limiter.broadcast_rate("telegram") == 1000
    digests = await sends(limiter, clock, range(3000))
    assert 950 <= busiest_second(digests) <= 1000
    assert 3000 / clock.monotonic() >= 0.95 * 1000
    replies = await sends(limiter, clock, range(10_000, 10_300), free=True)
    assert busiest_second(replies) <= 30
    # per-chat limits hold at the paid pace: a second message to one chat waits its second
    start = clock.monotonic()
    await limiter.acquire("telegram", "0", "private")
    await limiter.acquire("telegram", "0", "private")
    assert clock.monotonic() - start >= 1 - 1e-6


async def test_falling_back_drops_to_the_free_pace_without_a_burst() -> None:
    clock = AutoClock()
    limiter = RateLimiter({"telegram": TELEGRAM}, clock)
    limiter.set_broadcast_rate("telegram", 1000)
    before = await sends(limiter, clock, range(500))
    limiter.set_broadcast_rate("telegram", None)
    assert limiter.broadcast_rate("telegram") == 30
    after = await sends(limiter, clock, range(500, 800))
    assert busiest_second(after) <= 30
    assert after[0] >= before[-1]  # the free pace starts after the last slot handed out


async def test_reserved_slots_stay_promised_when_the_pace_drops() -> None:
    clock = ManualClock()
    limiter = RateLimiter({"telegram": TELEGRAM}, clock)
    limiter.set_broadcast_rate("telegram", 100)
    # 3 burst tokens, then 17 reservations ~10.3 ms apart: the last at ~0.175 s
    promised = [asyncio.create_task(limiter.acquire("telegram", str(c), "private")) for c in range(20)]
    await asyncio.sleep(0)
    limiter.set_broadcast_rate("telegram", None)
    late = asyncio.create_task(limiter.acquire("telegram", "99", "private"))
    await asyncio.sleep(0)
    await clock.advance(0.19)
    await asyncio.wait_for(asyncio.gather(*promised), 1)
    assert not late.done()  # the free pace (1/29 s) counts from the last promised slot
    await clock.advance(0.03)
    await asyncio.wait_for(late, 1)
    with pytest.raises(ValueError, match="rate must be > 0"):
        limiter.set_broadcast_rate("telegram", 0)


def test_refusal_flips_the_switch_once_logs_once_and_calls_back(caplog: pytest.LogCaptureFixture) -> None:
    clock = ManualClock()
    fell_back: list[str] = []
    paid = PaidBroadcast(True, per_second=1000, clock=clock, on_fallback=lambda: fell_back.append("x"))
    assert paid.active
    with caplog.at_level(logging.WARNING, logger="bot.platforms.telegram.paid"):
        paid.refused("Bad Request: BALANCE_TOO_LOW")
        paid.refused("Bad Request: BALANCE_TOO_LOW")
    assert not paid.active and paid.enabled
    assert paid.fallback_reason == "Bad Request: BALANCE_TOO_LOW"
    assert paid.fallback_at == clock.now()
    assert fell_back == ["x"]
    assert caplog.text.count("paid broadcast refused") == 1
    assert not PaidBroadcast(False).active


def test_refusal_reason_is_bounded_and_on_one_line() -> None:
    paid = PaidBroadcast(True)
    paid.refused("Bad Request: not enough Stars\n" + "x" * 10_000)
    assert paid.fallback_reason is not None
    assert len(paid.fallback_reason) == 200 and "\n" not in paid.fallback_reason


@pytest.mark.parametrize(
    ("description", "refusal"),
    [
        ("Bad Request: BALANCE_TOO_LOW", True),
        ("Bad Request: not enough Stars on the bot's balance", True),
        ("Bad Request: chat not found", False),
        ("Bad Request: can't parse entities: Unsupported start tag", False),
        ("Too Many Requests: retry after 3", False),
    ],
)
def test_only_a_stars_refusal_counts(description: str, refusal: bool) -> None:
    assert is_paid_refusal(description) is refusal


def settings_from(text: str, where: Path) -> TelegramConfig:
    config = parse_settings(yaml.safe_load(text), "config.yaml", where).platform_config(telegram.SPEC)
    assert isinstance(config, TelegramConfig)
    return config


def test_paid_config_keys_are_validated_with_their_path(tmp_path: Path) -> None:
    base = "telegram:\n  token: x\n  paid_broadcast: true\n  rate_limits:\n"
    limits = "    global_per_second: 30\n    per_chat_per_second: 1\n"
    config = settings_from(base + limits, tmp_path)
    assert config.paid_broadcast is True
    assert config.rate_limits.paid_per_second == 1000
    assert settings_from("telegram:\n  token: x\n", tmp_path).paid_broadcast is False
    for bad in ("0", "1001", "-5", "fast"):
        with pytest.raises(ConfigError, match=r"telegram\.rate_limits\.paid_per_second: "):
            settings_from(base + limits + f"    paid_per_second: {bad}\n", tmp_path)
    with pytest.raises(ConfigError, match=r"telegram\.paid_broadcast: "):
        settings_from("telegram:\n  paid_broadcast: maybe\n", tmp_path)


def test_stats_line_in_both_languages() -> None:
    paid = PaidBroadcast(True, per_second=1000)
    assert paid_line("telegram", paid, "en", "UTC") == "Paid broadcasts (telegram): on, up to 1000 messages/s"
    assert paid_line("telegram", paid, "zh", "UTC") == "付费广播（telegram）：开启，最多每秒 1000 条"
    assert paid_line("telegram", PaidBroadcast(False), "en", "UTC") == "Paid broadcasts (telegram): off"
    assert paid_line("telegram", PaidBroadcast(False), "zh", "UTC") == "付费广播（telegram）：关闭"
    clock = ManualClock(datetime(2025, 11, 20, 12, 0, tzinfo=UTC))
    fell = PaidBroadcast(True, clock=clock)
    fell.refused("Bad Request: BALANCE_TOO_LOW")
    assert paid_line("telegram", fell, "en", "Asia/Shanghai") == (
        "Paid broadcasts (telegram): fell back to the free pace at 2025-11-20 20:00 CST: "
        "Bad Request: BALANCE_TOO_LOW"
    )
    assert paid_line("telegram", fell, "zh", "UTC") == (
        "付费广播（telegram）：已于 2025-11-20 12:00 UTC 退回免费速率："
        "Stars 余额不足（Bad Request: BALANCE_TOO_LOW）"
    )
