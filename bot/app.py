"""Composition root: builds store, sources, planner, scheduler, engine and platforms in one loop.

Everything runs as tasks of one asyncio loop (platforms start inside it and never own it); the
platforms come from the registry. SIGTERM/SIGINT stop intake first, then let in-flight sends finish
within the grace period, then close the platforms and the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from dataclasses import replace
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import IO, Any, TextIO

from bot.cluster import Cluster
from bot.commands.service import CommandService
from bot.config import Settings
from bot.core.classify import classify
from bot.core.clock import Clock, SystemClock
from bot.core.heap import settle_heap
from bot.core.model import Digest, Vocabulary
from bot.core.schedule import parse_timezone
from bot.delivery.engine import DeliveryEngine
from bot.delivery.expander import Expander, stock_for
from bot.delivery.planner import Planner, share_the_interpreter
from bot.delivery.ratelimit import RateLimiter, RatePolicy
from bot.delivery.reports import ProblemReporter, ReportTarget
from bot.delivery.retention import Pruner
from bot.delivery.scheduler import Scheduler
from bot.logs import setup_logging
from bot.platforms import registry
from bot.platforms.base import Platform
from bot.platforms.spec import PlatformContext
from bot.platforms.starter import Starter
from bot.sources.base import Incoming, Source
from bot.sources.factory import build_source
from bot.sources.feed import NewSourceCheck
from bot.store.db import Store, StoreError
from bot.store.lock import ProcessLock
from bot.store.retry import Backoff, retrying
from bot.web.metrics import Metrics
from bot.web.server import WebServer

log = logging.getLogger(__name__)
BROADCAST_SYNC_WAIT = 300.0  # seconds a PostgreSQL start-up waits for other processes' broadcast syncs


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
        self.platforms: list[Platform] = []
        self._starters: list[Starter] = []
        self.store: Store | None = None
        self.scheduler: Scheduler | None = None
        self.sources: list[Source] = []
        self._exit = contextlib.AsyncExitStack()
        # One clock for everything that reads or waits on time, so they agree on what "now" is.
        self._clock: Clock = SystemClock()
        self.metrics = Metrics()  # this app's own registry: served at /metrics when `http` is on
        self.web: WebServer | None = None
        self.cluster: Cluster | None = None  # other processes share the database (PostgreSQL only)

    async def start(self) -> None:
        """Start everything; each step registers its own undo, so stop() (or a failed start) unwinds
        in reverse order: intake, scheduler, pruner, engine (with grace), platforms, store."""
        settings, stack, clock = self.settings, self._exit, self._clock
        self.store = store = await Store.open(
            settings.database, clock=clock, connect_timeout=settings.database_connect_timeout
        )
        stack.push_async_callback(store.close)
        store.lease = timedelta(seconds=settings.delivery.lease)
        self.cluster = cluster = _cluster(settings, clock)
        if cluster is not None:
            stack.push_async_callback(cluster.close)
        await self._sync_broadcasts(store)
        renderers = settings.renderers()
        self.service = CommandService(
            store,
            self.vocabulary,
            default_language=settings.language,
            default_timezone=settings.timezone,
            on_change=self._schedules_changed,
            renderers=renderers,
            clock=clock,
            secrets=settings.secrets(),
            on_enqueued=self._rows_written,
        )
        policies = self._rate_policies()
        limiter = RateLimiter(policies, clock, shared=cluster.shared_limits(policies) if cluster else None)
        self._starters = await self._start_platforms(limiter)
        self.platforms = [s.platform for s in self._starters]
        self.problems = problems = ProblemReporter(
            store,
            self._report_targets(),
            clock,
            language=settings.language,
            secrets=settings.secrets(),
            on_enqueued=self._rows_written,
        )
        reporting = asyncio.create_task(problems.run(), name="error-chat")
        stack.push_async_callback(_cancel, [reporting])
        self.expander = expander = Expander(
            store,
            self.vocabulary,
            renderers=renderers,
            clock=clock,
            stock=stock_for(_send_rate(limiter, policies, self.platforms)),
            platforms=[p.name for p in self.platforms],
            max_age=settings.delivery.max_age,
            on_enqueued=self._rows_written,
        )
        self.engine = engine = DeliveryEngine(
            store,
            {s.platform.name: s.sender for s in self._starters},
            limiter,
            settings.delivery,
            clock=clock,
            problems=problems,
            observer=self.metrics,
            on_claimed=expander.claimed,
        )
        engine_task: list[asyncio.Task[None]] = []
        stack.push_async_callback(self._stop_engine, engine_task)
        share_the_interpreter()  # renders run in worker threads beside the loop
        self.planner = Planner(store, self.vocabulary, renderers=renderers, clock=clock)
        await self.planner.plan_pending()  # renders only: rows come from the expander
        self._start_pruner(store)
        engine_task.append(asyncio.create_task(engine.run(), name="engine"))
        expander_task = asyncio.create_task(expander.run(), name="expander")
        stack.push_async_callback(_stop_expander, expander, expander_task)
        self.scheduler = scheduler = Scheduler(
            store,
            self.vocabulary,
            renderers=renderers,
            clock=clock,
            on_enqueued=self._rows_written,
            top_per_category=settings.roundup.top_per_category,
        )
        scheduler_task = asyncio.create_task(scheduler.run(), name="scheduler")
        stack.push_async_callback(_stop_scheduler, scheduler, scheduler_task)
        self._tasks = [*engine_task, expander_task, scheduler_task]
        if cluster is not None:
            cluster.listen({"deliveries": engine.wake, "schedule": scheduler.wake})
        await self._start_intake(store)
        await self._start_web(store)
        frozen = settle_heap()
        log.debug("%d start-up objects frozen out of the garbage collector's passes", frozen)
        names = ", ".join(
            s.platform.name if s.started.is_set() else f"{s.platform.name} (still starting)"
            for s in self._starters
        )
        log.info("digestbot running: %d sources, platforms: %s", len(self.sources), names)

    def _report_targets(self) -> list[ReportTarget]:
        """The error chats of the enabled platforms (each platform's `report_chat` setting)."""
        targets = []
        for spec in self.settings.enabled_platforms():
            chat = self.settings.platform_config(spec).report_chat
            if chat is not None:
                targets.append(ReportTarget(spec.name, chat, spec.broadcast_kind(chat), spec.plain_message))
        return targets

    async def _start_web(self, store: Store) -> None:
        """The HTTP server when `http` is configured; it stops first, before anything it reports on."""
        if self.settings.http is None:
            return
        self.web = web = WebServer(self.settings.http, store, self.metrics, self.health_problems, self._clock)
        await web.start()
        self._exit.push_async_callback(web.stop)

    def health_problems(self) -> list[str]:
        """Why the bot is not fully running (empty when it is): what /healthz answers 503 with."""
        problems = [f"{s.platform.name}: still starting" for s in self._starters if not s.started.is_set()]
        problems += [f"{task.get_name()}: stopped" for task in self._tasks if task.done()]
        if self.store is None or self.store.health.failing:
            problems.append("database unavailable")
        if self.stop_requested.is_set():
            problems.append("shutting down")
        return problems

    def _rate_policies(self) -> dict[str, RatePolicy]:
        """One pacing policy per platform that has limits; the same limiter paces digests and replies."""
        policies: dict[str, RatePolicy] = {}
        for spec in registry.PLATFORMS:
            limits = self.settings.platform_config(spec).rate_limits
            if limits is not None:
                policies[spec.name] = RatePolicy(limits, spec.group_kinds)
        return policies

    def _start_pruner(self, store: Store) -> None:
        pruner = Pruner(store, self.settings.retention, clock=self._clock)
        pruning = asyncio.create_task(pruner.run(), name="retention")

        async def stop_pruner() -> None:
            pruner.stop()
            await asyncio.gather(pruning, return_exceptions=True)

        self._exit.push_async_callback(stop_pruner)

    async def _start_intake(self, store: Store) -> None:
        """Sources and the ingest task; on stop they are cancelled first, then the sources closed."""
        settings = self.settings
        queue: asyncio.Queue[Incoming] = asyncio.Queue(maxsize=100)
        timezone = parse_timezone(settings.timezone)
        await store.use_sources(settings.source_scopes())
        self.sources = [
            build_source(
                spec,
                default_tz=timezone,
                max_bytes=settings.max_digest_bytes,
                max_feed_bytes=settings.max_feed_bytes,
                proxy=settings.proxy,
                clock=self._clock,
                new_source=await self._new_source(store, spec.name),
            )
            for spec in settings.sources
        ]
        if self.cluster is not None:  # each source polled by one process at a time
            self.sources = [self.cluster.leased(source) for source in self.sources]
        for source in self.sources:
            self._exit.push_async_callback(source.aclose)
        intake = [asyncio.create_task(s.run(queue), name=f"source-{s.name}") for s in self.sources]
        intake.append(asyncio.create_task(self._ingest(queue), name="ingest"))
        self._exit.push_async_callback(_cancel, intake)

    async def _start_platforms(self, limiter: RateLimiter) -> list[Starter]:
        """Every enabled platform; the console when there is none.

        One that cannot start for good (rejected token, bad setting) is skipped; one that cannot
        reach its server yet keeps trying in the background (see bot.platforms.starter).
        """
        settings = self.settings
        started: list[Starter] = []
        for spec in settings.enabled_platforms():
            context = PlatformContext(
                config=settings.platform_config(spec),
                service=self.service,
                default_language=settings.language,
                limiter=limiter,
                proxy=settings.proxy,
                stdin=self._stdin,
                stdout=self._stdout,
                on_close=self.stop_requested.set,
                language_configured="language" in settings.model_fields_set,
                clock=self._clock,
                leases=self.cluster.lease if self.cluster is not None else None,
            )
            starter = Starter(spec.build(context))
            try:
                await starter.start()
            except Exception as exc:
                log.error("platform %s failed to start: %s", spec.name, exc)
                continue
            self._exit.push_async_callback(_stop_platform, starter)
            started.append(starter)
        if not started:
            raise RuntimeError("no platform could be started")
        return started

    async def _ingest(self, queue: asyncio.Queue[Incoming]) -> None:
        """Classify, store and fan out what the sources find; one bad digest never stops the rest.

        While the database fails, the same digest is retried with back-off rather than dropped (the
        sources report each version once); meanwhile the bounded queue makes the sources wait.
        """
        assert self.store is not None
        store, backoff = self.store, Backoff()
        while True:
            incoming = await queue.get()
            try:
                if isinstance(incoming.result, Digest):
                    classified = await asyncio.to_thread(classify, incoming.result, self.vocabulary)
                    incoming = replace(incoming, result=classified)
                result = await retrying(partial(store.record_incoming, incoming), backoff)
                if result.status == "error" and result.error is not None:
                    self.problems.rejected(result.source, str(result.error))
                self.metrics.digest_read(ok=isinstance(incoming.result, Digest))
                if result.deliverable:
                    # renders only (also any plan an earlier error cut short); the expander writes the rows
                    await retrying(self.planner.plan_pending, backoff)
                    self.expander.wake()
            except Exception:
                log.exception("could not ingest %s from %s", incoming.key, incoming.source)

    async def _new_source(self, store: Store, name: str) -> bool | NewSourceCheck:
        """Whether nothing of source `name` is stored yet. With several processes it is asked when
        this process first polls it: another may have polled it since this one started."""
        if self.cluster is None:
            return not await store.source_known(name)

        async def unknown() -> bool:
            return not await retrying(partial(store.source_known, name), Backoff())

        return unknown

    async def _sync_broadcasts(self, store: Store) -> None:
        """Write the configured broadcasts. On PostgreSQL, processes starting together write them one
        after the other (row locks): one waiting longer than a statement may is retried, for a
        while, instead of failing the start-up. A SQLite store is this process's alone."""
        rows = self.settings.broadcast_rows()
        if self.cluster is None:
            await store.sync_broadcasts(rows)
            return
        sync = retrying(partial(store.sync_broadcasts, rows), Backoff(first=0.5, cap=5.0))
        await asyncio.wait_for(sync, BROADCAST_SYNC_WAIT)

    @property
    def core_tasks(self) -> list[asyncio.Task[None]]:
        """Engine, expander and scheduler: if one of them dies the bot cannot deliver and must say so."""
        return self._tasks

    def _rows_written(self) -> None:
        """Messages were queued (a plan, a scheduled post, a confirmed announcement): the engine
        sends them now, and so do the engines of the other processes on the same database."""
        if hasattr(self, "engine"):
            self.engine.wake()
        if self.cluster is not None:
            self.cluster.publish("deliveries")

    def _schedules_changed(self) -> None:
        if self.scheduler is not None:
            self.scheduler.wake()
        if self.cluster is not None:
            self.cluster.publish("schedule")

    async def _stop_engine(self, running: list[asyncio.Task[None]]) -> None:
        """Let in-flight sends finish within the grace period (the engine may not be running yet)."""
        await self.engine.stop(self.settings.delivery.shutdown_grace)
        await asyncio.gather(*running, return_exceptions=True)

    async def stop(self) -> None:
        """Undo start() in reverse: intake, scheduler, pruner, sending (grace), platforms, database."""
        await self._exit.aclose()
        log.info("digestbot stopped")


def _cluster(settings: Settings, clock: Clock) -> Cluster | None:
    """The links to the other processes, when the database is PostgreSQL (a URL, not a file)."""
    return Cluster(settings.database, clock) if isinstance(settings.database, str) else None


async def _cancel(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def _send_rate(
    limiter: RateLimiter, policies: dict[str, RatePolicy], platforms: list[Platform]
) -> float | None:
    """Digests per second this process may send at most (its platforms' broadcast paces: a paid
    broadcast's included); None when one of them is unpaced (the console)."""
    rates = [limiter.broadcast_rate(p.name) for p in platforms if p.name in policies]
    return sum(rates) if len(rates) == len(platforms) else None


async def _stop_expander(expander: Expander, task: asyncio.Task[None]) -> None:
    expander.stop()
    await asyncio.gather(task, return_exceptions=True)


async def _stop_scheduler(scheduler: Scheduler, task: asyncio.Task[None]) -> None:
    scheduler.stop()
    await asyncio.gather(task, return_exceptions=True)


async def _stop_platform(starter: Starter) -> None:
    """A platform that fails to stop must not keep the others (or the database) open."""
    try:
        await starter.stop()
    except Exception as exc:
        log.error("platform %s did not stop cleanly: %s", starter.platform.name, exc)


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
    """Serve while holding a SQLite database's process lock (raises DatabaseLocked if another has
    it); on PostgreSQL any number of processes share the database, so there is no lock to take."""
    lock = ProcessLock(settings.database) if isinstance(settings.database, Path) else None
    if lock is not None:
        lock.acquire()
    try:
        setup_logging(settings.log_level, settings.secrets(), json_lines=settings.log_format == "json")
        with contextlib.suppress(KeyboardInterrupt):
            return asyncio.run(serve(settings))
        return 0
    finally:
        if lock is not None:
            lock.release()
