"""A broadcast's progress in the log: while a digest's fan-out is being sent, one line every
PROGRESS_EVERY seconds with sent / total, what remains, the rate and the estimated time left.

The engine tells it which digests it claims rows of (no scan of the ledger to find them); the counts
come from one indexed query per digest in flight, so a 1M-chat fan-out costs one count every 10 s.
Chats the expander has not written rows for yet count as remaining, one message each (a count over
the partial index of instant subscriptions past the digest's cursor).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.core.clock import Clock
from bot.store.db import Store
from bot.store.deliveries import Delivery

log = logging.getLogger("bot.delivery.engine")  # the engine's lines keep the one logger name

PROGRESS_EVERY = 10.0


@dataclass(slots=True)
class _Seen:
    """The last count of one digest's fan-out, for the rate between two lines."""

    finished: int
    at: float


def eta(seconds: float) -> str:
    """A remaining time as people read it: 45 s, 12 min 5 s, 3 h 20 min."""
    whole = int(seconds + 0.5)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60} s"
    return f"{whole // 3600} h {whole % 3600 // 60} min"


class BroadcastProgress:
    """`claimed(rows)` as the engine claims rows, `maybe_log()` on every claim round."""

    def __init__(self, store: Store, clock: Clock, every: float = PROGRESS_EVERY) -> None:
        self._store = store
        self._clock = clock
        self._every = every
        self._next = clock.monotonic() + every
        self._digests: dict[int, _Seen | None] = {}  # digest seq -> its last count (None: not yet)

    def claimed(self, rows: list[Delivery]) -> None:
        """Note the digests whose fan-out these rows belong to (`d<seq>` units only)."""
        for row in rows:
            if row.unit.startswith("d") and row.unit[1:].isdigit():
                self._digests.setdefault(int(row.unit[1:]), None)

    async def maybe_log(self) -> None:
        """Log each fan-out still under way when a line is due; a finished one is forgotten."""
        now = self._clock.monotonic()
        if now < self._next or not self._digests:
            return
        self._next = now + self._every
        for seq, seen in list(self._digests.items()):
            total, sent, remaining = await self._store.fanout_progress(seq)
            finished = total - remaining
            if remaining == 0:
                del self._digests[seq]
                continue
            self._digests[seq] = _Seen(finished, now)
            if seen is None or now <= seen.at:
                rate_text, eta_text = "measuring", "unknown"
            else:
                rate = (finished - seen.finished) / (now - seen.at)
                rate_text = f"{rate:.1f}/s"
                eta_text = eta(remaining / rate) if rate > 0 else "unknown (nothing sent meanwhile)"
            log.info(
                "digest #%d broadcast: %d/%d sent, %d remaining, rate %s, ETA %s",
                seq,
                sent,
                total,
                remaining,
                rate_text,
                eta_text,
            )
