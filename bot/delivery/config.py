"""Delivery's own settings: pacing per platform, retries and shutdown, and how long history stays.

Owned here, not in `bot.config`, so delivery never imports the settings file's loader; the loader
imports these models.
"""

from __future__ import annotations

from pydantic import Field

from bot.core.strict import Strict


class RateLimits(Strict):
    """Sends allowed before the platform has to refuse; per_group applies only to the chat kinds the
    platform counts as groups (its `RatePolicy.group_kinds`)."""

    global_per_second: float = Field(gt=0)
    per_chat_per_second: float = Field(gt=0)
    per_group_per_minute: float | None = Field(default=None, gt=0)


class DeliveryConfig(Strict):
    max_attempts: int = Field(default=8, ge=1)
    backoff_base: float = Field(default=2.0, gt=0)
    backoff_max: float = Field(default=600.0, gt=0)
    concurrency: int = Field(default=16, ge=1)
    shutdown_grace: float = Field(default=10.0, ge=0)
    # Seconds (up to a year). A queued row first due longer ago than this expires, not sent late.
    max_age: float = Field(default=86_400.0, gt=0, le=31_536_000)
    # Seconds (up to a week) of rate-limit waits one row may add up before it fails.
    max_retry_wait: float = Field(default=3_600.0, gt=0, le=604_800)
    # Seconds (PostgreSQL) a process holds outbox rows it claimed without renewing: how long a dead
    # process's rows wait for another one, traded against a live one losing them to a long stall.
    lease: float = Field(default=60.0, ge=3, le=3_600)


class RetentionConfig(Strict):
    """How long finished history stays (days, fractions allowed); what is still needed always stays."""

    deliveries_days: float = Field(default=30.0, gt=0, le=36_500)
    payloads_days: float = Field(default=7.0, gt=0, le=36_500)
    digest_versions: int = Field(default=3, ge=1, le=1_000)


DEFAULT_TOP = 5


class RoundupConfig(Strict):
    """The weekly roundup (`/schedule weekly Mon 09:00`): how many items each category shows."""

    top_per_category: int = Field(default=DEFAULT_TOP, ge=1, le=50)
