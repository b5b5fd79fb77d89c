"""Telegram paid broadcasts: whether digest sends ask for them right now, and falling back when refused.

With `telegram.paid_broadcast` on, digest sends carry `allow_paid_broadcast` and are paced at
`telegram.rate_limits.paid_per_second`. If Telegram refuses a paid send (e.g. the bot's Stars balance
is empty), sending goes on at the free pace: the refused row is retried, nothing is lost.
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


class PaidBroadcast:
    """The one switch the sender reads per send and flips off, once, on a refusal."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.fallback_reason: str | None = None

    @property
    def active(self) -> bool:
        return self.enabled and self.fallback_reason is None

    def refused(self, reason: str) -> None:
        """Telegram refused a paid send: fall back to the free pace (logged once)."""
        if self.fallback_reason is None:
            self.fallback_reason = reason
            log.warning("telegram: paid broadcast refused (%s); sending at the free pace from now on", reason)


def is_paid_refusal(description: str) -> bool:
    """Whether an error answer's description means the paid broadcast itself was refused."""
    lowered = description.lower()
    return "star" in lowered and ("not enough" in lowered or "balance" in lowered)
