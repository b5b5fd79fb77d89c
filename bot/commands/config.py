"""Command settings shared by every platform that answers commands."""

from __future__ import annotations

from pydantic import Field

from bot.core.strict import Strict


class CommandBudgetConfig(Strict):
    """Commands one user may send: `burst` in a row, then one every `refill_seconds`; beyond that one
    "slow down" reply and silence, so a flood cannot delay other users' replies."""

    burst: int = Field(default=5, ge=1, le=1000)
    refill_seconds: float = Field(default=3.0, gt=0, le=3600)
