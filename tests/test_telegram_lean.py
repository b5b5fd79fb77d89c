"""The lean digest sender (JSON over aiohttp) on the wire: every answer means what it means to PTB.

A raw loopback server answers exactly what a test queues; the same answer is also fetched through
PTB's own request class, and the PTB exception's outcome must equal the lean sender's: one rule set
(errors.answer_outcome) for both paths. Paid broadcasts, broken answers and the token's absence from
every reason and log line are checked here too.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from fake_telegram import FakeTelegram
from fake_telegram_types import FloodRules
from proxies import HttpProxy, Socks5Proxy
from telegram.error import TelegramError
from telegram.request import HTTPXRequest
from telegram_helpers import TOKEN

from bot.delivery.outcome import (
    ChatGone,
    FormatRejected,
    Migrated,
    Outcome,
    RetryAfter,
    Sent,
    Target,
    Transient,
    Uncertain,
)
from bot.net.aiohttp_route import AiohttpRoute
from bot.net.proxy import parse_proxy
from bot.platforms.telegram.bot_api import MAX_ANSWER_BYTES, BotApi, Timeouts
from bot.platforms.telegram.errors import outcome_for
from bot.platforms.telegram.paid import PaidBroadcast
from bot.platforms.telegram.sender import TelegramSender

pytestmark = pytest.mark.filterwarnings("ignore:.*`retry_after`:DeprecationWarning")
TARGET = Target("telegram", "42", "7", "supergroup")
TARGET_PRIVATE = Target("telegram", "42", None, "private")
SHORT = Timeouts(connect=1.0, pool=1.0, write=1.0, read=2.0)
MESSAGE = {"message_id": 5, "date": 0, "chat": {"id": 42, "type": "private"}, "text": "hi"}


@dataclass
class RawServer:
    """Answers each POST with the next queued (status, body); records every request body."""

    answers: list[tuple[int, bytes]] = field(default_factory=list)
    bodies: list[dict[str, Any]] = field(default_factory=list)
    base_url: str = ""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()  # PTB's bare post (below) sends none
        if body:
            self.bodies.append(json.loads(body))
        status, answer = self.answers.pop(0)
        if len(answer) > MAX_ANSWER_BYTES:  # chunked: no length to go by
            response = web.StreamResponse(status=status)
            await response.prepare(request)
            for start in range(0, len(answer), 1 << 16):
                await response.write(answer[start : start + (1 << 16)])
            await response.write_eof()
            return response
        return web.Response(status=status, body=answer, content_type="application/json")


@pytest.fixture
async def raw() -> AsyncIterator[RawServer]:
    server = RawServer()
    app = web.Application()
    app.router.add_post("/bot{token}/{method}", server.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server.base_url = f"http://127.0.0.1:{runner.addresses[0][1]}/bot"
    yield server
    await runner.cleanup()


async def lean_send(base_url: str, payload: dict[str, Any], paid: PaidBroadcast | None = None) -> Outcome:
    api = BotApi(TOKEN, base_url, SHORT, pool_size=4)
    try:
        return await TelegramSender(api, paid).send(TARGET, payload)
    finally:
        await api.close()


def error(status: int, description: str, **parameters: Any) -> tuple[int, bytes]:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return status, json.dumps(body).encode()


ANSWERED = [
    (
        error(403, "Forbidden: bot was blocked by the user"),
        ChatGone("Forbidden: bot was blocked by the user"),
    ),
    (error(400, "Bad Request: chat not found"), ChatGone("Chat not found")),
    (error(400, "Bad Request: TOPIC_CLOSED"), ChatGone),
    (error(400, "Bad Request: can't parse entities: unsupported start tag"), FormatRejected),
    (error(400, "Bad Request: something new"), FormatRejected("Something new")),
    (
        error(400, "Bad Request: group chat was upgraded", migrate_to_chat_id=-100777),
        Migrated("-100777", "supergroup"),
    ),
    (error(429, "Too Many Requests: retry after 7", retry_after=7), RetryAfter(7.0)),
    (error(500, "Internal Server Error"), Transient),
    (error(401, "Unauthorized"), Transient),
    ((502, b"<html>Bad Gateway</html>"), Transient),
]


@pytest.mark.parametrize(("answer", "expected"), ANSWERED)
async def test_an_error_answer_means_what_it_means_to_ptb(
    raw: RawServer, answer: tuple[int, bytes], expected: object
) -> None:
    raw.answers = [answer, answer]
    lean = await lean_send(raw.base_url, {"text": "hi", "parse_mode": "HTML"})
    request = HTTPXRequest()
    await request.initialize()
    try:
        with pytest.raises(TelegramError) as raised:
            await request.post(f"{raw.base_url}{TOKEN}/sendMessage", None)
    finally:
        await request.shutdown()
    ptb = outcome_for(raised.value)
    assert type(lean) is type(ptb)
    assert lean == ptb or isinstance(lean, Transient)  # a transient reason names PTB's exception class
    assert isinstance(lean, expected) if isinstance(expected, type) else lean == expected


async def test_a_sent_message_reads_only_its_id_and_the_body_is_json(raw: RawServer) -> None:
    raw.answers = [(200, json.dumps({"ok": True, "result": MESSAGE}).encode())]
    payload = {"text": "<b>hi</b>", "parse_mode": "HTML", "link_preview_options": {"is_disabled": True}}
    assert await lean_send(raw.base_url, payload) == Sent("5")
    assert raw.bodies == [
        {
            "chat_id": 42,
            "message_thread_id": 7,
            "text": "<b>hi</b>",
            "parse_mode": "HTML",
            "link_preview_options": {"is_disabled": True},
        }
    ]


@pytest.mark.parametrize(
    "answer",
    [
        (200, b"not json"),
        (200, b"[1, 2]"),
        (200, json.dumps({"ok": True, "result": {"text": "no id"}}).encode()),
        (200, b'{"ok": true, "result": "' + b"x" * MAX_ANSWER_BYTES + b'"}'),
    ],
    ids=["not-json", "not-an-object", "no-message-id", "over-the-size-cap"],
)
async def test_an_answer_that_is_not_a_bot_api_answer_is_transient(
    raw: RawServer, answer: tuple[int, bytes]
) -> None:
    raw.answers = [answer]
    assert isinstance(await lean_send(raw.base_url, {"text": "hi"}), Transient)


async def test_paid_broadcasts_ask_for_it_and_a_refusal_falls_back_without_counting(raw: RawServer) -> None:
    ok = (200, json.dumps({"ok": True, "result": MESSAGE}).encode())
    refusal = "Bad Request: not enough Stars to send a paid broadcast"
    raw.answers = [ok, error(400, refusal), ok]
    paid = PaidBroadcast(enabled=True)
    assert await lean_send(raw.base_url, {"text": "a"}, paid) == Sent("5")
    assert await lean_send(raw.base_url, {"text": "b"}, paid) == RetryAfter(0.0)
    assert not paid.active and paid.fallback_reason == refusal
    assert await lean_send(raw.base_url, {"text": "b"}, paid) == Sent("5")
    assert [body.get("allow_paid_broadcast") for body in raw.bodies] == [True, True, None]
    raw.answers = [error(400, refusal)]  # paid already off: the same words are a plain format refusal
    assert isinstance(await lean_send(raw.base_url, {"text": "c"}, paid), FormatRejected)
    raw.answers = [ok]
    assert await lean_send(raw.base_url, {"text": "d"}, PaidBroadcast(enabled=False)) == Sent("5")
    assert "allow_paid_broadcast" not in raw.bodies[-1]


async def serve_raw(reply: bytes) -> tuple[asyncio.Server, str]:
    """A TCP server that reads a request, writes `reply` (maybe nothing) and hangs up."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(reply)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    return server, f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/bot"


@pytest.mark.parametrize("reply", [b"", b"NOT HTTP AT ALL\r\n\r\n"], ids=["hang-up", "garbage"])
async def test_a_failure_after_the_request_left_is_uncertain_and_never_shows_the_token(
    reply: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    server, base_url = await serve_raw(reply)
    with caplog.at_level(logging.DEBUG):
        outcome = await lean_send(base_url, {"text": "hi"})
    server.close()
    await server.wait_closed()
    assert isinstance(outcome, Uncertain)
    assert TOKEN not in outcome.reason and TOKEN.split(":")[1] not in outcome.reason
    assert TOKEN.split(":")[1] not in caplog.text


async def test_a_bad_base_url_is_transient_and_never_shows_the_token(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.DEBUG):
        outcome = await lean_send("ftp://127.0.0.1:1/bot", {"text": "hi"})
    assert isinstance(outcome, Transient)
    assert TOKEN.split(":")[1] not in outcome.reason and TOKEN.split(":")[1] not in caplog.text


async def test_a_payload_the_renderer_never_makes_is_refused_before_any_request(raw: RawServer) -> None:
    with pytest.raises(ValueError, match="unsupported keys: reply_markup"):
        await lean_send(raw.base_url, {"text": "hi", "reply_markup": {}})
    assert raw.bodies == []


def test_plain_strips_the_markup() -> None:
    sender = TelegramSender(BotApi(TOKEN, "http://127.0.0.1:1/bot", SHORT, pool_size=1))
    assert sender.plain({"text": "<b>a &amp; b</b>", "parse_mode": "HTML"}) == {"text": "a & b"}


@pytest.mark.parametrize(("kind", "scheme"), [("http", "http"), ("socks", "socks5h")])
async def test_digest_sends_go_through_the_configured_proxy(kind: str, scheme: str) -> None:
    proxy_server = HttpProxy("bot", "pw") if kind == "http" else Socks5Proxy("bot", "pw")
    async with FakeTelegram(TOKEN, flood_rules=FloodRules(enabled=False)) as fake, proxy_server as proxy:
        fake.user(42)
        route = AiohttpRoute(parse_proxy(proxy.url(scheme)))
        api = BotApi(TOKEN, fake.base_url, SHORT, pool_size=2, route=route)
        try:
            outcome = await TelegramSender(api).send(
                Target("telegram", "42", None, "private"), {"text": "hi"}
            )
        finally:
            await api.close()
    assert isinstance(outcome, Sent) and [m.text for m in fake.sent_to(42)] == ["hi"]
    assert proxy.connections == 1 and proxy.refused == 0
