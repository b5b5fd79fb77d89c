"""Turning one send's outcome into ledger state: sent, retry later, failed, paused, plain, moved.

Sent records the message id; RetryAfter waits as told (not a failure); Transient backs off
exponentially with jitter up to `max_attempts`; ChatGone pauses the subscription and drops its
unsent rows; FormatRejected resends once as plain text; Migrated moves the chat and resends.
Uncertain (the adapter saw the request leave but no answer come back) is final: the row becomes
`uncertain`, never resent. RetryAfter waits add up per row, stored in the row so a restart keeps
the count; past `max_retry_wait` in total the row fails.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol

from bot.core.clock import Clock
from bot.delivery.config import DeliveryConfig
from bot.delivery.expiry import duration
from bot.delivery.outcome import (
    ChatGone,
    FormatRejected,
    Migrated,
    Outcome,
    Payload,
    RetryAfter,
    Sender,
    Sent,
    Target,
    Transient,
    Uncertain,
)
from bot.delivery.ratelimit import RateLimiter
from bot.delivery.tally import Tally
from bot.store.db import Store
from bot.store.deliveries import Delivery

log = logging.getLogger("bot.delivery.engine")  # the engine's lines keep the one logger name

MAX_MIGRATIONS = 3
MIN_RETRY_AFTER = 1.0  # a "retry after 0" must not turn into a tight loop of refused requests
MAX_RETRY_AFTER = 86_400.0

# Records one sent row (id, message id, when) and returns once it is committed: the group commit.
SentWriter = Callable[[int, str, datetime], Awaitable[None]]


@dataclass(slots=True)
class Attempt:
    """One row being sent: where it goes now and in which form, which change as outcomes come in."""

    delivery: Delivery
    target: Target
    payload: Payload
    migrations: int = 0
    plain: bool = False


class ProblemSink(Protocol):
    """Where final failures and paused chats are told (the error-chat reporter)."""

    def failed(self, platform: str, chat_id: str, reason: str) -> None: ...

    def paused(self, platform: str, chat_id: str, reason: str) -> None: ...


class OutcomeRecorder:
    """Stores outcomes in the ledger and counts them in the engine's tally."""

    def __init__(
        self,
        store: Store,
        limiter: RateLimiter,
        config: DeliveryConfig,
        clock: Clock,
        tally: Tally,
        rng: random.Random,
        problems: ProblemSink | None = None,
        *,
        write_sent: SentWriter | None = None,
    ) -> None:
        self._store = store
        self._write_sent = write_sent or store.mark_sent
        self._limiter = limiter
        self._config = config
        self._clock = clock
        self._tally = tally
        self._rng = rng
        self._problems = problems

    async def abandon(self, attempt: Attempt, send_timeout: float) -> None:
        """The sender did not answer in time: the message may have arrived, so never resend."""
        row = attempt.delivery
        await self._store.interrupt([row.id], self._clock.now())
        self._tally.failed += 1
        log.warning(
            "%s sender gave no answer for delivery %d (chat %s) within %.0f s; marked interrupted",
            row.platform,
            row.id,
            attempt.target.chat_id,
            send_timeout,
        )

    async def record(self, sender: Sender, attempt: Attempt, outcome: Outcome) -> bool:
        """Store the outcome; True when the same row must be sent again right away."""
        now = self._clock.now()
        match outcome:
            case Sent(message_id):
                await self._write_sent(attempt.delivery.id, message_id, now)
                self._tally.sent += 1
                return False
            case RetryAfter(asked):
                return await self._retry_after(attempt, asked, now)
            case Uncertain(reason):
                return await self._uncertain(attempt, reason, now)
            case Transient(reason):
                return await self._transient(attempt, reason, now)
            case ChatGone(reason):
                return await self._chat_gone(attempt, reason, now)
            case FormatRejected(reason):
                return await self._format_rejected(sender, attempt, reason, now)
            case Migrated(new_chat_id, new_kind):
                return await self._migrated(attempt, new_chat_id, new_kind, now)
        return False

    async def _fail(self, attempt: Attempt, reason: str, now: datetime) -> bool:
        """The row failed for good; False: nothing to resend."""
        row = attempt.delivery
        await self._store.fail_delivery(row.id, reason, now)
        self._tally.failed += 1
        if self._problems is not None and row.subscription_id is not None:  # never report a report
            self._problems.failed(row.platform, attempt.target.chat_id, reason)
        return False

    async def _retry_after(self, attempt: Attempt, asked: float, now: datetime) -> bool:
        """Wait as told (a "retry after 0" waits MIN_RETRY_AFTER, not spins); too long in total fails."""
        row = attempt.delivery
        seconds = min(asked, MAX_RETRY_AFTER) if asked >= MIN_RETRY_AFTER else MIN_RETRY_AFTER
        self._limiter.penalize(row.platform, attempt.target.chat_id, seconds)
        if row.retry_wait + seconds > self._config.max_retry_wait:
            return await self._fail(
                attempt, f"rate limited for over {duration(self._config.max_retry_wait)}", now
            )
        at = now + timedelta(seconds=seconds)
        await self._store.retry_delivery(
            row.id, at, f"retry after {seconds:g} s", now, refund=True, waited=seconds
        )
        self._tally.retry += 1
        return False

    async def _uncertain(self, attempt: Attempt, reason: str, now: datetime) -> bool:
        """The message may have arrived: resending could post it twice, so the row is final."""
        row = attempt.delivery
        await self._store.mark_uncertain(row.id, f"outcome unknown, not resent: {reason}", now)
        self._tally.failed += 1
        log.warning(
            "%s delivery %d (chat %s) may or may not have arrived (%s); marked uncertain, not resent",
            row.platform,
            row.id,
            attempt.target.chat_id,
            reason,
        )
        return False

    async def _transient(self, attempt: Attempt, reason: str, now: datetime) -> bool:
        """Back off and retry, until `max_attempts` says the failure is not passing."""
        attempts = attempt.delivery.attempts + 1
        if attempts >= self._config.max_attempts:
            return await self._fail(attempt, f"gave up after {attempts} attempts: {reason}", now)
        at = now + timedelta(seconds=self.backoff(attempts))
        await self._store.retry_delivery(attempt.delivery.id, at, reason, now)
        self._tally.retry += 1
        return False

    async def _chat_gone(self, attempt: Attempt, reason: str, now: datetime) -> bool:
        """Retrying cannot help: pause the subscription (the store drops its unsent rows)."""
        row = attempt.delivery
        await self._store.chat_gone(row, reason, now)
        self._tally.failed += 1
        if self._problems is not None and row.subscription_id is not None:
            self._problems.paused(row.platform, attempt.target.chat_id, reason)
        log.warning(
            "paused subscription %d (%s chat %s): %s",
            row.subscription_id,
            row.platform,
            attempt.target.chat_id,
            reason,
        )
        return False

    async def _format_rejected(self, sender: Sender, attempt: Attempt, reason: str, now: datetime) -> bool:
        """One resend as plain text; a plain text refused too is a failure, not a loop."""
        row = attempt.delivery
        if attempt.plain:
            return await self._fail(attempt, f"format rejected even as plain text: {reason}", now)
        await self._store.use_plain(row.id, f"format rejected: {reason}", now)
        attempt.plain = True
        try:
            attempt.payload = sender.plain(row.payload)
        except Exception as exc:
            return await self._fail(attempt, f"format rejected, no plain form: {exc}", now)
        return True

    async def _migrated(self, attempt: Attempt, new_chat_id: str, new_kind: str, now: datetime) -> bool:
        """Follow the chat to its new id and kind (as the platform named them) and resend there."""
        row = attempt.delivery
        if attempt.migrations >= MAX_MIGRATIONS or new_chat_id == attempt.target.chat_id:
            return await self._fail(attempt, f"chat keeps migrating (now {new_chat_id})", now)
        await self._store.migrate_chat(row.platform, attempt.target.chat_id, new_chat_id, new_kind)
        # Moved by this call or by a concurrent send to another topic of the same chat;
        # otherwise the new chat has its own subscription (or the answer made no sense).
        if row.subscription_id is None:
            return await self._fail(attempt, f"chat migrated to {new_chat_id}", now)
        sub = await self._store.get_subscription_by_id(row.subscription_id)
        if sub is None or sub.chat_id != new_chat_id or sub.status != "active":
            return await self._fail(
                attempt, f"chat migrated to {new_chat_id}, which is subscribed on its own", now
            )
        attempt.target = replace(attempt.target, chat_id=new_chat_id, kind=new_kind)
        attempt.migrations += 1
        return True

    def backoff(self, attempts: int) -> float:
        """Exponential in the attempt number, capped, with jitter so retries do not arrive in step."""
        ceiling = min(self._config.backoff_max, self._config.backoff_base * 2.0 ** (attempts - 1))
        return ceiling * self._rng.uniform(0.5, 1.0)
