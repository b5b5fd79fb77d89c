"""What the composition root needs from a platform: a sender for the engine and a lifecycle."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # the outcomes' eight dataclasses cost ~5 ms to build; `preview` reads specs only
    from bot.delivery.outcome import Sender


class Platform(Protocol):
    """A running chat platform: receives commands (start/stop) and sends payloads (sender).

    Read-only members, so a platform may expose its own sender class (which satisfies Sender).
    """

    @property
    def name(self) -> str:
        """The registry name; subscriptions and deliveries carry it."""
        ...

    @property
    def sender(self) -> Sender:
        """What the delivery engine sends through; exists before start() (messages wait until then)."""
        ...

    async def start(self) -> None:
        """Connect and begin handling updates in the background; returns once started."""
        ...

    async def stop(self) -> None:
        """Stop receiving, close connections; safe to call after a failed start."""
        ...


class PlatformStartError(Exception):
    """A platform that did not start. `retryable` when the cause may pass by itself (the server is
    unreachable, times out or answers 5xx), not when it never will (a rejected token, a bad setting).
    The message never contains a secret."""

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable
