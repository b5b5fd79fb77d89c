"""Composition root: builds store, sources, planner, scheduler, engine and platforms in one loop.

Everything runs as tasks of one asyncio loop (Telegram is started with initialize/start/polling, not
run_polling, so it cannot own the loop); SIGTERM/SIGINT stop intake first, then let in-flight sends
finish within the grace period, then close the platforms and the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from dataclasses import replace
from functools import partial
from typing import IO, Any, TextIO

from bot.commands.service import CommandService
from bot.config import Settings
from bot.core.classify import classify
from bot.core.clock import SystemClock
from bot.core.model import Digest, Vocabulary
from bot.core.schedule import parse_timezone
from bot.delivery.engine import DeliveryEngine
from bot.delivery.planner import Planner, platform_renderers
from bot.delivery.ratelimit import RateLimiter, RatePolicy
from bot.delivery.retention import Pruner
from bot.delivery.scheduler import Scheduler
from bot.logs import setup_logging
from bot.platforms.base import Platform
from bot.platforms.console import ConsolePlatform
from bot.platforms.starter import Starter
from bot.platforms.telegram.spec import GROUP_KINDS
from bot.sources.base import Incoming, Source
from bot.sources.factory import build_source
from bot.store.db import Store, StoreError
from bot.store.lock import ProcessLock
from bot.store.retry import Backoff, retrying

log = logging.getLogger(__name__)


class App:
    """The running bot. `start()` returns once everything runs; `stop()` shuts it down in order."""

    def __init__(
        self, settings: Settings, *, stdin: IO[Any] | None = None, stdout: TextIO | None = None
    ) -> None:
        self.settings = settings
        self.stop_requested = asyncio.Event()  # a signal, or Ctrl-D in the console
        self.vocabulary: Vocabulary = settings.vocabulary()
        self._stdin = stdin
        self._stdout = stdout
        self._tasks: list[asyncio.Task[None]] = []
        self._intake: list[asyncio.Task[None]] = []
        self.platforms: list[Platform] = []
        self._starters: list[Starter] = []
        self.store: Store | None = None
        self.engine: DeliveryEngine | None = None
        self.scheduler: Scheduler | None = None
        self.pruner: Pruner | None = None
        self._pruning: asyncio.Task[None] | None = None
        self.sources: list[Source] = []

    async def start(self) -> None:
        settings = self.settings
        self.store = store = await Store.open(settings.database)
        await store.sync_broadcasts(
            settings.broadcasts,
            self.vocabulary,
            default_timezone=settings.timezone,
            default_language=settings.language,
        )
        renderers = platform_renderers(self._render_preferences())
        self.service = CommandService(
            store,
            self.vocabulary,
            default_language=settings.language,
            default_timezone=settings.timezone,
            on_change=self._schedules_changed,
            renderers=renderers,
            secrets=settings.secrets(),
        )
        self._starters = await self._start_platforms()
        self.platforms = [s.platform for s in self._starters]
        policies = {
            "telegram": RatePolicy(settings.telegram.rate_limits, GROUP_KINDS),
            "discord": RatePolicy(settings.discord.rate_limits),
        }
        limiter = RateLimiter(policies, SystemClock())
        self.engine = DeliveryEngine(
            store, {s.platform.name: s.sender for s in self._starters}, limiter, settings.delivery
        )
        for platform in self.platforms:
            share = getattr(platform, "share_rate_limiter", None)
            if share is not None:
                share(limiter)
        self.planner = Planner(store, self.vocabulary, renderers=renderers, on_enqueued=self.engine.wake)
        self.scheduler = Scheduler(store, self.vocabulary, renderers=renderers, on_enqueued=self.engine.wake)
        await self.planner.plan_pending()
        self.pruner = Pruner(store, settings.retention)
        self._pruning = asyncio.create_task(self.pruner.run(), name="retention")
        self._tasks = [
            asyncio.create_task(self.engine.run(), name="engine"),
            asyncio.create_task(self.scheduler.run(), name="scheduler"),
        ]
        queue: asyncio.Queue[Incoming] = asyncio.Queue(maxsize=100)
        timezone = parse_timezone(settings.timezone)
        await store.use_sources(settings.source_scopes())
        self.sources = [
            build_source(
                spec,
                default_tz=timezone,
                max_bytes=settings.max_digest_bytes,
                max_feed_bytes=settings.max_feed_bytes,
                new_source=not await store.source_known(spec.name),
            )
            for spec in settings.sources
        ]
        self._intake = [asyncio.create_task(s.run(queue), name=f"source-{s.name}") for s in self.sources]
        self._intake.append(asyncio.create_task(self._ingest(queue), name="ingest"))
        names = ", ".join(
            s.platform.name if s.started.is_set() else f"{s.platform.name} (still starting)"
            for s in self._starters
        )
        log.info("digestbot running: %d sources, platforms: %s", len(self.sources), names)

    async def _start_platforms(self) -> list[Starter]:
        """Every platform whose token is set; the console when there is none.

        One that cannot start for good (rejected token, bad setting) is skipped; one that cannot
        reach its server yet keeps trying in the background (see bot.platforms.starter).
        """
        settings = self.settings
        wanted: list[Platform] = []
        if settings.telegram.enabled:
            from bot.platforms.telegram.adapter import TelegramPlatform

            wanted.append(
                TelegramPlatform(settings.telegram, self.service, default_language=settings.language)
            )
        if settings.discord.enabled:
            from bot.platforms.discord.client import DiscordPlatform

            wanted.append(DiscordPlatform(settings.discord, self.service, default_language=settings.language))
        if not wanted:
            wanted.append(
                ConsolePlatform(
                    self.service,
                    language=settings.language,
                    stdin=self._stdin,
                    out=self._stdout,
                    on_close=self.stop_requested.set,
                )
            )
        started: list[Starter] = []
        for platform in wanted:
            starter = Starter(platform)
            try:
                await starter.start()
            except Exception as exc:
                log.error("platform %s failed to start: %s", platform.name, exc)
                continue
            started.append(starter)
        if not started:
            raise RuntimeError("no platform could be started")
        return started

    async def _ingest(self, queue: asyncio.Queue[Incoming]) -> None:
        """Classify, store and fan out what the sources find; one bad digest never stops the rest.

        While the database fails, the same digest is retried with back-off rather than dropped (the
        sources report each version once); meanwhile the bounded queue makes the sources wait.
        """
        assert self.store is not None and self.engine is not None
        store, backoff = self.store, Backoff()
        while True:
            incoming = await queue.get()
            try:
                if isinstance(incoming.result, Digest):
                    classified = await asyncio.to_thread(classify, incoming.result, self.vocabulary)
                    incoming = replace(incoming, result=classified)
                result = await retrying(partial(store.record_incoming, incoming), backoff)
                if result.deliverable:
                    # also any fan-out an earlier error cut short
                    await retrying(self.planner.plan_pending, backoff)
                    self.engine.wake()
            except Exception:
                log.exception("could not ingest %s from %s", incoming.key, incoming.source)

    def _render_preferences(self) -> dict[str, dict[str, bool]]:
        """Operator-wide rendering choices per platform, for planned posts and /latest alike."""
        return {name: getattr(self.settings, name).render_preferences() for name in ("telegram", "discord")}

    @property
    def core_tasks(self) -> list[asyncio.Task[None]]:
        """Engine and scheduler: if one of them dies the bot cannot deliver and must say so."""
        return self._tasks

    def _schedules_changed(self) -> None:
        if self.scheduler is not None:
            self.scheduler.wake()

    async def stop(self) -> None:
        """Stop intake, then sending (grace period), then platforms, then the database."""
        for task in self._intake:
            task.cancel()
        await asyncio.gather(*self._intake, return_exceptions=True)
        for source in self.sources:
            close = getattr(source, "aclose", None)
            if close is not None:
                await close()
        if self.scheduler is not None:
            self.scheduler.stop()
        if self.pruner is not None and self._pruning is not None:
            self.pruner.stop()
            await asyncio.gather(self._pruning, return_exceptions=True)
        if self.engine is not None:
            await self.engine.stop(self.settings.delivery.shutdown_grace)
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for starter in self._starters:
            try:
                await starter.stop()
            except Exception as exc:
                log.error("platform %s did not stop cleanly: %s", starter.platform.name, exc)
        if self.store is not None:
            await self.store.close()
        log.info("digestbot stopped")


async def serve(settings: Settings) -> int:
    """Run until SIGTERM/SIGINT, Ctrl-D in a console terminal or a crashed core task; then shut down."""
    app = App(settings)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, app.stop_requested.set)
    try:
        await app.start()
    except StoreError:  # damaged or unusable database: the cli says so in one line and exits 2
        if app.store is not None:
            await app.stop()
        raise
    except Exception as exc:
        log.error("could not start: %s", exc)
        await app.stop()
        _ignore_late_interrupts(loop)
        return 1
    waiter = asyncio.create_task(app.stop_requested.wait())
    done, _ = await asyncio.wait([waiter, *app.core_tasks], return_when=asyncio.FIRST_COMPLETED)
    status = 0
    if waiter not in done:
        for task in done:
            log.error("%s stopped unexpectedly: %r", task.get_name(), task.exception())
        status = 1
    waiter.cancel()
    await app.stop()
    _ignore_late_interrupts(loop)
    return status


def _ignore_late_interrupts(loop: asyncio.AbstractEventLoop) -> None:
    """Once the bot has stopped, another Ctrl-C could only turn a clean exit into a traceback.

    (Closing the loop would reinstate Python's KeyboardInterrupt handler; removing ours first
    keeps the loop from touching SIGINT again.)
    """
    loop.remove_signal_handler(signal.SIGINT)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def run_app(settings: Settings) -> int:
    """Serve while holding the database's process lock; raises DatabaseLocked if another has it."""
    lock = ProcessLock(settings.database)
    lock.acquire()
    try:
        setup_logging(settings.log_level, settings.secrets())
        with contextlib.suppress(KeyboardInterrupt):
            return asyncio.run(serve(settings))
        return 0
    finally:
        lock.release()
