"""A loopback Discord: REST (`/api/v10/...`) and a gateway websocket, faithful enough for discord.py.

The bot's real discord.py client talks to this server exactly as it talks to Discord: it logs in,
bulk-overwrites its application commands, connects to the gateway (HELLO, IDENTIFY, READY,
GUILD_CREATE, heartbeats; zlib-stream compression when asked), receives INTERACTION_CREATE events the
tests push, answers them through the interaction callback and followup webhooks, and posts messages.

Discord's rules are enforced rather than assumed: the bot token on every request, permissions
computed from roles and overwrites (403 50001 / 50013), unknown channels (404 10003), the Create
Message limits (400 50035 with the list of violations, from `discord_limits`), the 3-second deadline
and single acknowledgement of an interaction, rate-limit headers, and 429s with `retry_after` when a
test asks for them. Wire formats follow Discord's documentation and the fields discord.py parses.

This module holds the state and the test-facing set-up; the data is in fake_discord_model.py,
interactions and the gateway in fake_discord_gateway.py, REST in fake_discord_rest.py and Discord's
error answers and request checks in fake_discord_validation.py.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterable
from typing import Any

from aiohttp import web
from fake_discord_gateway import InteractionsAndGateway
from fake_discord_model import (
    API_PREFIX,
    DM,
    EVERYONE_DEFAULT,
    FAULT_MESSAGES,
    TEXT,
    THREAD_TYPES,
    Channel,
    Fault,
    GatewaySession,
    Guild,
    InteractionRecord,
    Member,
    Overwrite,
    Posted,
    Role,
    User,
    permissions_in,
    snowflake,
)
from fake_discord_rest import DiscordRest
from fake_discord_webhooks import WebhooksAndPublishing


class FakeDiscord(InteractionsAndGateway, DiscordRest, WebhooksAndPublishing):
    """Start with `await fake.start()`; point the bot at `fake.api_base` and `fake.gateway_url`."""

    def __init__(self, token: str = "fake-bot-token", *, route_limit: int = 50, port: int = 0) -> None:
        """`port` 0 picks a free one; a fixed port lets a test start the server after the bot."""
        self.token = token
        self.application_id = snowflake()
        self.bot = User(snowflake(), "digestbot", bot=True)
        self.owner = User(snowflake(), "app-owner")
        self.guilds: dict[str, Guild] = {}
        self.channels: dict[str, Channel] = {}
        self.users: dict[str, User] = {}
        self.global_commands: list[dict[str, Any]] = []
        self.guild_commands: dict[str, list[dict[str, Any]]] = {}
        self.posted: list[Posted] = []
        self.requests: list[tuple[str, str, int]] = []
        self.interactions: dict[str, InteractionRecord] = {}
        self.identify_payloads: list[dict[str, Any]] = []
        self.gateway_connects: list[str] = []
        self.faults: dict[str, list[Fault]] = {}
        self.dropped_answers: dict[str, int] = {}
        self.route_limit = route_limit
        self.interaction_deadline = 3.0
        self.resume_gateway_url: str | None = None  # READY's resume URL; None: this server's gateway
        self._buckets: dict[str, tuple[float, int]] = {}
        self._sessions: list[GatewaySession] = []
        self._message_event = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.port = port
        self._init_webhooks()

    # -- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application(middlewares=[self._middleware])
        app.router.add_get("/gateway", self._gateway)
        api = API_PREFIX
        app.router.add_get(f"{api}/gateway", self._get_gateway)
        app.router.add_get(f"{api}/gateway/bot", self._get_gateway_bot)
        app.router.add_get(f"{api}/users/@me", self._get_me)
        app.router.add_get(f"{api}/oauth2/applications/@me", self._get_application)
        app.router.add_get(f"{api}/applications/@me", self._get_application)
        app.router.add_put(f"{api}/applications/{{app}}/commands", self._put_global_commands)
        app.router.add_get(f"{api}/applications/{{app}}/commands", self._get_global_commands)
        app.router.add_put(f"{api}/applications/{{app}}/guilds/{{guild}}/commands", self._put_guild_commands)
        app.router.add_get(f"{api}/applications/{{app}}/guilds/{{guild}}/commands", self._get_guild_commands)
        app.router.add_get(f"{api}/channels/{{channel}}", self._get_channel)
        app.router.add_post(f"{api}/channels/{{channel}}/messages", self._post_message)
        app.router.add_post(f"{api}/channels/{{channel}}/threads", self._post_forum_thread)
        app.router.add_get(f"{api}/guilds/{{guild}}/channels", self._get_guild_channels)
        app.router.add_get(f"{api}/guilds/{{guild}}/roles", self._get_guild_roles)
        app.router.add_get(f"{api}/guilds/{{guild}}/members/{{user}}", self._get_guild_member)
        app.router.add_post(f"{api}/interactions/{{id}}/{{token}}/callback", self._interaction_callback)
        app.router.add_post(f"{api}/webhooks/{{app}}/{{token}}", self._webhook_post)
        self.add_routes(app, api)
        app.router.add_patch(f"{api}/webhooks/{{app}}/{{token}}/messages/@original", self._edit_original)
        app.router.add_get(f"{api}/webhooks/{{app}}/{{token}}/messages/@original", self._get_original)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        self.port = listener.getsockname()[1]
        await web.SockSite(self._runner, listener).start()

    async def stop(self) -> None:
        for session in list(self._sessions):
            await session.ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}{API_PREFIX}"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    # -- world building ---------------------------------------------------------------------

    def add_guild(self, name: str = "Test Server") -> Guild:
        """A guild whose @everyone may read and post, with the bot as a member (no extra roles)."""
        owner = self.add_user(f"{name}-owner")
        guild = Guild(snowflake(), name, owner.id)
        guild.roles[guild.id] = Role(guild.id, "@everyone", EVERYONE_DEFAULT)
        guild.members[owner.id] = Member(owner)
        guild.members[self.bot.id] = Member(self.bot)
        self.guilds[guild.id] = guild
        return guild

    def add_user(self, name: str) -> User:
        user = User(snowflake(), name)
        self.users[user.id] = user
        return user

    def add_role(self, guild: Guild, name: str, permissions: int) -> Role:
        role = Role(snowflake(), name, permissions, position=len(guild.roles))
        guild.roles[role.id] = role
        return role

    def add_member(self, guild: Guild, name: str, roles: Iterable[Role] = ()) -> User:
        user = self.add_user(name)
        guild.members[user.id] = Member(user, [r.id for r in roles])
        return user

    def add_channel(
        self, guild: Guild, name: str, type: int = TEXT, *, parent: Channel | None = None
    ) -> Channel:
        channel = Channel(
            snowflake(),
            type,
            name,
            guild_id=guild.id,
            parent_id=parent.id if parent else None,
            owner_id=self.bot.id if type in THREAD_TYPES else None,
            position=len(guild.channels),
        )
        guild.channels[channel.id] = channel
        self.channels[channel.id] = channel
        return channel

    def add_dm(self, user: User) -> Channel:
        channel = Channel(snowflake(), DM, "", recipient=user)
        self.channels[channel.id] = channel
        return channel

    def set_overwrite(
        self, channel: Channel, target_id: str, *, allow: int = 0, deny: int = 0, member: bool = False
    ) -> None:
        """Change a channel's overwrite (as an admin would); connected clients get CHANNEL_UPDATE."""
        channel.overwrites = [o for o in channel.overwrites if o.id != target_id]
        channel.overwrites.append(Overwrite(target_id, 1 if member else 0, allow, deny))

    async def announce_channel_update(self, channel: Channel) -> None:
        await self.dispatch("CHANNEL_UPDATE", channel.payload())

    async def remove_guild(self, guild: Guild) -> None:
        """The bot was kicked: GUILD_DELETE without `unavailable`, and every request there fails."""
        del guild.members[self.bot.id]
        await self.dispatch("GUILD_DELETE", {"id": guild.id})

    async def delete_channel(self, channel: Channel) -> None:
        """An admin deleted the channel: gone from the guild, CHANNEL_DELETE to the bot."""
        assert channel.guild_id is not None
        del self.guilds[channel.guild_id].channels[channel.id]
        del self.channels[channel.id]
        await self.dispatch("THREAD_DELETE" if channel.is_thread else "CHANNEL_DELETE", channel.payload())

    async def rejoin(self, guild: Guild) -> None:
        """The bot was invited back: it is a member again and receives GUILD_CREATE."""
        guild.members[self.bot.id] = Member(self.bot)
        await self.dispatch("GUILD_CREATE", guild.payload(self.bot.id))

    async def ask_to_reconnect(self) -> None:
        """Gateway op 7 RECONNECT: the client must reconnect and RESUME its session."""
        for session in [s for s in self._sessions if s.identified]:
            await session.send(7, None)

    def fail(
        self, channel_id: str, status: int, code: int, *, times: int | None = None, message: str | None = None
    ) -> None:
        """Answer posts to `channel_id` with this error (403 50013, 404 10003, 500, ...)."""
        text = message or FAULT_MESSAGES.get(code, "Error")
        self.faults.setdefault(channel_id, []).append(Fault(status, code, text, times))

    def drop_answers(self, channel_id: str, times: int = 1) -> None:
        """The next `times` posts to `channel_id` are stored, then the connection is closed before
        the answer: to the client the message may or may not exist."""
        self.dropped_answers[channel_id] = times

    def rate_limit(
        self, channel_id: str, retry_after: float, *, times: int = 1, is_global: bool = False
    ) -> None:
        """Answer the next `times` posts to `channel_id` with 429 and this retry_after."""
        fault = Fault(429, 0, FAULT_MESSAGES[0], times, retry_after=retry_after, is_global=is_global)
        self.faults.setdefault(channel_id, []).append(fault)

    def permissions(self, guild: Guild, user_id: str, channel: Channel | None) -> int:
        return permissions_in(guild, guild.members[user_id], channel)
