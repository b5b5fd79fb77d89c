"""The Telegram platform: a python-telegram-bot Application sharing the bot's one asyncio loop.

Started with `initialize()/start()/updater.start_polling()` (not `run_polling`, which would own the
loop), or with an aiohttp webhook server when `telegram.webhook` is configured.

Long polling admits one consumer per bot. When several processes share a PostgreSQL database
(`leases` given), only the one that wins the polling election polls; the others stand by, serve
nothing but their sends, and take over when the poller's lease is gone (bot.platforms.election).
In webhook mode every process serves the updates its load balancer hands it.

Digest sends do not go through PTB: the engine's sender posts them with the lean JSON client
(bot_api.py), which costs a fraction of PTB's CPU per message; PTB serves commands and replies.

Rate limiting: PTB's AIORateLimiter is deliberately not used. The engine already paces digest
sends with the same limits; a second limiter would double the waits, hold a worker while it sleeps,
and (with retries) swallow the 429s the engine must see as RetryAfter to reschedule. Command
replies instead take tokens from the one RateLimiter the composition root builds and also hands to
the engine, so replies and digests to a chat draw from one budget.
"""

from __future__ import annotations

import logging

from telegram.error import BadRequest, InvalidToken, NetworkError, RetryAfter, TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ChatMemberHandler,
    MessageHandler,
    filters,
)
from telegram.request import HTTPXRequest

from bot.commands.budget import CommandBudget
from bot.commands.service import CommandService
from bot.core.clock import Clock
from bot.core.lease import LeaseFactory
from bot.delivery.ratelimit import RateLimiter
from bot.logs import redact
from bot.net.aiohttp_route import AiohttpRoute
from bot.net.proxy import Proxy
from bot.platforms.base import PlatformStartError
from bot.platforms.election import Election, polling_lease_name
from bot.platforms.telegram.bot_api import BotApi, Timeouts
from bot.platforms.telegram.config import TelegramConfig
from bot.platforms.telegram.handlers import TelegramHandlers, describe
from bot.platforms.telegram.menus import register_menus
from bot.platforms.telegram.paid import PaidBroadcast
from bot.platforms.telegram.pins import Pinner
from bot.platforms.telegram.replies import ReplySender
from bot.platforms.telegram.sender import TelegramSender
from bot.platforms.telegram.spec import PLATFORM
from bot.platforms.telegram.webhook import WebhookServer

log = logging.getLogger(__name__)
ALLOWED_UPDATES = ("message", "callback_query", "my_chat_member")
CONCURRENT_UPDATES = 16
POLL_TIMEOUT_SECONDS = 30
# Timeouts (seconds) of the bot's own requests (digest sends and command replies), chosen for
# exactly-once delivery. A connect or pool timeout means nothing left, so the send is retried: these
# may be short. A write or read timeout after the request left makes the row `uncertain` (never
# resent), so they are long enough that only a dead connection reaches them: sendMessage is
# answered in well under a second and a 4096-character body is written in a few packets, against
# PTB's defaults of 5 s each. Their sum stays far below the engine's SEND_TIMEOUT (120 s).
CONNECT_TIMEOUT = 10.0
POOL_TIMEOUT = 10.0
WRITE_TIMEOUT = 20.0
READ_TIMEOUT = 30.0
BOT_POOL_SIZE = 256  # PTB's default for the bot's own requests
TIMEOUTS = Timeouts(connect=CONNECT_TIMEOUT, pool=POOL_TIMEOUT, write=WRITE_TIMEOUT, read=READ_TIMEOUT)
REJECTED_TOKEN = "telegram: the bot token was rejected (check telegram.token)"


def bot_request(proxy: Proxy | None) -> HTTPXRequest:
    """The client of the bot's own calls (sends, replies), with the timeouts above. Its proxy is
    ours alone: httpx must not add the environment's on its own (`trust_env`), since
    bot.net.proxy already decided, NO_PROXY and the config included."""
    return HTTPXRequest(
        connection_pool_size=BOT_POOL_SIZE,
        connect_timeout=CONNECT_TIMEOUT,
        pool_timeout=POOL_TIMEOUT,
        write_timeout=WRITE_TIMEOUT,
        read_timeout=READ_TIMEOUT,
        proxy=None if proxy is None else proxy.url,
        httpx_kwargs={"trust_env": False},
    )


def updates_request(proxy: Proxy | None) -> HTTPXRequest:
    """The long-polling client (one connection, PTB's default timeouts), through the same proxy."""
    return HTTPXRequest(
        connection_pool_size=1, proxy=None if proxy is None else proxy.url, httpx_kwargs={"trust_env": False}
    )


def paid_broadcast(config: TelegramConfig, limiter: RateLimiter, clock: Clock | None) -> PaidBroadcast:
    """The paid-broadcast switch: when on, digest sends are paced at `paid_per_second` until a
    refusal drops the limiter back to the free global limit (command replies keep it throughout)."""
    rate = config.rate_limits.paid_per_second
    paid = PaidBroadcast(
        config.paid_broadcast,
        per_second=rate,
        clock=clock,
        on_fallback=lambda: limiter.set_broadcast_rate(PLATFORM, None),
    )
    if paid.active:
        limiter.set_broadcast_rate(PLATFORM, rate)
    return paid


class TelegramStartError(PlatformStartError):
    """Telegram could not be reached or refused the token; the message never contains the token."""


def retryable(exc: TelegramError) -> bool:
    """Unreachable, timed out, 5xx or flood-limited: worth another try. A rejected token, a 4xx
    (BadRequest is a NetworkError subclass in PTB) or a refused permission is not."""
    return isinstance(exc, NetworkError | RetryAfter) and not isinstance(exc, BadRequest)


class TelegramPlatform:
    """Receives commands over PTB and exposes a Sender (the lean JSON client) for the delivery engine."""

    name = PLATFORM

    def __init__(
        self,
        config: TelegramConfig,
        service: CommandService,
        *,
        default_language: str,
        limiter: RateLimiter,
        proxy: Proxy | None = None,
        clock: Clock | None = None,
        leases: LeaseFactory | None = None,
    ) -> None:
        if not config.enabled:
            raise TelegramStartError("telegram: telegram.token is empty; set it or leave Telegram disabled")
        self._config = config
        self._token = config.token.get_secret_value().strip()
        self.proxy = proxy
        builder = (
            Application.builder()
            .token(self._token)
            .base_url(config.base_url)
            .concurrent_updates(CONCURRENT_UPDATES)
            .request(bot_request(proxy))
            .get_updates_request(updates_request(proxy))
        )
        if config.base_file_url:
            builder = builder.base_file_url(config.base_file_url)
        if config.webhook is not None:
            builder = builder.updater(None)
        self.application = builder.build()
        self.paid = paid_broadcast(config, limiter, clock)
        service.paid_broadcasts[PLATFORM] = self.paid
        # Digest sends: the lean JSON client over aiohttp, through the same proxy, same timeouts.
        self.api = BotApi(
            self._token, config.base_url, TIMEOUTS, pool_size=BOT_POOL_SIZE, route=AiohttpRoute(proxy)
        )
        self.sender = TelegramSender(self.api, self.paid, Pinner(self.application.bot, service.store))
        self._replies = ReplySender(self.application.bot, limiter, service.vocabulary, default_language)
        self._handlers = handlers = TelegramHandlers(
            service,
            self._replies,
            CommandBudget.from_config(config.command_budget),
            owners=frozenset(config.admins),
            default_language=default_language,
        )
        self._default_language = default_language
        self._leases = leases
        self._election: Election | None = None
        self._webhook = (
            WebhookServer(self.application, config.webhook, ALLOWED_UPDATES) if config.webhook else None
        )
        app = self.application
        commands = filters.UpdateType.MESSAGE & (filters.COMMAND | filters.StatusUpdate.MIGRATE)
        app.add_handler(MessageHandler(commands, handlers.on_message))
        app.add_handler(CallbackQueryHandler(handlers.on_callback))
        app.add_handler(ChatMemberHandler(handlers.on_my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER))
        app.add_error_handler(handlers.on_error)

    async def start(self) -> None:
        """Connect, install menus, begin polling (or listening); on failure, undo and raise clearly."""
        try:
            await self._start()
        except BaseException as exc:
            await self.stop()
            if isinstance(exc, InvalidToken):
                raise TelegramStartError(REJECTED_TOKEN) from None
            if isinstance(exc, TelegramError):
                raise TelegramStartError(
                    f"telegram: cannot start: {self._clean(describe(exc))}{self._through()}",
                    retryable=retryable(exc),
                ) from None
            if isinstance(exc, OSError) and self._webhook is not None:
                raise TelegramStartError(f"telegram: webhook server cannot listen: {exc}") from None
            raise

    async def _start(self) -> None:
        app = self.application
        self.api.open()
        await app.initialize()
        log.info("telegram: connected as @%s", app.bot.username)
        try:
            await register_menus(app.bot, self._config.admins, self._default_language)
        except TelegramError as exc:
            log.warning("telegram: command menus not installed: %s", self._clean(describe(exc)))
        await app.start()
        if self._webhook is not None:
            await self._webhook.start()
        elif self._leases is None:
            await self._start_polling()
        else:
            lease = self._leases(polling_lease_name(PLATFORM))
            self._election = Election(lease, self._start_polling, self._stop_polling)
            await self._election.start()

    async def _start_polling(self) -> None:
        updater = self.application.updater
        if updater is not None and not updater.running:
            await updater.start_polling(
                timeout=POLL_TIMEOUT_SECONDS,
                allowed_updates=list(ALLOWED_UPDATES),
                error_callback=self._polling_error,
            )

    async def _stop_polling(self) -> None:
        updater = self.application.updater
        if updater is not None and updater.running:
            await updater.stop()

    @property
    def polling(self) -> bool:
        """This process is the one fetching updates (always, in polling mode without leases)."""
        return self.application.updater is not None and self.application.updater.running

    async def stop(self) -> None:
        """Stop polling or listening, finish in-flight updates, close connections; idempotent."""
        app = self.application
        if self._election is not None:
            election, self._election = self._election, None
            await election.stop()
        await self._stop_polling()
        if self._webhook is not None:
            await self._webhook.stop()
        if app.running:
            await app.stop()
        try:
            await self._handlers.close()
            await app.shutdown()
        finally:
            await self.api.close()

    def _polling_error(self, exc: TelegramError) -> None:
        """PTB retries polling by itself; one line per failure is enough (the default logs a trace)."""
        log.warning("telegram: polling failed, retrying: %s", self._clean(describe(exc)))

    def _through(self) -> str:
        """Where a connection failure happened, when a proxy is in the way (never its password)."""
        return "" if self.proxy is None else f" (through the proxy {self.proxy.shown})"

    def _clean(self, text: str) -> str:
        return redact(text, [self._token, *(self.proxy.secrets() if self.proxy else ())])
