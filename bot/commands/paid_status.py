"""The /stats line about paid broadcasts: on, off, or when and why the bot fell back to the free pace.

A platform that can pay to send faster registers its switch in `CommandService.paid_broadcasts`; the
switch is read here through `PaidStatus`, so commands never import a platform.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from bot.commands.messages import text
from bot.commands.reports import when

# Refusal reasons the platforms report (their API's words), in Chinese; an unknown one stays as it is.
REFUSALS_ZH = (
    ("balance_too_low", "Stars 余额不足"),
    ("not enough stars", "Stars 余额不足"),
)


class PaidStatus(Protocol):
    """What /stats reads of a platform's paid-broadcast switch."""

    @property
    def enabled(self) -> bool: ...

    @property
    def per_second(self) -> float: ...

    @property
    def fallback_reason(self) -> str | None: ...

    @property
    def fallback_at(self) -> datetime | None: ...


def paid_line(platform: str, status: PaidStatus, language: str, timezone: str) -> str:
    """`Paid broadcasts (platform): on, up to 1000 messages/s`, `... off`, or `... fell back at
    2025-11-20 20:00 CST: reason` in the reader's language and time zone."""
    if not status.enabled:
        return text("paid_off", language, platform=platform)
    if status.fallback_reason is None:
        return text("paid_on", language, platform=platform, rate=status.per_second)
    reason = status.fallback_reason
    if language.startswith("zh"):
        folded = reason.casefold()
        reason = next((f"{zh}（{reason}）" for phrase, zh in REFUSALS_ZH if phrase in folded), reason)
    return text(
        "paid_fell_back", language, platform=platform, at=when(status.fallback_at, timezone), reason=reason
    )
