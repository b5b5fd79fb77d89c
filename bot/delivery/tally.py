"""Counts of one delivery batch (from busy to idle), logged as one INFO line, not one per send."""

from __future__ import annotations

import logging
from dataclasses import dataclass

log = logging.getLogger("bot.delivery.engine")  # the engine's lines keep the one logger name

PROGRESS_EVERY = 60.0


@dataclass(slots=True)
class Tally:
    """Sent, failed and to-retry counts; a long batch is also logged every PROGRESS_EVERY seconds."""

    sent: int = 0
    failed: int = 0
    retry: int = 0
    started: float | None = None  # monotonic: when the first row of the batch was claimed
    logged: float = 0.0  # monotonic: when the batch was last logged (or the tally restarted)

    def busy(self) -> bool:
        return bool(self.sent or self.failed or self.retry)

    def restart(self, now: float) -> None:
        """A new batch: nothing counted yet."""
        self.sent = self.failed = self.retry = 0
        self.started = None
        self.logged = now

    def claimed(self, now: float) -> None:
        """Rows were claimed: the batch starts now unless it already has."""
        if self.started is None:
            self.started = now

    def log(self, now: float, *, idle: bool) -> None:
        """Log the batch when it ends (`idle`), or as progress while it runs; an ended batch restarts."""
        if not self.busy() or (not idle and now - self.logged < PROGRESS_EVERY):
            return
        log.info(
            "deliveries%s: %d sent, %d failed, %d to retry in %.1f s",
            "" if idle else " (in progress)",
            self.sent,
            self.failed,
            self.retry,
            now - (self.started if self.started is not None else now),
        )
        self.logged = now
        if idle:
            self.restart(now)
