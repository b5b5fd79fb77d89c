"""Connecting to PostgreSQL at start-up: wait out a server that is not up yet, refuse a wrong setting.

In a compose file the bot and its database start together, so an unreachable server is retried
with backoff for `timeout` seconds (one log line when it goes away, one when it is back). A wrong
URL, password, permission or database name will not fix itself: that fails at once, in one line.
The password never appears in a message: every URL goes through `redact_url`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

import asyncpg

from bot.net.pg_url import redact_url
from bot.store.errors import StoreError
from bot.store.postgres import PostgresConnection

log = logging.getLogger(__name__)

FIRST_WAIT = 0.5
LONGEST_WAIT = 5.0
ATTEMPT_TIMEOUT = 10.0  # one connection attempt; a silent host is retried after this
# Longest wait for one statement's answer: a server that stopped answering (a vanished host, a
# frozen backend) then fails that operation as a lost connection instead of hanging the bot until
# the OS gives up on the socket (~15 min). The store's statements take milliseconds.
COMMAND_TIMEOUT = 10.0
# Errors that mean "not reachable yet": nothing listening, no route, the server still starting.
UNREACHABLE: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.ConnectionDoesNotExistError,
)


async def connect(
    url: str,
    *,
    timeout: float,
    monotonic: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
) -> PostgresConnection:
    """An open connection to `url`, retrying an unreachable server until `timeout` seconds passed."""
    shown = redact_url(url)
    deadline = monotonic() + timeout
    wait = FIRST_WAIT
    failing = False
    while True:
        attempt = max(0.1, min(ATTEMPT_TIMEOUT, deadline - monotonic()))
        try:
            conn = await asyncpg.connect(dsn=url, timeout=attempt, command_timeout=COMMAND_TIMEOUT)
        except UNREACHABLE as exc:
            why = _reason(exc)
            left = deadline - monotonic()
            if left <= 0:
                raise StoreError(f"database {shown}: unreachable for {timeout:g} s ({why})") from None
            if not failing:
                log.warning("database %s unreachable (%s); retrying for up to %g s", shown, why, timeout)
                failing = True
            await sleep(min(wait, left))  # the last attempt is made at the deadline itself
            wait = min(wait * 2, LONGEST_WAIT)
            continue
        except (asyncpg.PostgresError, asyncpg.InterfaceError, ValueError) as exc:
            raise StoreError(f"database {shown}: {_reason(exc)}") from None
        if failing:
            log.info("database %s reachable again", shown)
        return PostgresConnection(conn)


def _reason(exc: BaseException) -> str:
    """The error in one line, without the password even if a library echoed the URL."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return redact_url(text)
