"""The delivery ledger under test: a scripted sender, a spying renderer, and ways to fill and read it.

Engine, edge, quiet-hours, review and store-fault tests all plan the same digest to the same kind of
chats and then look at the committed rows; these helpers are that shared vocabulary.
"""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import Mapping
from typing import Any

import pytest
from clocks import ManualClock
from db_reads import select
from sample_digests import VOCABULARY, incoming, make_digest

from bot.core.model import Digest
from bot.delivery.config import DeliveryConfig
from bot.delivery.engine import DeliveryEngine
from bot.delivery.expander import Expander, fan_out
from bot.delivery.outcome import Outcome, Payload, Sent, Target
from bot.delivery.ratelimit import RateLimiter, RatePolicy
from bot.platforms.telegram.spec import GROUP_KINDS
from bot.render.options import RenderOptions
from bot.store.db import Store
from bot.store.subscriptions import Subscription


class Crash(BaseException):
    """Stands in for the process dying: not an Exception, so nothing on the way catches it."""


class SpyRenderer:
    """Renders `parts` payloads naming the items; records every call; can crash after N calls."""

    def __init__(self, parts: int = 2, crash_after: int | None = None) -> None:
        self.parts = parts
        self.calls: list[tuple[Digest, RenderOptions]] = []
        self.crash_after = crash_after

    def __call__(self, digest: Digest, options: RenderOptions) -> list[dict[str, Any]]:
        if self.crash_after is not None and len(self.calls) >= self.crash_after:
            raise Crash
        self.calls.append((digest, options))
        numbers = ",".join(str(item.number) for item in digest.items)
        return [{"text": f"{digest.id} [{numbers}] part {p}"} for p in range(1, self.parts + 1)]


CONFIG = DeliveryConfig(max_attempts=3, backoff_base=10, backoff_max=15, concurrency=4, shutdown_grace=1)


class FakeSender:
    """Records every send; `script[chat_id]` lists outcomes (or exceptions) to return first."""

    def __init__(self, platform: str = "telegram", script: dict[str, list[Any]] | None = None) -> None:
        self.platform = platform
        self.calls: list[tuple[Target, Payload]] = []
        self.script = {chat: list(outcomes) for chat, outcomes in (script or {}).items()}
        self.gate: dict[str, asyncio.Event] = {}
        self._ids = itertools.count(1)

    async def send(self, target: Target, payload: Payload) -> Outcome:
        self.calls.append((target, payload))
        gate = self.gate.get(target.chat_id) or self.gate.get("*")
        if gate is not None:
            await gate.wait()
        queued = self.script.get(target.chat_id)
        if queued:
            outcome = queued.pop(0)
            if isinstance(outcome, Exception):
                raise outcome
            return outcome
        return Sent(f"m{next(self._ids)}")

    def plain(self, payload: Payload) -> Payload:
        return {"text": "PLAIN " + payload["text"]}

    def sent_to(self, chat_id: str) -> list[str]:
        return [payload["text"] for target, payload in self.calls if target.chat_id == chat_id]


async def subscribe(
    store: Store,
    chat: str,
    *,
    platform: str = "telegram",
    kind: str = "private",
    language: str = "en",
    **settings: Any,
) -> Subscription:
    """`chat` subscribed to every category in UTC, then given `settings` (schedule, quiet hours...)."""
    sub, _ = await store.subscribe(
        platform, chat, None, kind=kind, title=chat, created_by="u", language=language, timezone="UTC"
    )
    return await store.update_subscription(sub.id, **settings) if settings else sub


async def plan(store: Store, chats: list[str], *, parts: int = 2, kind: str = "private") -> dict[str, int]:
    """Subscribe `chats` on Telegram and fan one digest out to them: `parts` rows each."""
    await store.record_incoming(incoming(make_digest()))
    ids = {}
    for chat in chats:
        ids[chat] = (await subscribe(store, chat, kind=kind, language="zh")).id
    clock = ManualClock(store.clock.now())  # rows become due at the store's "now"
    await fan_out(store, VOCABULARY, renderers={"telegram": SpyRenderer(parts)}, clock=clock)
    return ids


def ledger(store: Store) -> dict[tuple[str, int], dict[str, Any]]:
    """(chat, part) -> the committed row, read through a separate connection."""
    rows = select(store, "SELECT * FROM deliveries ORDER BY id")
    return {(row["chat_id"], row["part"]): row for row in rows}


def engine_for(store: Store, sender: FakeSender, clock: Any, **overrides: Any) -> DeliveryEngine:
    """An engine on `clock` with CONFIG (overridable) and a seeded jitter, so retry times repeat."""
    config = CONFIG.model_copy(update=overrides.pop("config", {}))
    policies = {name: RatePolicy(limits, GROUP_KINDS) for name, limits in overrides.pop("limits", {}).items()}
    limiter = RateLimiter(policies, clock)
    return DeliveryEngine(
        store, {sender.platform: sender}, limiter, config, clock=clock, rng=random.Random(7)
    )


def part_of(text: str) -> int:
    """The part number SpyRenderer wrote at the end of a payload's text."""
    return int(text.rsplit(" ", 1)[1])


async def scheduled(store: Store, chat: str = "1", schedule: str = "at 08:00", **extra: Any) -> int:
    """A Telegram chat on `schedule` in New York time (the scheduler tests cross its DST change)."""
    sub = await subscribe(store, chat)
    await store.update_subscription(sub.id, schedule=schedule, timezone="America/New_York", **extra)
    return sub.id


def _crash() -> None:
    raise Crash


async def expand_one_batch_then_crash(store: Store, renderers: Mapping[str, Any] | None = None) -> None:
    """Write the planned digest's first subscription's rows, then die as the process would: that
    batch committed, the next one not begun."""
    renderers = renderers or {"telegram": SpyRenderer(1)}
    expander = Expander(store, VOCABULARY, renderers=renderers, batch_size=1, on_enqueued=_crash)
    with pytest.raises(Crash):
        await expander.expand_all()


async def publish(store: Store, digest_id: str, key: str | None = None) -> None:
    """Store and fan out a digest, as the app does: its instant fan-out is over before the next step."""
    result = await store.record_incoming(
        incoming(make_digest(digest_id), key=key or digest_id, content_hash=digest_id)
    )
    assert result.status == "new" and result.seq is not None
    await fan_out(store, VOCABULARY, renderers={"telegram": SpyRenderer(1)})
