"""Problem summaries for the operator's error chat (a platform's `report_chat` setting).

Deliveries that failed for good, chats paused, and digests rejected are counted as they happen; at
most one summary per REPORT_EVERY seconds goes to every configured error chat, through the outbox
like any message (so it survives a restart and obeys the rate limits). Memory is bounded: counts,
plus the first few examples of each kind. The text is scrubbed of secrets like a log line, and a
summary that fails to arrive is never itself reported (no loop).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from bot.core.clock import Clock
from bot.logs import redact
from bot.store.db import Store, StoreUnavailable
from bot.store.deliveries import StoredPayload

log = logging.getLogger(__name__)

REPORT_EVERY = 60.0
EXAMPLES = 3  # per kind of problem
EXAMPLE_CHARS = 120
MAX_REPORT_CHARS = 900  # escaped for markup it still fits one message on every platform
KINDS = ("failed", "paused", "rejected")
TITLES = {
    "zh": ("digestbot 问题汇总", "条投递最终失败", "个聊天已暂停", "篇摘要被拒绝"),
    "en": ("digestbot problems", "deliveries failed for good", "chats paused", "digests rejected"),
}


@dataclass(frozen=True, slots=True)
class ReportTarget:
    """An error chat: its platform, id, chat kind, and how that platform shows plain text."""

    platform: str
    chat_id: str
    kind: str
    plain_message: Callable[[str], dict[str, Any]]


@dataclass(slots=True)
class _Counts:
    count: int = 0
    examples: list[str] = field(default_factory=list)

    def add(self, example: str) -> None:
        self.count += 1
        if len(self.examples) < EXAMPLES:
            self.examples.append(" ".join(example.split())[:EXAMPLE_CHARS])


class ProblemReporter:
    """`failed()`, `paused()`, `rejected()` as problems happen; `run()` sends the summaries."""

    def __init__(
        self,
        store: Store,
        targets: Iterable[ReportTarget],
        clock: Clock,
        *,
        language: str = "en",
        secrets: Iterable[str] = (),
        on_enqueued: Callable[[], None] = lambda: None,
        every: float = REPORT_EVERY,
    ) -> None:
        self._store = store
        self._targets = tuple(targets)
        self._clock = clock
        self._language = "zh" if language.startswith("zh") else "en"
        self._secrets = tuple(secrets)
        self._on_enqueued = on_enqueued
        self._every = every
        self._counts: dict[str, _Counts] = {kind: _Counts() for kind in KINDS}
        self._noted = asyncio.Event()

    def _note(self, kind: str, example: str) -> None:
        if self._targets:
            self._counts[kind].add(example)
            self._noted.set()

    def failed(self, platform: str, chat_id: str, reason: str) -> None:
        self._note("failed", f"{platform} {chat_id}: {reason}")

    def paused(self, platform: str, chat_id: str, reason: str) -> None:
        self._note("paused", f"{platform} {chat_id}: {reason}")

    def rejected(self, where: str, reason: str) -> None:
        self._note("rejected", f"{where}: {reason}")

    def summary(self) -> str | None:
        """The text of the next summary (None when nothing happened), scrubbed and bounded."""
        if not any(counts.count for counts in self._counts.values()):
            return None
        title, *labels = TITLES[self._language]
        lines = [title]
        for kind, label in zip(KINDS, labels, strict=True):
            counts = self._counts[kind]
            if counts.count:
                lines.append(f"• {counts.count} {label}")
                lines.extend(f"  - {example}" for example in counts.examples)
        text = redact("\n".join(lines), self._secrets)
        return text if len(text) <= MAX_REPORT_CHARS else text[: MAX_REPORT_CHARS - 1] + "…"

    async def flush(self) -> bool:
        """Queue the summary to every error chat and start counting afresh; False when there was
        nothing to say. The counts are kept if the database fails, for the next try."""
        text = self.summary()
        if text is None:
            return False
        for target in self._targets:
            payload = StoredPayload.of(target.plain_message(text))
            await self._store.enqueue_report(target.platform, target.chat_id, target.kind, payload)
        self._counts = {kind: _Counts() for kind in KINDS}
        self._on_enqueued()
        return True

    async def run(self) -> None:
        """Until cancelled: after a problem, wait out the rest of the minute since the last summary,
        then send one summary of everything counted meanwhile."""
        last = self._clock.monotonic() - self._every
        while True:
            await self._noted.wait()
            await self._clock.sleep(last + self._every - self._clock.monotonic())
            self._noted.clear()
            try:
                if await self.flush():
                    last = self._clock.monotonic()
            except StoreUnavailable:
                self._noted.set()  # the store logged it; the counts wait for the next minute
                last = self._clock.monotonic()
