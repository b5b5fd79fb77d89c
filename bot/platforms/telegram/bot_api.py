"""The lean Bot API client of digest sends: JSON POSTs over one shared aiohttp session.

PTB builds form bodies byte by byte, runs httpcore's pool bookkeeping and turns every answer into a
full `Message`; at a paid-broadcast pace (1,000 messages/s) that costs more CPU than the rest of the
bot together. Digest sends only need `ok` and `result.message_id`, or the error fields, so they go
through this client; PTB keeps commands, replies and polling.

Timeouts mean what the PTB client's mean (adapter.py): connect and pool waits are short, since
nothing has left yet and the send is retried; a read or write that runs out after the request left
makes the row `uncertain` (never resent), so those are long. The bot token is part of every URL:
no text that leaves this module (an outcome's reason, an error) contains it.
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import aiohttp
from yarl import URL

from bot.delivery.outcome import Outcome, Sent, Transient, Uncertain
from bot.logs import redact
from bot.net.aiohttp_route import AiohttpRoute, SocksProxyError
from bot.platforms.telegram.errors import answer_outcome, described

MAX_ANSWER_BYTES = 1 << 20  # a sendMessage answer is a few KB; anything longer is not Telegram's
JSON_HEADERS = {"Content-Type": "application/json"}

# aiohttp failures that happen before a byte of the request is on its way: no connection (refused,
# unreachable, DNS, TLS, connect timeout), a proxy that refused the tunnel, or a URL it could not use.
# Any other failure may come after Telegram got the request.
NOT_SENT: tuple[type[BaseException], ...] = (
    aiohttp.ClientConnectorError,
    aiohttp.ConnectionTimeoutError,
    aiohttp.ClientHttpProxyError,
    aiohttp.InvalidURL,
    aiohttp.NonHttpUrlClientError,
    SocksProxyError,
)


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Seconds, as adapter.py chooses them for the PTB client (see there for why)."""

    connect: float
    pool: float
    write: float
    read: float

    def client_timeout(self) -> aiohttp.ClientTimeout:
        """aiohttp has no write timeout of its own: the total bounds writing and reading together,
        so a stuck write is cut off too, and only after the request may have left."""
        return aiohttp.ClientTimeout(
            total=self.connect + self.write + self.read,
            connect=self.connect,
            sock_connect=self.connect,
            sock_read=self.read,
        )


class BotApi:
    """`sendMessage` as raw JSON; one session (opened on first use, in the running loop) until `close()`."""

    def __init__(
        self,
        token: str,
        base_url: str,
        timeouts: Timeouts,
        *,
        pool_size: int,
        route: AiohttpRoute | None = None,
    ) -> None:
        self._token = token
        self._send_url = URL(f"{base_url}{token}/sendMessage")
        self._timeouts = timeouts
        self._pool_size = pool_size
        self._route = route or AiohttpRoute()
        self._options = self._route.request_options()
        self._secrets = [token, *(self._route.proxy.secrets() if self._route.proxy else ())]
        self._session: aiohttp.ClientSession | None = None
        self._pool = asyncio.Semaphore(pool_size)

    def open(self) -> aiohttp.ClientSession:
        """The session, opened now if it is not (building its TLS context takes a moment: done at
        start-up, not in the first send). The proxy is ours alone (bot.net.proxy already decided,
        NO_PROXY included): `trust_env` off."""
        if self._session is not None:
            return self._session
        # The connector's own limit is the pool's, so aiohttp never queues behind our semaphore.
        limit = self._pool_size
        connector = self._route.connector(limit=limit) or aiohttp.TCPConnector(limit=limit)
        self._session = aiohttp.ClientSession(
            connector=connector, timeout=self._timeouts.client_timeout(), trust_env=False
        )
        return self._session

    async def close(self) -> None:
        """Close the session and its connections; idempotent (a later send opens a new one)."""
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    async def send_message(self, body: bytes) -> tuple[Outcome, str | None]:
        """POST one message (its JSON parameters, body.Bodies); the outcome, plus the error
        description when Telegram answered one (for callers with rules of their own about it,
        like paid broadcasts)."""
        pool = self._pool
        if pool.locked():
            try:
                async with asyncio.timeout(self._timeouts.pool):
                    await pool.acquire()
            except TimeoutError:
                return Transient(f"Pool timeout: no free connection within {self._timeouts.pool:g} s"), None
        else:
            await pool.acquire()
        try:
            session = self._session or self.open()
            async with session.post(
                self._send_url, data=body, headers=JSON_HEADERS, **self._options
            ) as response:
                status = response.status
                answer = await _read(response)
        except NOT_SENT as exc:
            return Transient(self._clean(f"aiohttp.{type(exc).__name__}: {exc}")), None
        except (aiohttp.ClientError, TimeoutError) as exc:
            return Uncertain(self._clean(f"aiohttp.{type(exc).__name__} after the request left: {exc}")), None
        finally:
            pool.release()
        return self._outcome(status, answer)

    def _outcome(self, status: int, answer: bytes | None) -> tuple[Outcome, str | None]:
        """Only `ok`, `result.message_id`, `description` and `parameters` are read; as PTB does, the
        HTTP status (not `error_code`) says what kind of error it is."""
        if HTTPStatus.OK <= status <= 299 and answer is not None:
            message_id = quick_message_id(answer)
            if message_id is not None:
                return Sent(str(message_id)), None
        data = _json_object(answer)
        if data is None:
            return Transient(f"{_phrase(status)}: the answer is not a Bot API answer"), None
        if HTTPStatus.OK <= status <= 299 and data.get("ok") is True:
            result = data.get("result")
            message_id = result.get("message_id") if isinstance(result, dict) else None
            if isinstance(message_id, int):
                return Sent(str(message_id)), None
            return Transient(f"{_phrase(status)}: the answer has no message id"), None
        raw = data.get("description")
        description = raw if isinstance(raw, str) and raw else _phrase(status)
        parameters = data.get("parameters")
        retry_after = migrate_to = None
        if isinstance(parameters, dict):
            wait = parameters.get("retry_after")
            retry_after = float(wait) if isinstance(wait, int | float) and wait else None
            moved = parameters.get("migrate_to_chat_id")
            migrate_to = moved if isinstance(moved, int) else None
        message = self._clean(described(description))
        return answer_outcome(status, message, retry_after=retry_after, migrate_to=migrate_to), description

    def _clean(self, text: str) -> str:
        return redact(text, self._secrets)


async def _read(response: aiohttp.ClientResponse) -> bytes | None:
    """The answer's body, or None when it is longer than any Bot API answer could be."""
    length = response.content_length
    if length is not None:
        return await response.read() if length <= MAX_ANSWER_BYTES else None
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_any():
        size += len(chunk)
        if size > MAX_ANSWER_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


# The front of a success answer as Telegram writes it (compact), or as json.dumps does by default.
_SENT_FRONT = re.compile(rb'\{"ok": ?true, ?"result": ?\{"message_id": ?(0|[1-9][0-9]*)[,}]')


def quick_message_id(answer: bytes) -> int | None:
    """The message id of a usual success answer, read from its first bytes instead of parsing the
    whole message Telegram echoes back; None for anything else, which then gets the full parse.

    The same id the full parse finds: `ok`, `result` and `message_id` each occur once in the whole
    answer (JSON keeps the last of repeated keys, and a `message_id` of a quoted message means
    a second look is due), so the front is all there is to them; an answer cut short (its braces do
    not pair up) is no usual success either. Not checked: that the rest is valid JSON and that no key
    spells these names with escapes, neither of which Telegram writes.
    """
    match = _SENT_FRONT.match(answer)
    if (
        match is None
        or answer.count(b'"message_id"') != 1
        or answer.count(b'"result"') != 1
        or answer.count(b'"ok"') != 1
        or answer.count(b"{") != answer.count(b"}")
        or not answer.rstrip().endswith(b"}}")
    ):
        return None
    return int(match[1])


def _json_object(answer: bytes | None) -> dict[str, Any] | None:
    if answer is None:
        return None
    try:
        data = json.loads(answer)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _phrase(status: int) -> str:
    """`Bad Gateway (502)`, as PTB words an answer without a description."""
    try:
        return f"{HTTPStatus(status).phrase} ({status})"
    except ValueError:
        return f"Unknown HTTPError ({status})"
