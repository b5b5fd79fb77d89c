"""Which Telegram failures may be retried (issue 14): only those where the request never left.

Real requests of the digest sender (the lean aiohttp client) against the fake Bot API server: an
answer delayed past the client's read timeout after the message was stored, a full connection pool,
and a port nobody listens on; and PTB's errors (command replies) told apart the same way.
"""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import httpx
import pytest
from fake_telegram import FakeTelegram
from fake_telegram_types import FloodRules
from telegram.error import NetworkError, TimedOut
from telegram.request import HTTPXRequest
from telegram_helpers import FAST, TOKEN, VOCABULARY, running, small_digest, store_digest, telegram_config

from bot.core.clock import SystemClock
from bot.delivery.config import DeliveryConfig
from bot.delivery.engine import SEND_TIMEOUT, DeliveryEngine
from bot.delivery.expander import fan_out
from bot.delivery.outcome import Target, Transient, Uncertain
from bot.delivery.ratelimit import RateLimiter, RatePolicy
from bot.platforms.registry import default_renderers
from bot.platforms.telegram import adapter
from bot.platforms.telegram.bot_api import BotApi, Timeouts
from bot.platforms.telegram.errors import outcome_for
from bot.platforms.telegram.sender import TelegramSender
from bot.platforms.telegram.spec import GROUP_KINDS
from bot.store.db import Store

CHAT = 5_001
SLOW = 1.0  # seconds the fake holds its answer: well past the client's read timeout below
READ_TIMEOUT = 0.3


def lean_api(base_url: str, *, pool_size: int = 16, pool: float = 1.0, read: float = 5.0) -> BotApi:
    """The digest sender's client with short timeouts, as adapter.py builds it with long ones."""
    return BotApi(
        TOKEN, base_url, Timeouts(connect=1.0, pool=pool, write=1.0, read=read), pool_size=pool_size
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_a_lost_answer_leaves_exactly_one_copy_and_an_uncertain_row(tmp_path: Path) -> None:
    async with FakeTelegram(TOKEN, flood_rules=FloodRules(enabled=False)) as fake:
        fake.user(CHAT)
        fake.delay_answer(CHAT, SLOW)
        api = lean_api(fake.base_url, read=READ_TIMEOUT)
        async with await Store.open(tmp_path / "bot.db") as store:
            await store.subscribe(
                "telegram",
                str(CHAT),
                None,
                kind="private",
                title="",
                created_by=str(CHAT),
                language="en",
                timezone="UTC",
                categories=None,
            )
            await store_digest(store, small_digest())
            assert await fan_out(store, VOCABULARY, renderers=default_renderers()) == 1
            engine = DeliveryEngine(
                store,
                {"telegram": TelegramSender(api)},
                RateLimiter({"telegram": RatePolicy(FAST, GROUP_KINDS)}, SystemClock()),
                DeliveryConfig(backoff_base=0.05),
            )
            await engine.drain(horizon=2.0)  # a retry (backoff 25-50 ms) would fall well inside this
            await asyncio.sleep(SLOW)  # the fake's held answer, and anything sent after it, is in
            stats = await store.stats(store.clock.now())
            await api.close()
        assert len(fake.sent_to(CHAT)) == 1
        assert len(fake.calls("sendmessage")) == 1
        assert stats["deliveries_24h"] == {"uncertain": 1}


async def test_a_full_connection_pool_is_retried_as_nothing_was_sent() -> None:
    async with FakeTelegram(TOKEN, flood_rules=FloodRules(enabled=False)) as fake:
        fake.user(CHAT)
        fake.user(CHAT + 1)
        fake.delay_answer(CHAT, SLOW)
        api = lean_api(fake.base_url, pool_size=1, pool=0.1)
        try:
            sender = TelegramSender(api)
            holding = asyncio.create_task(
                sender.send(Target("telegram", str(CHAT), None, "private"), {"text": "first"})
            )
            await fake.wait_for(lambda: bool(fake.sent_to(CHAT)))
            waiting = await sender.send(
                Target("telegram", str(CHAT + 1), None, "private"), {"text": "second"}
            )
            assert isinstance(waiting, Transient) and "Pool timeout" in waiting.reason
            await holding
        finally:
            await api.close()
        assert fake.sent_to(CHAT + 1) == []


async def test_a_refused_connection_is_retried_as_nothing_was_sent() -> None:
    base_url = f"http://127.0.0.1:{free_port()}/bot"
    api = lean_api(base_url)
    try:
        outcome = await TelegramSender(api).send(
            Target("telegram", str(CHAT), None, "private"), {"text": "hi"}
        )
    finally:
        await api.close()
    assert isinstance(outcome, Transient)
    assert TOKEN not in outcome.reason


@pytest.mark.parametrize(
    ("cause", "wrapper", "expected"),
    [
        (httpx.ConnectTimeout("connect"), TimedOut, Transient),
        (httpx.PoolTimeout("pool"), TimedOut, Transient),
        (httpx.ConnectError("refused"), NetworkError, Transient),
        (httpx.ReadTimeout("read"), TimedOut, Uncertain),
        (httpx.WriteTimeout("write"), TimedOut, Uncertain),
        (
            httpx.RemoteProtocolError("Server disconnected without sending a response."),
            NetworkError,
            Uncertain,
        ),
        (httpx.ReadError("connection reset"), NetworkError, Uncertain),
    ],
)
def test_ptb_timeouts_are_told_apart_by_their_httpx_cause(
    cause: Exception, wrapper: type[NetworkError], expected: type
) -> None:
    """PTB raises TimedOut/NetworkError `from` the httpx error, as telegram/request/_httpxrequest.py does."""
    try:
        try:
            raise cause
        except httpx.HTTPError as err:
            raise wrapper("Timed out" if wrapper is TimedOut else f"httpx.{type(err).__name__}") from err
    except NetworkError as exc:
        outcome = outcome_for(exc)
    assert isinstance(outcome, expected)
    if expected is Uncertain:
        assert type(cause).__name__ in outcome.reason


def test_an_error_answered_by_telegram_stays_transient() -> None:
    """No httpx cause: Telegram answered (e.g. 502 Bad Gateway), so the send is retried as before."""
    assert isinstance(outcome_for(NetworkError("Bad Gateway")), Transient)


async def test_the_bot_waits_long_for_answers_so_uncertain_sends_are_rare(tmp_path: Path) -> None:
    async with (
        FakeTelegram(TOKEN, flood_rules=FloodRules(enabled=False)) as fake,
        running(tmp_path, fake, telegram_config(fake)) as harness,
    ):
        request = harness.platform.application.bot.request
        assert isinstance(request, HTTPXRequest)
        assert request.read_timeout == adapter.READ_TIMEOUT >= 30
        assert adapter.TIMEOUTS.client_timeout().sock_read == adapter.READ_TIMEOUT  # the digest sender
        longest = (
            adapter.CONNECT_TIMEOUT + adapter.POOL_TIMEOUT + adapter.WRITE_TIMEOUT + adapter.READ_TIMEOUT
        )
        assert longest < SEND_TIMEOUT  # the client always gives its own answer before the engine gives up
