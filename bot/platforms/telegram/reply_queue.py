"""Command replies sent in the background, in order per chat, so no update handler waits for pacing.

PTB runs at most CONCURRENT_UPDATES update handlers at once. A handler that waited for its chat's
send slot would hold one of them for as long as the rate limiter says (seconds in a busy group),
and a few busy chats would stall every other chat's commands. Handlers therefore only queue their
reply and return; one worker per chat sends that chat's replies in order and ends when it runs dry.
Queues are bounded per chat and in total; a reply beyond that is dropped with a log line (the
per-user command budget keeps that rare). Replies still queued at shutdown are not sent.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)
Job = Callable[[], Awaitable[None]]
MAX_PER_CHAT = 20
MAX_TOTAL = 2000


class ReplyQueue:
    """Per-chat FIFO queues of reply jobs, each drained by its own short-lived task."""

    def __init__(self, *, per_chat: int = MAX_PER_CHAT, total: int = MAX_TOTAL) -> None:
        self._per_chat = per_chat
        self._total = total
        self._queues: dict[int, deque[Job]] = {}
        self._workers: set[asyncio.Task[None]] = set()
        self._pending = 0

    def put(self, chat_id: int, job: Job) -> bool:
        """Queue `job` behind the chat's earlier replies; False (and a log line) when full."""
        queue = self._queues.get(chat_id)
        if self._pending >= self._total or (queue is not None and len(queue) >= self._per_chat):
            log.warning("telegram: reply to chat %s dropped: too many replies are waiting", chat_id)
            return False
        if queue is None:
            queue = self._queues[chat_id] = deque()
            worker = asyncio.create_task(self._drain(chat_id, queue), name=f"telegram-replies-{chat_id}")
            self._workers.add(worker)
            worker.add_done_callback(self._workers.discard)
        queue.append(job)
        self._pending += 1
        return True

    def pending(self) -> int:
        return self._pending

    async def _drain(self, chat_id: int, queue: deque[Job]) -> None:
        try:
            while queue:
                job = queue.popleft()
                self._pending -= 1
                try:
                    await job()
                except Exception as exc:
                    log.error("telegram: reply to chat %s failed: %s: %s", chat_id, type(exc).__name__, exc)
                    log.debug("telegram: traceback of the failure above", exc_info=True)
        finally:
            self._pending -= len(queue)
            del self._queues[chat_id]

    async def close(self) -> None:
        """Cancel every worker (their replies are dropped) and wait for them to end."""
        workers = list(self._workers)
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        self._queues.clear()  # a worker cancelled before its first step never ran its `finally`
        self._pending = 0
