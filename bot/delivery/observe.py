"""What the engine tells observers (metrics) about each send, without knowing who listens.

The engine times every platform call and reports its outcome here; `bot.web.metrics` turns that
into Prometheus counters and a latency histogram. The default observer ignores it all.
"""

from __future__ import annotations

from typing import Protocol

from bot.delivery.outcome import (
    ChatGone,
    FormatRejected,
    Migrated,
    Outcome,
    RetryAfter,
    Sent,
    Transient,
    Uncertain,
)

OUTCOME_NAMES: dict[type[Outcome], str] = {
    Sent: "sent",
    RetryAfter: "retry_after",
    Transient: "transient",
    Uncertain: "uncertain",
    ChatGone: "chat_gone",
    FormatRejected: "format_rejected",
    Migrated: "migrated",
}
NO_ANSWER = "no_answer"  # the sender did not answer within the engine's send timeout


def outcome_name(outcome: Outcome | None) -> str:
    """The metric label of one send's outcome."""
    return NO_ANSWER if outcome is None else OUTCOME_NAMES.get(type(outcome), "other")


class SendObserver(Protocol):
    def send_finished(self, platform: str, outcome: str, seconds: float) -> None:
        """One platform call ended with `outcome` (see OUTCOME_NAMES) after `seconds`."""


class IgnoreSends:
    """The observer when nobody listens."""

    def send_finished(self, platform: str, outcome: str, seconds: float) -> None:
        return None
