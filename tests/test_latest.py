"""/latest: rendered in a worker thread, once per (digest version, reader), for every platform."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from typing import Any

import pytest
from app_helpers import EXAMPLE_CONFIG, SAMPLE
from render_gate import REPLY_BOUND, WAIT, Gate
from sample_digests import incoming

from bot.commands.latest import LatestRenderer
from bot.commands.model import Caller, ChatRef, Command, Reply
from bot.commands.service import CommandService
from bot.config import load_settings
from bot.core.classify import classify
from bot.core.clock import SystemClock
from bot.core.model import Digest, Filter
from bot.core.parse import load_digest
from bot.platforms.registry import default_renderers
from bot.render import Renderer
from bot.render.options import RenderOptions
from bot.store.db import Store

READER = ChatRef("telegram", "42", None, kind="private", title="Ann")
CALLER = Caller("42", language="en")
VOCABULARY = load_settings(EXAMPLE_CONFIG).vocabulary()
DIGEST = classify(load_digest(SAMPLE), VOCABULARY)


class Counting:
    """A real renderer that counts its calls."""

    def __init__(self, renderer: Renderer) -> None:
        self.renderer = renderer
        self.calls = 0

    def __call__(self, digest: Digest, options: RenderOptions) -> list[Any]:
        self.calls += 1
        return self.renderer(digest, options)


@pytest.fixture
def clock() -> SystemClock:
    return SystemClock()


async def latest(service: CommandService, chat: ChatRef = READER) -> Reply:
    return await service.handle(Command("latest", (), chat, CALLER))


async def test_a_second_latest_renders_nothing_and_a_new_version_renders_again(store: Store) -> None:
    telegram = Counting(default_renderers()["telegram"])
    service = CommandService(store, VOCABULARY, renderers={"telegram": telegram})
    await store.record_incoming(incoming(DIGEST, content_hash="v1"))
    first = await latest(service)
    again = await latest(service)
    assert telegram.calls == 1 and first.parts and again.parts == first.parts
    await service.handle(Command("subscribe", ("robotics",), READER, CALLER))
    robotics = await latest(service)  # another filter: another rendering
    assert telegram.calls == 2 and robotics.parts != first.parts
    await service.handle(Command("unsubscribe", (), READER, CALLER))
    edited = replace(DIGEST, title="Edited title")
    assert (await store.record_incoming(incoming(edited, content_hash="v2"))).status == "changed"
    newer = await latest(service)  # a new version of the digest: rendered afresh
    assert telegram.calls == 3 and "Edited title" in newer.text
    assert (await latest(service)).parts == newer.parts and telegram.calls == 3


async def test_latest_renders_in_a_worker_thread_while_other_chats_are_answered(store: Store) -> None:
    gate = Gate(default_renderers()["telegram"])
    service = CommandService(store, VOCABULARY, renderers={"telegram": gate})
    await store.record_incoming(incoming(DIGEST))
    reading = asyncio.ensure_future(latest(service))
    try:
        await gate.rendering()
        other = ChatRef("telegram", "-100", None, kind="supergroup", title="Readers")
        started = time.perf_counter()
        status = await asyncio.wait_for(service.handle(Command("status", (), other, CALLER)), WAIT)
        waited = time.perf_counter() - started
    finally:
        gate.opened.set()
        reply = await reading
    assert not status.error and waited < REPLY_BOUND
    assert reply.parts and DIGEST.title in reply.text


async def test_concurrent_latest_share_one_rendering(store: Store) -> None:
    gate = Gate(Counting(default_renderers()["telegram"]))
    service = CommandService(store, VOCABULARY, renderers={"telegram": gate})
    await store.record_incoming(incoming(DIGEST))
    readers = [
        asyncio.ensure_future(latest(service, ChatRef("telegram", str(n), None, "private"))) for n in range(5)
    ]
    await gate.rendering()
    gate.opened.set()
    replies = await asyncio.gather(*readers)
    assert isinstance(gate.renderer, Counting) and gate.renderer.calls == 1
    assert all(reply.parts == replies[0].parts for reply in replies)


async def test_a_failed_rendering_is_not_remembered(store: Store) -> None:
    working = default_renderers()["discord"]
    failures = [RuntimeError("renderer bug")]

    def flaky(digest: Digest, options: RenderOptions) -> list[Any]:
        if failures:
            raise failures.pop()
        return working(digest, options)

    service = CommandService(store, VOCABULARY, renderers={"discord": flaky})
    await store.record_incoming(incoming(DIGEST))
    channel = ChatRef("discord", "5", None, kind="guild_channel")
    with pytest.raises(RuntimeError, match="renderer bug"):
        await latest(service, channel)
    assert (await latest(service, channel)).parts


async def test_the_cache_keeps_only_the_most_recent_renderings(store: Store) -> None:
    console = Counting(default_renderers()["console"])
    renderer = LatestRenderer(store, VOCABULARY, {"console": console}, size=2)
    await store.record_incoming(incoming(DIGEST))
    for zone in ("UTC", "Asia/Tokyo", "Europe/Berlin", "Europe/Berlin", "UTC"):
        found = await renderer.latest("console", Filter(), zone, "en")
        assert found is not None and found.parts and found.title == DIGEST.title
    assert console.calls == 4  # UTC was evicted by the two zones after it, Berlin was still there
