"""Telegram errors translated into delivery outcomes: PTB exceptions and raw error answers alike.

The engine decides retries and pauses from the outcome alone, so every rule about which Telegram
error means what lives here (`answer_outcome`, shared by both send paths) and is unit-tested
without a network.
"""

from __future__ import annotations

import warnings
from datetime import timedelta
from http import HTTPStatus

import httpx
from telegram.error import BadRequest, ChatMigrated, Forbidden, RetryAfter, TelegramError, TimedOut

from bot.delivery.outcome import ChatGone, FormatRejected, Migrated, Outcome, Transient, Uncertain
from bot.delivery.outcome import RetryAfter as RetryLater

# 400 descriptions that mean "this chat (or topic) will not take messages from us any more".
_CHAT_GONE_MARKERS = (
    "chat not found",
    "not enough rights",
    "need administrator rights",
    "have no rights to send",
    "chat_write_forbidden",
    "chat_restricted",
    "topic_closed",
    "topic closed",
    "topic_deleted",
    "message thread not found",
    "group chat was deactivated",
    "bot was kicked",
    "bot is not a member",
    "user is deactivated",
    "peer_id_invalid",
)

# httpx failures that happen before a single byte of the request is on its way to Telegram: no
# connection (refused, unreachable, connect timeout), no free connection in the pool, or a request
# httpx refused to build. Any other transport failure may come after Telegram got the request.
_NOT_SENT = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.ProxyError,
    httpx.UnsupportedProtocol,
    httpx.LocalProtocolError,
)


def retry_seconds(exc: RetryAfter) -> float:
    """The wait Telegram asked for, whether PTB hands it out as seconds or (PTB_TIMEDELTA) a timedelta.

    PTB 22 warns on every read while it migrates the attribute's type; both types are handled here,
    so the warning carries no information for us.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def described(description: str) -> str:
    """An error answer's description as PTB words it (its `TelegramError.message`): without the
    "Bad Request: " or "Error: " prefix, then capitalised, so both send paths record one reason."""
    text = description.removeprefix("Error: ").removeprefix("[Error]: ").removeprefix("Bad Request: ")
    return text.capitalize() if text != description else text


def answer_outcome(
    status: int,
    message: str,
    *,
    retry_after: float | None = None,
    migrate_to: int | str | None = None,
) -> Outcome:
    """The outcome of an error answered by Telegram (`message` as `described` words it): the rules
    PTB's exceptions and the lean sender's raw answers share.

    A 400 we do not recognise is FormatRejected rather than Transient: the same request would fail
    the same way again, and FormatRejected means one plain-text resend and then a recorded failure,
    bounded and without pausing a chat that may be perfectly fine. Any other status (5xx, 401, 404,
    409) is Transient, as a refusal to serve the request now.
    """
    if migrate_to:  # only a group migrates, and it always becomes a supergroup
        return Migrated(str(migrate_to), "supergroup")
    if retry_after is not None:
        return RetryLater(max(retry_after, 0.0))
    if status == HTTPStatus.FORBIDDEN:
        return ChatGone(message)
    if status == HTTPStatus.BAD_REQUEST:
        lowered = message.lower()
        if any(marker in lowered for marker in _CHAT_GONE_MARKERS):
            return ChatGone(message)
        return FormatRejected(message)
    return Transient(message)


def outcome_for(exc: TelegramError) -> Outcome:
    """The outcome of a failed PTB call.

    Order matters: BadRequest subclasses NetworkError, so it is tested before the transient group.
    """
    if isinstance(exc, ChatMigrated):
        return answer_outcome(HTTPStatus.BAD_REQUEST, exc.message, migrate_to=exc.new_chat_id)
    if isinstance(exc, RetryAfter):
        return answer_outcome(HTTPStatus.TOO_MANY_REQUESTS, exc.message, retry_after=retry_seconds(exc))
    if isinstance(exc, Forbidden):
        return answer_outcome(HTTPStatus.FORBIDDEN, exc.message)
    if isinstance(exc, BadRequest):
        return answer_outcome(HTTPStatus.BAD_REQUEST, exc.message)
    cause = _transport_cause(exc)
    if cause is not None and not isinstance(cause, _NOT_SENT):
        return Uncertain(f"httpx.{type(cause).__name__} after the request left: {exc.message}")
    if isinstance(exc, TimedOut):
        return Transient(f"timed out: {exc.message}")
    return Transient(f"{type(exc).__name__}: {exc.message}")


def _transport_cause(exc: BaseException) -> httpx.TransportError | None:
    """The httpx error behind a PTB TimedOut/NetworkError (PTB raises them `from` it), if any.

    PTB turns connect, pool, read and write timeouts all into TimedOut; only the httpx exception
    tells whether the request had left. An error with no httpx cause came with an answer from
    Telegram (an error status), so it is Transient as any other refusal to serve the request.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, httpx.TransportError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None
