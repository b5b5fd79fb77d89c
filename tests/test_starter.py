"""bot.platforms.starter: network failures at start-up are retried with back-off, others are not.

Also which Telegram and Discord start failures count as passing (retryable) ones."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace

import aiohttp
import discord
import pytest
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, TelegramError, TimedOut
from telegram.error import RetryAfter as TelegramRetryAfter

from bot.delivery.outcome import Outcome, Payload, RetryAfter, Sent, Target
from bot.platforms.base import PlatformStartError
from bot.platforms.discord.client import retryable as discord_retryable
from bot.platforms.starter import Starter
from bot.platforms.telegram.adapter import retryable as telegram_retryable

TARGET = Target("fake", "1", None, "private")


@dataclass
class RecordingSender:
    platform: str = "fake"
    sent: list[Payload] = field(default_factory=list)

    async def send(self, target: Target, payload: Payload) -> Outcome:
        self.sent.append(payload)
        return Sent(str(len(self.sent)))

    def plain(self, payload: Payload) -> Payload:
        return {"plain": True, **payload}


@dataclass
class ScriptedPlatform:
    """Fails its first starts with the scripted errors, then starts."""

    failures: list[Exception]
    name: str = "fake"
    sender: RecordingSender = field(default_factory=RecordingSender)
    attempts: int = 0
    stops: int = 0
    running: bool = False

    async def start(self) -> None:
        self.attempts += 1
        if self.failures:
            raise self.failures.pop(0)
        self.running = True

    async def stop(self) -> None:
        self.stops += 1
        self.running = False


def unreachable() -> PlatformStartError:
    return PlatformStartError("fake: cannot start: connection refused", retryable=True)


async def test_a_platform_that_starts_is_used_directly() -> None:
    platform = ScriptedPlatform([])
    starter = Starter(platform)
    await starter.start()
    assert starter.started.is_set() and platform.running
    assert await starter.sender.send(TARGET, {"text": "hi"}) == Sent("1")
    assert starter.sender.plain({"text": "hi"}) == {"plain": True, "text": "hi"}


async def test_an_unreachable_platform_is_retried_with_back_off_and_messages_wait() -> None:
    platform = ScriptedPlatform([unreachable(), unreachable(), unreachable()])
    starter = Starter(platform, first_retry=0.01, max_retry=0.03)
    await starter.start()
    assert not starter.started.is_set()
    assert await starter.sender.send(TARGET, {"text": "early"}) == RetryAfter(0.01)
    assert platform.sender.sent == []

    await asyncio.wait_for(starter.started.wait(), 2)
    assert platform.attempts == 4 and platform.running
    assert await starter.sender.send(TARGET, {"text": "now"}) == Sent("1")
    await starter.stop()
    assert not platform.running


async def test_the_retry_interval_doubles_up_to_the_maximum() -> None:
    platform = ScriptedPlatform([unreachable() for _ in range(50)])
    starter = Starter(platform, first_retry=0.01, max_retry=0.04)
    await starter.start()
    seen = set()
    for _ in range(100):
        await asyncio.sleep(0.005)
        seen.add(starter.wait)
    assert seen == {0.01, 0.02, 0.04}
    await starter.stop()
    assert platform.stops == 1 and not starter.started.is_set()


@pytest.mark.parametrize(
    "error",
    [PlatformStartError("fake: the bot token was rejected"), RuntimeError("a bug")],
    ids=["rejected", "unexpected"],
)
async def test_a_fatal_failure_is_raised_at_once_and_the_platform_stopped(error: Exception) -> None:
    platform = ScriptedPlatform([error])
    starter = Starter(platform, first_retry=0.01)
    with pytest.raises(type(error)):
        await starter.start()
    await asyncio.sleep(0.05)
    assert platform.attempts == 1 and platform.stops == 1


async def test_a_fatal_failure_while_retrying_ends_the_retries() -> None:
    platform = ScriptedPlatform([unreachable(), PlatformStartError("fake: the bot token was rejected")])
    starter = Starter(platform, first_retry=0.01, max_retry=30)
    await starter.start()
    await asyncio.sleep(0.1)
    assert platform.attempts == 2 and not starter.started.is_set()
    assert await starter.sender.send(TARGET, {"text": "x"}) == RetryAfter(30)  # waits for a restart
    await starter.stop()


async def test_stop_cancels_a_pending_retry() -> None:
    platform = ScriptedPlatform([unreachable()])
    starter = Starter(platform, first_retry=10)
    await starter.start()
    await asyncio.wait_for(starter.stop(), 1)
    assert platform.attempts == 1 and platform.stops == 1


@pytest.mark.filterwarnings("ignore:.*`retry_after`:DeprecationWarning")
@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (lambda: NetworkError("httpx.ConnectError: All connection attempts failed"), True),
        (lambda: TimedOut("Timed out"), True),
        (lambda: TelegramRetryAfter(5), True),
        (lambda: NetworkError("Bad Gateway"), True),
        (lambda: InvalidToken("Not Found"), False),
        (lambda: BadRequest("Bad Request: chat not found"), False),
        (lambda: Forbidden("Forbidden: bot was blocked by the user"), False),
    ],
    ids=["unreachable", "timeout", "flood", "bad-gateway", "token", "bad-request", "forbidden"],
)
def test_which_telegram_start_failures_are_worth_retrying(
    error: Callable[[], TelegramError], expected: bool
) -> None:
    assert telegram_retryable(error()) is expected


def _closed(code: int) -> discord.ConnectionClosed:
    return discord.ConnectionClosed(SimpleNamespace(close_code=None), shard_id=None, code=code)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (aiohttp.ClientConnectionError("connection refused"), True),
        (ConnectionRefusedError(111, "refused"), True),
        (TimeoutError(), True),
        (discord.DiscordServerError(SimpleNamespace(status=503, reason="Service Unavailable"), ""), True),
        (_closed(1006), True),
        (_closed(4004), False),
        (_closed(4014), False),
        (discord.LoginFailure("Improper token has been passed."), False),
        (discord.PrivilegedIntentsRequired(None), False),
    ],
)
def test_which_discord_start_failures_are_worth_retrying(error: BaseException, expected: bool) -> None:
    assert discord_retryable(error) is expected
