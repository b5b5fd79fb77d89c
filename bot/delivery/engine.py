"""The delivery engine: sends due ledger rows through platform senders, at most once each.

Each row is marked `sending` (and committed) before its platform call, after the rate limiter has
let it through, so a crash leaves only the few in-flight rows in doubt; they become `interrupted` at
the next start-up and are never resent. The marks and the `sent` records of concurrent sends share
their commits (commit.py); a worker waits for its own, so the rows in doubt after a kill -9 stay at
most one per worker: `delivery.concurrency` rows. Memory is bounded by the concurrency: rows are claimed a
few at a time, and a row whose own chat is rate-limited for a while is put back with a later due
time instead of occupying a worker.

What each outcome does to the ledger is decided in `record.py`. A sender that does not answer
within `send_timeout` is abandoned like a send cut off by a crash: the row becomes `interrupted` (it
may have arrived, so it is not resent) and the chat's next rows go on.

Rows never wait forever: one first due more than `max_age` ago is never claimed, and `expiry.py`
marks such rows `expired`.

While the database fails (disk full, read-only, I/O error) nothing is claimed: the engine pauses
with exponential back-off (the store logs the failure once), unstarted rows simply stay pending, and
the outcome of a send already made is kept in memory and stored once the database works again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta
from functools import partial
from typing import TypeVar

from bot.core.clock import Clock, SystemClock, sleep_or_wake
from bot.delivery.commit import GroupCommit
from bot.delivery.config import DeliveryConfig
from bot.delivery.expiry import ExpirySweep
from bot.delivery.leases import LeaseKeeper
from bot.delivery.observe import IgnoreSends, SendObserver, outcome_name
from bot.delivery.outcome import Outcome, Sender, Sent, Target, Transient
from bot.delivery.progress import BroadcastProgress
from bot.delivery.ratelimit import RateLimiter
from bot.delivery.record import Attempt, OutcomeRecorder, ProblemSink
from bot.delivery.tally import Tally
from bot.store.db import Store, StoreUnavailable
from bot.store.deliveries import Delivery
from bot.store.retry import Backoff

log = logging.getLogger(__name__)
T = TypeVar("T")

DEFER_AFTER = 0.5  # seconds of per-chat wait worth giving a worker back for
IDLE_POLL = 60.0
SEND_TIMEOUT = 120.0  # far above any adapter's own HTTP timeout: only a hung sender reaches it
STORE_RETRY_FIRST = 1.0  # pauses while the database fails: 1, 2, 4 ... seconds
STORE_RETRY_MAX = 60.0


class DeliveryEngine:
    """Drains the ledger: `run()` until `await stop(grace)`; `wake()` when new rows were written."""

    def __init__(
        self,
        store: Store,
        senders: Mapping[str, Sender],
        limiter: RateLimiter,
        config: DeliveryConfig,
        *,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        send_timeout: float = SEND_TIMEOUT,
        store_backoff: Backoff | None = None,
        problems: ProblemSink | None = None,
        observer: SendObserver | None = None,
        on_claimed: Callable[[int], None] | None = None,
    ) -> None:
        """`on_claimed(rows)` runs after each claim that got rows (the expander writes more once the
        engine has taken enough of them)."""
        if send_timeout <= 0:
            raise ValueError(f"send_timeout must be positive, got {send_timeout}")
        self._store = store
        self._send_timeout = send_timeout
        self._senders = dict(senders)
        self._config = config
        self._clock = clock = clock or SystemClock()
        self._limiter = limiter
        self._queue: asyncio.Queue[Delivery | None] = asyncio.Queue()
        self._claimed: set[int] = set()
        self._sending: set[int] = set()
        self._wake = asyncio.Event()
        self._stop_requested = asyncio.Event()
        self._stopping = False
        self._running: asyncio.Future[None] | None = None
        self._grace = config.shutdown_grace
        self._refill_below = config.concurrency // 2
        self._horizon: float | None = None
        self._tally = Tally()
        # A batch is written once half the workers wait on it (or after commit.MAX_DELAY).
        self._commit = GroupCommit(store, clock, max_rows=max(1, config.concurrency // 2))
        self._recorder = OutcomeRecorder(
            store,
            limiter,
            config,
            clock,
            self._tally,
            rng or random.Random(),
            problems,
            write_sent=self._commit.sent,
        )
        self._expiry = ExpirySweep(store, config.max_age, clock)
        self._leases = LeaseKeeper(store, clock)
        self._progress = BroadcastProgress(store, clock)
        self._store_backoff = store_backoff or Backoff(STORE_RETRY_FIRST, STORE_RETRY_MAX)
        self._held_until = 0.0  # monotonic: no claims before this while the database fails
        self._max_age = timedelta(seconds=config.max_age)
        self._observer = observer or IgnoreSends()
        self._on_claimed = on_claimed

    def wake(self) -> None:
        """New rows were planned or scheduled: look for due work now."""
        self._wake.set()

    async def recover(self) -> int:
        """Rows a previous process left `sending` become `interrupted`; they are never resent."""
        count = await self._store.recover_interrupted()
        if count:
            log.warning("%d deliveries were in flight when the bot last stopped; not resending them", count)
        return count

    async def run(self) -> None:
        """Send due rows until `stop()`; at most config.concurrency sends at a time."""
        if self._running is not None:
            raise RuntimeError("the delivery engine is already running")
        self._running = asyncio.get_running_loop().create_future()
        self._stopping = False
        self._stop_requested.clear()
        workers: list[asyncio.Task[None]] = []
        try:
            try:
                await self._until_stored(self.recover)
            except StoreUnavailable:  # stopped before the database came back; nothing was claimed
                return
            workers = [asyncio.create_task(self._worker()) for _ in range(self._config.concurrency)]
            await self._claim_loop()
        finally:
            try:
                await self._shutdown(workers)
            finally:
                self._running.set_result(None)
                self._running = None

    async def drain(self, horizon: float = 1.0) -> None:
        """Send everything due within `horizon` seconds, then return (one-shot runs and tests)."""
        self._horizon = horizon
        try:
            await self.run()
        finally:
            self._horizon = None

    async def stop(self, grace: float | None = None) -> None:
        """Stop claiming; sends in flight get `grace` seconds, unstarted rows stay pending.

        Returns once `run()` has finished (immediately if it is not running).
        """
        self._grace = self._config.shutdown_grace if grace is None else grace
        self._stopping = True
        self._stop_requested.set()
        self._wake.set()
        if self._running is not None:
            await asyncio.shield(self._running)

    async def _claim_loop(self) -> None:
        self._tally.restart(self._clock.monotonic())
        platforms = list(self._senders)
        target = max(1, self._config.concurrency)
        while not self._stopping:
            self._wake.clear()
            await self._pause_for_store()
            try:
                await self._expiry.maybe_sweep()
                await self._leases.maybe_renew(self._claimed | self._sending)
                await self._leases.settle()
                await self._progress.maybe_log()
                if self._queue.qsize() <= self._refill_below:
                    now = self._clock.now()
                    rows = await self._store.claim_due(
                        now,
                        target - self._queue.qsize(),
                        platforms,
                        self._claimed | self._leases.doubts,
                        fresh_since=now - self._max_age,
                    )
                    if not self._store.health.failing:
                        self._store_backoff.reset()
                    for row in rows:
                        self._claimed.add(row.id)
                        self._queue.put_nowait(row)
                    if rows:
                        if self._on_claimed is not None:
                            self._on_claimed(len(rows))
                        self._progress.claimed(rows)
                        self._tally.claimed(self._clock.monotonic())
                        continue
                self._tally.log(self._clock.monotonic(), idle=not self._claimed)
                if not await self._idle_wait(platforms):
                    return
            except StoreUnavailable:
                self._store_failed()

    def _store_failed(self) -> None:
        """The database failed us (the store has logged why): claim nothing for the next back-off
        step. Failures within the current pause (the other workers' rows) do not lengthen it."""
        now = self._clock.monotonic()
        if now >= self._held_until:
            self._held_until = now + self._store_backoff.delay()

    async def _pause_for_store(self) -> None:
        """Wait out the current back-off step; only `stop()` cuts it short, not `wake()`."""
        while not self._stopping and (remaining := self._held_until - self._clock.monotonic()) > 0:
            self._wake.clear()
            await self._sleep_or_wake(remaining)

    async def _until_stored(self, operation: Callable[[], Awaitable[T]]) -> T:
        """Run a store operation that must not be dropped (the outcome of a send already made),
        waiting out back-off steps while the database fails; gives up only when stopping."""
        while True:
            try:
                return await operation()
            except StoreUnavailable:
                self._store_failed()
                if self._stopping:
                    raise
                # stop() must not have to wait a back-off step out
                await self._sleep_or_wake(self._held_until - self._clock.monotonic(), self._stop_requested)

    async def _idle_wait(self, platforms: list[str]) -> bool:
        """Until a worker finishes, rows are announced, or the next retry falls due; False = done."""
        timeout = 1.0
        if not self._claimed:
            now = self._clock.now()
            upcoming = await self._store.next_attempt_at(platforms, fresh_since=now - self._max_age)
            timeout = IDLE_POLL
            if upcoming is not None:
                timeout = min(IDLE_POLL, max(0.0, (upcoming - now).total_seconds()))
            if self._horizon is not None and (upcoming is None or timeout > self._horizon):
                return False
            timeout = min(timeout, self._leases.wait())  # a dead process's rows come back on time
        await self._sleep_or_wake(timeout)
        return True

    async def _sleep_or_wake(self, timeout: float, event: asyncio.Event | None = None) -> None:
        """Sleep `timeout` seconds, or less if `event` (default: new work was announced) is set."""
        await sleep_or_wake(self._clock, timeout, event or self._wake)

    async def _shutdown(self, workers: list[asyncio.Task[None]]) -> None:
        self._stopping = True
        while not self._queue.empty():
            row = self._queue.get_nowait()
            if row is not None:
                self._claimed.discard(row.id)
        for _ in workers:
            self._queue.put_nowait(None)
        done, pending = await asyncio.wait(workers, timeout=self._grace) if workers else (set(), set())
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        await self._commit.close()  # queued writes first: a row recorded sent is not interrupted
        if self._sending:
            try:
                count = await self._store.interrupt(list(self._sending), self._clock.now())
                log.warning("%d sends did not finish within %.1f s; marked interrupted", count, self._grace)
            except StoreUnavailable:
                log.warning(
                    "%d sends in flight could not be marked interrupted (database failing); "
                    "the next start will",
                    len(self._sending),
                )
        with contextlib.suppress(StoreUnavailable):  # else they come back when their lease ends
            await self._leases.release()
        for task in done:
            if not task.cancelled() and task.exception() is not None:
                log.error("delivery worker failed", exc_info=task.exception())
        while not self._queue.empty():
            self._queue.get_nowait()
        self._sending.clear()
        self._claimed.clear()
        self._tally.log(self._clock.monotonic(), idle=True)

    async def _worker(self) -> None:
        while True:
            row = await self._queue.get()
            if row is None:
                return
            try:
                await self._deliver(row)
            except StoreUnavailable:
                # Either the send never started (the row is still pending and goes after the pause) or
                # its outcome could not be stored before stopping (the id stays in _sending: shutdown
                # leaves it for the next start to mark interrupted).
                self._store_failed()
            except Exception:
                log.exception("delivery %d failed unexpectedly", row.id)
                await self._park(row)
            finally:
                self._claimed.discard(row.id)
                if self._queue.qsize() <= self._refill_below:
                    self._wake.set()  # only when the claim loop has something to do

    async def _park(self, row: Delivery) -> None:
        """After a bug, keep an unstarted row from being claimed again at once; a row already
        `sending` has an unknown fate, so it becomes `interrupted` (never resent) right away rather
        than at the next start, where until then it would hold back its chat's later rows."""
        now = self._clock.now()
        with contextlib.suppress(Exception):
            if row.id in self._sending:
                await self._store.interrupt([row.id], now)
                self._sending.discard(row.id)
            else:
                await self._store.defer_delivery(row.id, now + timedelta(seconds=IDLE_POLL), now)

    async def _deliver(self, row: Delivery) -> None:
        sender = self._senders[row.platform]
        target = Target(row.platform, row.chat_id, row.thread_id, row.kind)
        attempt = Attempt(
            row, target, sender.plain(row.payload) if row.plain else row.payload, plain=row.plain
        )
        delay = self._limiter.chat_delay(row.platform, row.chat_id, row.kind)
        if delay > DEFER_AFTER:
            now = self._clock.now()
            await self._store.defer_delivery(row.id, now + timedelta(seconds=delay), now)
            return
        await self._limiter.acquire(row.platform, row.chat_id, row.kind)
        if self._stopping:
            return
        # From here until the outcome is recorded the send's fate is unknown: a shutdown that cancels
        # us finds the id in _sending and marks the row interrupted (if its mark was committed).
        self._sending.add(row.id)
        try:
            marked = await self._commit.mark_sending(row.id)
        except StoreUnavailable:
            # Not marked, or (the connection lost with the COMMIT's answer) marked: never sent either
            # way, and put back to pending once the database answers again.
            self._sending.discard(row.id)
            self._leases.doubt(row.id)
            raise
        if not marked:
            self._sending.discard(row.id)
            return
        while True:
            started = self._clock.monotonic()
            outcome = await self._send(sender, attempt)
            elapsed = self._clock.monotonic() - started
            self._observer.send_finished(row.platform, outcome_name(outcome), elapsed)
            if outcome is None:
                await self._until_stored(partial(self._recorder.abandon, attempt, self._send_timeout))
                break
            if not await self._until_stored(partial(self._recorder.record, sender, attempt, outcome)):
                break
            await self._limiter.acquire(row.platform, attempt.target.chat_id, attempt.target.kind)
        self._sending.discard(row.id)
        if row.pin and isinstance(outcome, Sent):
            await self._after_sent(sender, attempt, outcome.message_id)

    async def _after_sent(self, sender: Sender, attempt: Attempt, message_id: str) -> None:
        """A sender's optional `after_sent(target, delivery, message_id)`, run once the first part of
        a digest for a pinning subscription is recorded sent (it pins it); the message is sent and
        recorded whatever happens here, so a failure is only logged."""
        hook = getattr(sender, "after_sent", None)
        if hook is None:
            return
        try:
            await hook(attempt.target, attempt.delivery, message_id)
        except Exception:
            log.exception("%s: follow-up of delivery %d failed", sender.platform, attempt.delivery.id)

    async def _send(self, sender: Sender, attempt: Attempt) -> Outcome | None:
        """The sender's outcome; None when it did not answer within the send timeout."""
        deadline = asyncio.timeout(self._send_timeout)
        try:
            async with deadline:
                return await sender.send(attempt.target, attempt.payload)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if isinstance(exc, TimeoutError) and deadline.expired():
                return None
            log.exception("sender %s raised instead of returning an outcome", sender.platform)
            return Transient(f"{type(exc).__name__}: {exc}")
