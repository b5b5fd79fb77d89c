"""What a platform adapter reports after one send, and the one Protocol every adapter implements.

The engine decides retries, pausing and fallbacks from these outcomes alone, so adapters stay thin
translators and the engine is tested without any platform library.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

Payload = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Target:
    """Where a message goes: chat id, thread/topic id (None for none), the platform's chat kind, and
    which part of a multi-part message; no kind default, since which kinds exist is the platform's rule."""

    platform: str
    chat_id: str
    thread_id: str | None
    kind: str
    part: int = 1


@dataclass(frozen=True, slots=True)
class Sent:
    message_id: str


@dataclass(frozen=True, slots=True)
class RetryAfter:
    """The platform asked us to wait (an HTTP 429 with a retry-after)."""

    seconds: float


@dataclass(frozen=True, slots=True)
class Transient:
    """Timeouts, network errors, 5xx: retried with exponential backoff and jitter up to a limit."""

    reason: str


@dataclass(frozen=True, slots=True)
class Uncertain:
    """The request left but no answer came (read/write timeout, dropped connection): the message
    may have arrived, so it is recorded `uncertain` and never resent. Only failures that provably
    happened before the request reached the server (connect or pool timeout, refused) are Transient.
    """

    reason: str


@dataclass(frozen=True, slots=True)
class ChatGone:
    """Blocked, kicked, chat not found, missing access: pause the subscription, never retry."""

    reason: str


@dataclass(frozen=True, slots=True)
class FormatRejected:
    """The platform refused the formatting: resend once as plain text, then record the failure."""

    reason: str


@dataclass(frozen=True, slots=True)
class Migrated:
    """The chat moved to a new id and became another kind of chat, as the platform says: follow it
    and resend. The platform names the new kind, so the engine and the store know no chat kinds."""

    new_chat_id: str
    new_kind: str


Outcome = Sent | RetryAfter | Transient | Uncertain | ChatGone | FormatRejected | Migrated


class Sender(Protocol):
    """The only thing the delivery engine needs from a platform."""

    platform: str

    async def send(self, target: Target, payload: Payload) -> Outcome:
        """Send one rendered payload; never raises for platform errors, returns an outcome instead."""
        ...

    def plain(self, payload: Payload) -> Payload:
        """The same message without formatting, for the one resend after FormatRejected."""
        ...
