"""The Discord platform: a discord.py client in the bot's own asyncio loop, plus its Sender.

Started with `login()` and a background `connect()` task (not `run()`/`start()`, which would own the
lifecycle), so it lives beside Telegram and the engine and stops cleanly with them.

Routing through proxies: `discord.api_base` / `discord.gateway_url` apply to this client only (see
`routes.py`: discord.py's own defaults, `Route.BASE` and `DEFAULT_GATEWAY`, are process-wide, so
we never set them and two clients with different hosts can live in one process). After READY,
discord.py would resume on the `resume_gateway_url` Discord hands out (a discord.gg host that
bypasses a gateway proxy); when a custom gateway is configured, every session is pinned back to it.

Shards: with `discord.shard_count` set the client is an AutoShardedClient running the shards in
`discord.shard_ids` (all of them when left out), so several processes can split a large bot, each
naming the same count and its own ids; Discord sends a guild's events to shard
(guild_id >> 22) % shard_count.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import aiohttp
import discord
import yarl
from discord import app_commands

from bot.commands.budget import CommandBudget
from bot.commands.service import CommandService
from bot.logs import redact
from bot.net.aiohttp_route import AiohttpRoute
from bot.net.proxy import Proxy
from bot.platforms.base import PlatformStartError
from bot.platforms.discord.bridge import Bridge
from bot.platforms.discord.channels import chat_kind, chat_ref
from bot.platforms.discord.commands import all_commands
from bot.platforms.discord.config import DEFAULT_DISCORD_GATEWAY, DiscordConfig
from bot.platforms.discord.feature_commands import FeatureCommands
from bot.platforms.discord.features import FeatureSettings
from bot.platforms.discord.permissions import invite_url
from bot.platforms.discord.reader_sender import ReaderSender
from bot.platforms.discord.routes import RoutedHTTPClient, routed_context
from bot.platforms.discord.sender import DiscordSender
from bot.platforms.discord.spec import PLATFORM
from bot.platforms.discord.texts import text
from bot.platforms.discord.translator import DigestTranslator
from bot.platforms.discord.webhooks import Webhooks

log = logging.getLogger(__name__)
MAX_RATELIMIT_WAIT = 30.0  # discord.py's minimum; longer waits surface as RetryAfter to the engine
REJECTED_TOKEN = "discord: the bot token was rejected (check discord.token)"
# Gateway close codes that no retry can fix: bad token, invalid shard or API version, bad intents.
FATAL_CLOSE_CODES = frozenset({4004, 4010, 4011, 4012, 4013, 4014})


class DiscordStartError(PlatformStartError):
    """Discord could not be reached or refused the token; the message never contains the token."""


def retryable(exc: BaseException) -> bool:
    """Unreachable, timed out, 5xx or a gateway that closed for a passing reason: worth another try."""
    if isinstance(exc, discord.ConnectionClosed):
        return exc.code not in FATAL_CLOSE_CODES
    return isinstance(
        exc,
        discord.DiscordServerError | discord.GatewayNotFound | aiohttp.ClientError | OSError | TimeoutError,
    )


def intents() -> discord.Intents:
    """Only GUILDS: channels, threads, roles and the bot's own member for permission checks, and the
    guild/channel removals that pause subscriptions. Slash commands need no intent at all."""
    chosen = discord.Intents.none()
    chosen.guilds = True
    return chosen


class DigestClient(discord.Client):
    """A discord.py client whose events feed the bridge and the command service."""

    def __init__(self, platform: DiscordPlatform, *, guild_ready_timeout: float, **sharding: Any) -> None:
        # This bot never joins voice: skip discord.py's start-up warnings about voice libraries.
        discord.VoiceClient.warn_nacl = False
        discord.VoiceClient.warn_dave = False
        super().__init__(
            intents=intents(),
            max_messages=None,
            chunk_guilds_at_startup=False,
            max_ratelimit_timeout=MAX_RATELIMIT_WAIT,
            guild_ready_timeout=guild_ready_timeout,
            **sharding,
        )
        # discord.py builds its HTTP client itself; ours replaces it before anything was sent, in
        # the client and in its connection state, the two holders discord.py reads it from.
        self.http = RoutedHTTPClient(
            self.loop,
            api_base=platform.config.api_base,
            gateway_url=platform.config.gateway_url,
            max_ratelimit_timeout=MAX_RATELIMIT_WAIT,
            route=AiohttpRoute(platform.proxy),
            per_second=platform.config.rate_limits.global_per_second,
        )
        self._connection.http = self.http
        self.platform = platform
        self.tree = app_commands.CommandTree(self)
        self.tree.error(self._command_failed)
        for command in all_commands(platform.bridge, platform.features.commands()):
            self.tree.add_command(command)

    async def setup_hook(self) -> None:
        await self.tree.set_translator(DigestTranslator())
        await self.platform.sync_commands()

    async def on_connect(self) -> None:
        self.platform.pin_gateway()

    async def on_ready(self) -> None:
        log.info("discord: ready as %s in %d servers", self.user, len(self.guilds))

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        bridge = self.platform.bridge
        if not await bridge.menu_submitted(interaction):
            await bridge.confirm_pressed(interaction)

    async def on_guild_remove(self, guild: discord.Guild) -> None:
        reason = f"removed from the Discord server {guild.name!r}"
        for channel in (*guild.channels, *guild.threads):
            await self.platform.chat_gone(channel, reason)

    async def on_guild_channel_delete(self, channel: discord.abc.GuildChannel) -> None:
        await self.platform.chat_gone(channel, "the channel was deleted")

    async def on_thread_delete(self, thread: discord.Thread) -> None:
        await self.platform.chat_gone(thread, "the thread was deleted")

    async def _command_failed(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        """An error discord.py raised around a command (bad option, failed check): log, tell the user."""
        log.error("discord: command failed: %s", redact(str(error), self.platform.secrets), exc_info=error)
        if interaction.type is discord.InteractionType.autocomplete or interaction.response.is_done():
            return
        with contextlib.suppress(discord.HTTPException):
            await interaction.response.send_message(
                text("failed", self.platform.bridge.language(interaction)), ephemeral=True
            )


class ShardedDigestClient(DigestClient, discord.AutoShardedClient):
    """The same client running several shards (`discord.shard_count`, `discord.shard_ids`)."""


def make_client(platform: DiscordPlatform, guild_ready_timeout: float) -> DigestClient:
    """A sharded client when the config names shards, the plain one otherwise."""
    config = platform.config
    if config.shard_count is None:
        return DigestClient(platform, guild_ready_timeout=guild_ready_timeout)
    return ShardedDigestClient(
        platform,
        guild_ready_timeout=guild_ready_timeout,
        shard_count=config.shard_count,
        shard_ids=config.shard_ids,
    )


class DiscordPlatform:
    """Receives slash commands and menu choices over the gateway and exposes a Sender."""

    name = PLATFORM

    def __init__(
        self,
        config: DiscordConfig,
        service: CommandService,
        *,
        default_language: str,
        ready_timeout: float = 60.0,
        guild_ready_timeout: float = 2.0,
        proxy: Proxy | None = None,
    ) -> None:
        self.config = config
        self.proxy = proxy
        self._token = config.token.get_secret_value().strip()
        self._service = service
        self._ready_timeout = ready_timeout
        self._guild_ready_timeout = guild_ready_timeout
        self.secrets = [*([self._token] if self._token else []), *(proxy.secrets() if proxy else ())]
        self.bridge = Bridge(
            service,
            CommandBudget.from_config(config.command_budget),
            owners=config.admins,
            default_language=default_language,
        )
        settings = FeatureSettings(service.store)
        self.features = FeatureCommands(self.bridge, settings, Webhooks(settings, config.webhook), config)
        self.bridge.features = self.features
        self.client = make_client(self, guild_ready_timeout)
        self.sender = ReaderSender(
            DiscordSender(self.client), self.client, settings, config, service.vocabulary, self.secrets
        )
        self._connection: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Log in, sync commands, connect and wait for READY; on failure undo and raise clearly."""
        try:
            await self._start()
        except BaseException as exc:
            await self.stop()
            if isinstance(exc, discord.LoginFailure):
                raise DiscordStartError(REJECTED_TOKEN) from None
            if isinstance(exc, discord.DiscordException | aiohttp.ClientError | OSError | TimeoutError):
                raise DiscordStartError(
                    f"discord: cannot start: {self._clean(exc)}{self._through()}", retryable=retryable(exc)
                ) from None
            raise

    async def _start(self) -> None:
        if self.client.is_closed():
            # A failed start closed the client, and discord.py cannot reopen one (its HTTP session
            # stays closed): a retry gets a fresh client, which the existing sender sends through.
            self.client = make_client(self, self._guild_ready_timeout)
            self.sender.use(self.client)
        await self.client.login(self._token)
        log.info("discord: logged in; invite URL: %s", invite_url(self.client.application_id or 0))
        self._connection = asyncio.create_task(
            self.client.connect(reconnect=True),
            name="discord-gateway",
            context=routed_context(self.config.api_base),
        )
        ready = asyncio.create_task(self.client.wait_until_ready())
        done, _ = await asyncio.wait(
            {ready, self._connection}, timeout=self._ready_timeout, return_when=asyncio.FIRST_COMPLETED
        )
        if ready not in done:
            ready.cancel()
            if self._connection in done:
                self._connection.result()
                raise DiscordStartError("discord: the gateway closed before READY", retryable=True)
            raise DiscordStartError(
                f"discord: the gateway was not ready within {self._ready_timeout:g} s", retryable=True
            )

    async def stop(self) -> None:
        """Close the gateway and HTTP session, wait for the connection task; idempotent."""
        if not self.client.is_closed():
            await self.client.close()
        if self._connection is not None:
            connection, self._connection = self._connection, None
            try:
                await asyncio.wait_for(connection, timeout=10)
            except (discord.DiscordException, aiohttp.ClientError, OSError, TimeoutError) as exc:
                log.warning("discord: gateway task ended with %s", self._clean(exc))
            except asyncio.CancelledError:
                if not connection.cancelled():
                    raise

    async def sync_commands(self) -> None:
        """Register the commands: globally, or only in `discord.guilds` (instant, for testing), in
        which case the global list is emptied so nothing shows twice. Failure is logged, not fatal:
        commands registered earlier keep working."""
        tree = self.client.tree
        try:
            if not self.config.guilds:
                await tree.sync()
                log.info("discord: commands synced globally")
                return
            for guild_id in self.config.guilds:
                guild = discord.Object(guild_id)
                tree.copy_global_to(guild=guild)
                await tree.sync(guild=guild)
            tree.clear_commands(guild=None)
            await tree.sync()
            log.info("discord: commands synced to %d servers", len(self.config.guilds))
        except discord.HTTPException as exc:
            log.error("discord: cannot sync commands: %s", self._clean(exc))

    def pin_gateway(self) -> None:
        """Keep resumes on the configured gateway (a proxy) instead of Discord's resume URL."""
        if self.config.gateway_url != DEFAULT_DISCORD_GATEWAY and self.client.ws is not None:
            self.client.ws.gateway = yarl.URL(self.config.gateway_url)

    async def chat_gone(self, channel: discord.abc.GuildChannel | discord.Thread, reason: str) -> None:
        """Pause the channel's subscription, if it has one (a failure here must not kill the event)."""
        kind = chat_kind(channel.type)
        if kind is None:
            return
        try:
            await self._service.chat_gone(chat_ref(channel.id, kind, channel.name), reason)
        except Exception:
            log.exception("discord: cannot pause the subscription of channel %s", channel.id)

    def _through(self) -> str:
        """Where a connection failure happened, when a proxy is in the way (never its password)."""
        return "" if self.proxy is None else f" (through the proxy {self.proxy.shown})"

    def _clean(self, exc: BaseException) -> str:
        return redact(f"{type(exc).__name__}: {exc}", self.secrets)
