"""Telegram paid broadcasts: whether digest sends ask for them right now, and falling back when refused.

With `telegram.paid_broadcast` on, digest sends carry `allow_paid_broadcast` and are paced at
`telegram.rate_limits.paid_per_second` (Telegram allows up to 1,000 messages/s and charges 0.1 Stars
per message beyond the free limit, from the bot's own Stars balance). If Telegram refuses a paid send
(e.g. the bot's Stars balance is empty), sending goes on at the free pace: the refused row is
retried, nothing is lost. /stats shows the state (see bot.commands.paid_status).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from bot.core.clock import Clock, SystemClock

log = logging.getLogger(__name__)
# Longest refusal reason kept for /stats: Telegram's descriptions are short; a proxy's page is not.
MAX_REASON_CHARS = 200
# What the Bot API answers when the bot's Stars cannot pay for a paid send: MTProto's
# `400 BALANCE_TOO_LOW` ("the current Telegram Stars balance is too low"), which the Bot API server
# passes on as "Bad Request: BALANCE_TOO_LOW" (upper-case MTProto errors keep their name there).
BALANCE_TOO_LOW = "BALANCE_TOO_LOW"


class PaidBroadcast:
    """The one switch the sender reads per send and flips off, once, on a refusal.

    `on_fallback` runs once, at the refusal (the platform drops the limiter's global pace to the free
    limit there); `per_second` is the paid pace, shown by /stats.
    """

    def __init__(
        self,
        enabled: bool,
        *,
        per_second: float = 1000.0,
        clock: Clock | None = None,
        on_fallback: Callable[[], None] | None = None,
    ) -> None:
        self.enabled = enabled
        self.per_second = per_second
        self.fallback_reason: str | None = None
        self.fallback_at: datetime | None = None
        self._clock = clock or SystemClock()
        self._on_fallback = on_fallback or (lambda: None)

    @property
    def active(self) -> bool:
        return self.enabled and self.fallback_reason is None

    def refused(self, reason: str) -> None:
        """Telegram refused a paid send: fall back to the free pace (logged once)."""
        if self.fallback_reason is None:
            self.fallback_reason = " ".join(reason.split())[:MAX_REASON_CHARS] or "refused"
            self.fallback_at = self._clock.now()
            log.warning(
                "telegram: paid broadcast refused (%s); sending at the free pace from now on",
                self.fallback_reason,
            )
            self._on_fallback()


def is_paid_refusal(description: str) -> bool:
    """Whether an error answer's description means the paid broadcast itself was refused: the
    Bot API's "Bad Request: BALANCE_TOO_LOW", or a worded form of it ("not enough Stars")."""
    lowered = description.lower()
    if BALANCE_TOO_LOW.lower() in lowered:
        return True
    return "star" in lowered and ("not enough" in lowered or "balance" in lowered)
