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
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import socket
import time
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import discord
from aiohttp import WSMsgType, web
from discord_limits import check_create_message, error_response

API_PREFIX = "/api/v10"
EPHEMERAL = 1 << 6
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
EMBED_LINKS = 1 << 14
MANAGE_CHANNELS = 1 << 4
ADMINISTRATOR = 1 << 3
SEND_MESSAGES_IN_THREADS = 1 << 38
ALL_PERMISSIONS = (1 << 53) - 1
EVERYONE_DEFAULT = VIEW_CHANNEL | SEND_MESSAGES | SEND_MESSAGES_IN_THREADS | EMBED_LINKS | (1 << 16)
PRIVILEGED_INTENTS = (1 << 1) | (1 << 8) | (1 << 15)

TEXT, DM, NEWS, NEWS_THREAD, PUBLIC_THREAD, PRIVATE_THREAD, FORUM = 0, 1, 5, 10, 11, 12, 15
THREAD_TYPES = frozenset({NEWS_THREAD, PUBLIC_THREAD, PRIVATE_THREAD})
_NAME = re.compile(r"^[-_\w]{1,32}$")
# The locales Discord accepts in name_localizations / description_localizations.
_LOCALES = frozenset(locale.value for locale in discord.Locale)
_snowflakes = itertools.count(1_310_000_000_000_000_000)


def snowflake() -> str:
    return str(next(_snowflakes))


def _now() -> str:
    return datetime.now(UTC).isoformat()


# -- model --------------------------------------------------------------------------------------


@dataclass
class Role:
    id: str
    name: str
    permissions: int
    position: int = 0


@dataclass
class User:
    id: str
    username: str
    bot: bool = False

    def payload(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "username": self.username,
            "discriminator": "0",
            "global_name": None if self.bot else self.username,
            "avatar": None,
            "bot": self.bot,
            "public_flags": 0,
        }


@dataclass
class Member:
    user: User
    roles: list[str] = field(default_factory=list)

    def payload(self, permissions: int | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {
            "user": self.user.payload(),
            "nick": None,
            "avatar": None,
            "roles": list(self.roles),
            "joined_at": "2024-01-01T00:00:00+00:00",
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
        }
        if permissions is not None:
            data["permissions"] = str(permissions)
        return data


@dataclass
class Overwrite:
    id: str
    type: int  # 0 role, 1 member
    allow: int = 0
    deny: int = 0

    def payload(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.type, "allow": str(self.allow), "deny": str(self.deny)}


@dataclass
class Channel:
    id: str
    type: int
    name: str
    guild_id: str | None = None
    parent_id: str | None = None
    owner_id: str | None = None
    overwrites: list[Overwrite] = field(default_factory=list)
    recipient: User | None = None
    position: int = 0

    @property
    def is_thread(self) -> bool:
        return self.type in THREAD_TYPES

    def payload(self) -> dict[str, Any]:
        if self.type == DM:
            assert self.recipient is not None
            return {
                "id": self.id,
                "type": DM,
                "last_message_id": None,
                "recipients": [self.recipient.payload()],
            }
        data: dict[str, Any] = {
            "id": self.id,
            "type": self.type,
            "guild_id": self.guild_id,
            "name": self.name,
            "parent_id": self.parent_id,
            "nsfw": False,
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "flags": 0,
        }
        if self.is_thread:
            data.update(
                owner_id=self.owner_id,
                message_count=0,
                member_count=1,
                total_message_sent=0,
                applied_tags=[],
                thread_metadata={
                    "archived": False,
                    "auto_archive_duration": 1440,
                    "archive_timestamp": _now(),
                    "locked": False,
                    "create_timestamp": _now(),
                },
            )
        else:
            data.update(
                position=self.position,
                permission_overwrites=[o.payload() for o in self.overwrites],
                topic=None,
            )
        if self.type == FORUM:
            data.update(
                available_tags=[],
                default_reaction_emoji=None,
                default_sort_order=None,
                default_forum_layout=0,
            )
        return data


@dataclass
class Guild:
    id: str
    name: str
    owner_id: str
    roles: dict[str, Role] = field(default_factory=dict)
    channels: dict[str, Channel] = field(default_factory=dict)
    members: dict[str, Member] = field(default_factory=dict)

    def payload(self, bot_id: str) -> dict[str, Any]:
        """GUILD_CREATE data: with the Guilds intent only the bot's own member is included."""
        return {
            "id": self.id,
            "name": self.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "owner_id": self.owner_id,
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "roles": [
                {
                    "id": r.id,
                    "name": r.name,
                    "color": 0,
                    "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
                    "hoist": False,
                    "icon": None,
                    "unicode_emoji": None,
                    "position": r.position,
                    "permissions": str(r.permissions),
                    "managed": False,
                    "mentionable": False,
                    "flags": 0,
                }
                for r in self.roles.values()
            ],
            "emojis": [],
            "features": [],
            "mfa_level": 0,
            "application_id": None,
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "vanity_url_code": None,
            "description": None,
            "banner": None,
            "premium_tier": 0,
            "preferred_locale": "en-US",
            "public_updates_channel_id": None,
            "nsfw_level": 0,
            "premium_progress_bar_enabled": False,
            "stickers": [],
            "joined_at": "2024-01-01T00:00:00+00:00",
            "large": False,
            "unavailable": False,
            "member_count": len(self.members),
            "voice_states": [],
            "members": [self.members[bot_id].payload()] if bot_id in self.members else [],
            "channels": [c.payload() for c in self.channels.values() if not c.is_thread],
            "threads": [c.payload() for c in self.channels.values() if c.is_thread],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
        }


def permissions_in(guild: Guild, member: Member, channel: Channel | None) -> int:
    """Discord's permission algorithm: base from roles, then @everyone/role/member overwrites."""
    if member.user.id == guild.owner_id:
        return ALL_PERMISSIONS
    everyone = guild.roles[guild.id]
    base = everyone.permissions
    for role_id in member.roles:
        if role_id in guild.roles:
            base |= guild.roles[role_id].permissions
    if base & ADMINISTRATOR:
        return ALL_PERMISSIONS
    if channel is None:
        return base
    source = guild.channels[channel.parent_id] if channel.is_thread and channel.parent_id else channel
    overwrites = {o.id: o for o in source.overwrites}
    perms = base
    if guild.id in overwrites:
        perms = (perms & ~overwrites[guild.id].deny) | overwrites[guild.id].allow
    allow = deny = 0
    for role_id in member.roles:
        if role_id in overwrites:
            allow |= overwrites[role_id].allow
            deny |= overwrites[role_id].deny
    perms = (perms & ~deny) | allow
    if member.user.id in overwrites:
        perms = (perms & ~overwrites[member.user.id].deny) | overwrites[member.user.id].allow
    if not perms & VIEW_CHANNEL:
        return 0
    return perms


# -- records the tests inspect ------------------------------------------------------------------


@dataclass
class Posted:
    """A message the bot created (channel message, forum starter message or followup)."""

    id: str
    channel_id: str
    body: dict[str, Any]
    thread_name: str | None = None


@dataclass
class InteractionRecord:
    """One pushed interaction and everything the bot answered to it, in order."""

    id: str
    token: str
    payload: dict[str, Any]
    created: float
    callbacks: list[dict[str, Any]] = field(default_factory=list)
    followups: list[dict[str, Any]] = field(default_factory=list)
    edits: list[dict[str, Any]] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def messages(self) -> list[dict[str, Any]]:
        """Every message body the user saw: callback data (types 4 and 7), then followups."""
        bodies = [c.get("data") or {} for c in self.callbacks if c["type"] in (4, 7)]
        return bodies + self.followups

    def ephemeral(self) -> bool:
        first = self.callbacks[0] if self.callbacks else {}
        return bool(((first.get("data") or {}).get("flags") or 0) & EPHEMERAL)

    def text(self) -> str:
        return "\n".join(m.get("content") or "" for m in self.messages)


@dataclass
class Fault:
    status: int
    code: int
    message: str
    times: int | None = None  # None: every time
    retry_after: float = 0.0
    is_global: bool = False


_FAULT_MESSAGES = {
    50001: "Missing Access",
    50013: "Missing Permissions",
    10003: "Unknown Channel",
    0: "You are being rate limited.",
    500: "Internal Server Error",
}


class _GatewaySession:
    """One websocket connection; compresses with zlib-stream when the client asked for it."""

    def __init__(self, ws: web.WebSocketResponse, compress: bool) -> None:
        self.ws = ws
        self.sequence = 0
        self.identified = False
        self.session_id = snowflake()
        self._zlib = zlib.compressobj() if compress else None

    async def send(self, op: int, data: Any, event: str | None = None) -> None:
        sequence = None
        if op == 0:
            self.sequence += 1
            sequence = self.sequence
        text = json.dumps({"op": op, "d": data, "s": sequence, "t": event})
        if self._zlib is None:
            await self.ws.send_str(text)
        else:
            await self.ws.send_bytes(self._zlib.compress(text.encode()) + self._zlib.flush(zlib.Z_SYNC_FLUSH))


# -- the server ---------------------------------------------------------------------------------


class FakeDiscord:
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
        self._sessions: list[_GatewaySession] = []
        self._message_event = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.port = port

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
        app.router.add_post(f"{api}/webhooks/{{app}}/{{token}}", self._followup)
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
        text = message or _FAULT_MESSAGES.get(code, "Error")
        self.faults.setdefault(channel_id, []).append(Fault(status, code, text, times))

    def drop_answers(self, channel_id: str, times: int = 1) -> None:
        """The next `times` posts to `channel_id` are stored, then the connection is closed before
        the answer: to the client the message may or may not exist."""
        self.dropped_answers[channel_id] = times

    def rate_limit(
        self, channel_id: str, retry_after: float, *, times: int = 1, is_global: bool = False
    ) -> None:
        """Answer the next `times` posts to `channel_id` with 429 and this retry_after."""
        fault = Fault(429, 0, _FAULT_MESSAGES[0], times, retry_after=retry_after, is_global=is_global)
        self.faults.setdefault(channel_id, []).append(fault)

    def permissions(self, guild: Guild, user_id: str, channel: Channel | None) -> int:
        return permissions_in(guild, guild.members[user_id], channel)

    # -- interactions -----------------------------------------------------------------------

    def command_id(self, name: str, guild_id: str | None = None) -> tuple[str, str | None]:
        """The id Discord gave a synced command (guild commands first); KeyError if never synced."""
        if guild_id is not None:
            for command in self.guild_commands.get(guild_id, []):
                if command["name"] == name:
                    return command["id"], guild_id
        for command in self.global_commands:
            if command["name"] == name:
                return command["id"], None
        raise KeyError(f"command {name!r} was never synced")

    def registered(self, name: str, guild_id: str | None = None) -> dict[str, Any]:
        pool = self.guild_commands.get(guild_id, []) if guild_id else self.global_commands
        return next(c for c in pool if c["name"] == name)

    def slash(
        self,
        user: User,
        channel: Channel,
        command: str,
        subcommand: str | None = None,
        options: dict[str, Any] | None = None,
        *,
        locale: str = "en-US",
        focused: str | None = None,
    ) -> dict[str, Any]:
        """An APPLICATION_COMMAND (or autocomplete, with `focused`) interaction as Discord sends it."""
        command_id, command_guild = self.command_id(command, channel.guild_id)
        registered = self.registered(command, command_guild)
        spec = (
            registered["options"]
            if subcommand is None
            else next(o["options"] for o in registered["options"] if o["name"] == subcommand)
        )
        values: list[dict[str, Any]] = []
        resolved: dict[str, Any] = {}
        for name, value in (options or {}).items():
            option = next((o for o in spec if o["name"] == name), None)
            if option is None:
                raise KeyError(f"/{command} {subcommand or ''} has no option {name!r}")
            if option["type"] == 7:
                target = value if isinstance(value, Channel) else self.channels[str(value)]
                resolved.setdefault("channels", {})[target.id] = self._resolved_channel(user, target)
                value = target.id
            entry: dict[str, Any] = {"name": name, "type": option["type"], "value": value}
            if focused == name:
                entry["focused"] = True
            values.append(entry)
        data: dict[str, Any] = {"id": command_id, "name": command, "type": 1}
        if command_guild:
            data["guild_id"] = command_guild
        if subcommand is None:
            data["options"] = values
        else:
            data["options"] = [{"name": subcommand, "type": 1, "options": values}]
        if resolved:
            data["resolved"] = resolved
        return self._interaction(4 if focused else 2, user, channel, data, locale=locale)

    def select(
        self,
        user: User,
        channel: Channel,
        message: dict[str, Any],
        values: list[str],
        *,
        locale: str = "en-US",
        forged_custom_id: str | None = None,
    ) -> dict[str, Any]:
        """A MESSAGE_COMPONENT interaction: `user` submitted the first select menu of `message`.
        `forged_custom_id` replaces the menu's id, as a modified client could."""
        menu = next(c for row in message["components"] for c in row["components"] if c["type"] == 3)
        allowed = {o["value"] for o in menu["options"]}
        if not set(values) <= allowed or not menu.get("min_values", 1) <= len(values) <= menu.get(
            "max_values", 1
        ):
            raise ValueError(f"Discord would not let a user submit {values!r} in {menu!r}")
        custom_id = forged_custom_id or menu["custom_id"]
        data = {"custom_id": custom_id, "component_type": 3, "values": values}
        shown = dict(message, id=message.get("id") or snowflake(), channel_id=channel.id)
        return self._interaction(3, user, channel, data, locale=locale, message=self._message(shown))

    def _resolved_channel(self, user: User, channel: Channel) -> dict[str, Any]:
        guild = self.guilds[channel.guild_id] if channel.guild_id else None
        perms = self.permissions(guild, user.id, channel) if guild else ALL_PERMISSIONS
        data: dict[str, Any] = {
            "id": channel.id,
            "name": channel.name,
            "type": channel.type,
            "permissions": str(perms),
            "parent_id": channel.parent_id,
        }
        if channel.is_thread:
            full = channel.payload()
            data.update(
                owner_id=full["owner_id"],
                member_count=full["member_count"],
                message_count=full["message_count"],
                thread_metadata=full["thread_metadata"],
            )
        return data

    def _interaction(
        self,
        type: int,
        user: User,
        channel: Channel,
        data: dict[str, Any],
        *,
        locale: str,
        message: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "id": snowflake(),
            "application_id": self.application_id,
            "type": type,
            "data": data,
            "channel_id": channel.id,
            "channel": channel.payload(),
            "token": f"interaction-token-{snowflake()}",
            "version": 1,
            "locale": locale,
            "entitlements": [],
            "attachment_size_limit": 10 * 1024 * 1024,
            "authorizing_integration_owners": {},
        }
        if message is not None:
            payload["message"] = message
        if channel.guild_id:
            guild = self.guilds[channel.guild_id]
            payload.update(
                guild_id=guild.id,
                guild={"id": guild.id, "locale": "en-US", "features": []},
                guild_locale="en-US",
                member=guild.members[user.id].payload(self.permissions(guild, user.id, channel)),
                app_permissions=str(self.permissions(guild, self.bot.id, channel)),
                context=0,
            )
            payload["authorizing_integration_owners"] = {"0": guild.id}
        else:
            payload.update(user=user.payload(), app_permissions=str(ALL_PERMISSIONS), context=1)
            payload["authorizing_integration_owners"] = {"0": self.owner.id}
        return payload

    async def interact(self, payload: dict[str, Any]) -> InteractionRecord:
        """Dispatch INTERACTION_CREATE to the connected bot; the record collects its answers."""
        record = InteractionRecord(payload["id"], payload["token"], payload, time.monotonic())
        self.interactions[record.id] = record
        await self.dispatch("INTERACTION_CREATE", payload)
        return record

    async def answered(
        self, record: InteractionRecord, messages: int = 1, timeout: float = 5.0
    ) -> InteractionRecord:
        """Wait until the bot acknowledged `record` and `messages` message bodies are visible."""

        def done() -> bool:
            if not record.callbacks:
                return False
            return record.callbacks[0]["type"] in (6, 8) or len(record.messages) >= messages

        try:
            async with asyncio.timeout(timeout):
                while not done():
                    record.changed.clear()
                    await record.changed.wait()
        except TimeoutError:
            raise AssertionError(f"interaction {record.id} not answered within {timeout:g} s") from None
        return record

    async def wait_posted(self, count: int, timeout: float = 5.0) -> list[Posted]:
        try:
            async with asyncio.timeout(timeout):
                while len(self.posted) < count:
                    self._message_event.clear()
                    await self._message_event.wait()
        except TimeoutError:
            raise AssertionError(f"{len(self.posted)} of {count} posts within {timeout:g} s") from None
        return self.posted

    # -- gateway ----------------------------------------------------------------------------

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        sessions = [s for s in self._sessions if s.identified]
        if not sessions:
            raise RuntimeError(f"no bot is connected to receive {event}")
        for session in sessions:
            await session.send(0, data, event)

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        self.gateway_connects.append(str(request.rel_url))
        if request.query.get("v") != "10" or request.query.get("encoding") != "json":
            raise web.HTTPBadRequest(text="gateway needs v=10&encoding=json")
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        session = _GatewaySession(ws, request.query.get("compress") == "zlib-stream")
        self._sessions.append(session)
        try:
            await session.send(10, {"heartbeat_interval": 41250})
            async for message in ws:
                if message.type != WSMsgType.TEXT:
                    break
                await self._gateway_message(session, json.loads(message.data))
        finally:
            self._sessions.remove(session)
        return ws

    async def _gateway_message(self, session: _GatewaySession, message: dict[str, Any]) -> None:
        op, data = message.get("op"), message.get("d")
        if op == 1:
            await session.send(11, None)
        elif op == 2:
            self.identify_payloads.append(data)
            if data.get("token") != self.token:
                await session.ws.close(code=4004, message=b"Authentication failed.")
                return
            if data.get("intents", 0) & PRIVILEGED_INTENTS:
                await session.ws.close(code=4014, message=b"Disallowed intent(s).")
                return
            await self._ready(session)
        elif op == 6:
            if data.get("token") != self.token:
                await session.ws.close(code=4004, message=b"Authentication failed.")
                return
            session.identified = True
            await session.send(0, {}, "RESUMED")

    async def _ready(self, session: _GatewaySession) -> None:
        mine = [g for g in self.guilds.values() if self.bot.id in g.members]
        await session.send(
            0,
            {
                "v": 10,
                "user": self.bot.payload() | {"verified": True, "mfa_enabled": False, "flags": 0},
                "guilds": [{"id": g.id, "unavailable": True} for g in mine],
                "session_id": session.session_id,
                "resume_gateway_url": self.resume_gateway_url or self.gateway_url,
                "application": {"id": self.application_id, "flags": 0},
            },
            "READY",
        )
        session.identified = True
        for guild in mine:
            await session.send(0, guild.payload(self.bot.id), "GUILD_CREATE")

    # -- REST -------------------------------------------------------------------------------

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        # Interaction callbacks and followups are authorised by the interaction token in the URL.
        unauthenticated = request.path.startswith((f"{API_PREFIX}/interactions/", f"{API_PREFIX}/webhooks/"))
        needs_token = request.path.startswith(API_PREFIX) and not unauthenticated
        if needs_token and request.headers.get("Authorization") != f"Bot {self.token}":
            response: web.StreamResponse = _error(401, 0, "401: Unauthorized")
            self.requests.append((request.method, request.path, response.status))
            return response
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            response = exc
        if request.path.startswith(API_PREFIX) and response.status < 400:
            self._rate_headers(request, response)
        self.requests.append((request.method, request.path, response.status))
        return response

    def _rate_headers(self, request: web.Request, response: web.StreamResponse) -> None:
        route = re.sub(r"/\d{15,}", "/:id", request.path, count=0)
        bucket = f"{request.method}{route}"
        now = time.monotonic()
        started, used = self._buckets.get(bucket, (now, 0))
        if now - started >= 1.0:
            started, used = now, 0
        used += 1
        self._buckets[bucket] = (started, used)
        reset_after = max(0.0, 1.0 - (now - started))
        response.headers["X-RateLimit-Limit"] = str(self.route_limit)
        response.headers["X-RateLimit-Remaining"] = str(max(0, self.route_limit - used))
        response.headers["X-RateLimit-Reset"] = f"{time.time() + reset_after:.3f}"
        response.headers["X-RateLimit-Reset-After"] = f"{reset_after:.3f}"
        response.headers["X-RateLimit-Bucket"] = f"{abs(hash(bucket)):x}"

    async def _get_gateway(self, request: web.Request) -> web.Response:
        return _json({"url": self.gateway_url})

    async def _get_gateway_bot(self, request: web.Request) -> web.Response:
        return _json(
            {
                "url": self.gateway_url,
                "shards": 1,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 999,
                    "reset_after": 0,
                    "max_concurrency": 1,
                },
            }
        )

    async def _get_me(self, request: web.Request) -> web.Response:
        return _json(self.bot.payload() | {"verified": True, "mfa_enabled": False, "flags": 0})

    async def _get_application(self, request: web.Request) -> web.Response:
        return _json(
            {
                "id": self.application_id,
                "name": "digestbot",
                "icon": None,
                "description": "",
                "bot_public": False,
                "bot_require_code_grant": False,
                "owner": self.owner.payload(),
                "verify_key": "0" * 64,
                "team": None,
                "flags": 0,
                "bot": self.bot.payload(),
                "interactions_endpoint_url": None,
            }
        )

    async def _put_global_commands(self, request: web.Request) -> web.Response:
        if request.match_info["app"] != self.application_id:
            return _error(403, 50001, "Missing Access")
        commands, problems = _validate_commands(await request.json(), self.application_id, None)
        if problems:
            return _invalid(problems)
        self.global_commands = commands
        return _json(commands)

    async def _get_global_commands(self, request: web.Request) -> web.Response:
        return _json(self.global_commands)

    async def _put_guild_commands(self, request: web.Request) -> web.Response:
        guild_id = request.match_info["guild"]
        guild = self.guilds.get(guild_id)
        if (
            request.match_info["app"] != self.application_id
            or guild is None
            or self.bot.id not in guild.members
        ):
            return _error(403, 50001, "Missing Access")
        commands, problems = _validate_commands(await request.json(), self.application_id, guild_id)
        if problems:
            return _invalid(problems)
        self.guild_commands[guild_id] = commands
        return _json(commands)

    async def _get_guild_commands(self, request: web.Request) -> web.Response:
        return _json(self.guild_commands.get(request.match_info["guild"], []))

    def _visible_channel(self, channel_id: str) -> tuple[Channel | None, web.Response | None]:
        """The channel if the bot can see it, else the error Discord would answer with."""
        channel = self.channels.get(channel_id)
        if channel is None:
            return None, _error(404, 10003, "Unknown Channel")
        if channel.guild_id is None:
            return channel, None
        guild = self.guilds[channel.guild_id]
        if (
            self.bot.id not in guild.members
            or not self.permissions(guild, self.bot.id, channel) & VIEW_CHANNEL
        ):
            return None, _error(403, 50001, "Missing Access")
        return channel, None

    async def _get_channel(self, request: web.Request) -> web.Response:
        channel, error = self._visible_channel(request.match_info["channel"])
        return error or _json(channel.payload())  # type: ignore[union-attr]

    async def _get_guild_channels(self, request: web.Request) -> web.Response:
        guild = self.guilds.get(request.match_info["guild"])
        if guild is None or self.bot.id not in guild.members:
            return _error(403, 50001, "Missing Access")
        return _json([c.payload() for c in guild.channels.values() if not c.is_thread])

    async def _get_guild_roles(self, request: web.Request) -> web.Response:
        guild = self.guilds.get(request.match_info["guild"])
        if guild is None or self.bot.id not in guild.members:
            return _error(403, 50001, "Missing Access")
        return _json(guild.payload(self.bot.id)["roles"])

    async def _get_guild_member(self, request: web.Request) -> web.Response:
        guild = self.guilds.get(request.match_info["guild"])
        if guild is None or self.bot.id not in guild.members:
            return _error(403, 50001, "Missing Access")
        member = guild.members.get(request.match_info["user"])
        if member is None:
            return _error(404, 10007, "Unknown Member")
        return _json(member.payload())

    def _fault(self, channel_id: str) -> web.Response | None:
        for fault in self.faults.get(channel_id, []):
            if fault.times is not None:
                if fault.times <= 0:
                    continue
                fault.times -= 1
            if fault.status == 429:
                return _rate_limited(fault.retry_after, fault.is_global)
            return _error(fault.status, fault.code, fault.message)
        return None

    def _may_post(self, channel: Channel, needed: int) -> web.Response | None:
        if channel.guild_id is None:
            return None
        perms = self.permissions(self.guilds[channel.guild_id], self.bot.id, channel)
        if not perms & needed:
            return _error(403, 50013, "Missing Permissions")
        return None

    async def _post_message(self, request: web.Request) -> web.Response:
        channel_id = request.match_info["channel"]
        fault = self._fault(channel_id)
        if fault is not None:
            return fault
        channel, error = self._visible_channel(channel_id)
        if error is not None:
            return error
        assert channel is not None
        if channel.type == FORUM:
            return _error(400, 50008, "Cannot send messages in a non-text channel")
        needed = SEND_MESSAGES_IN_THREADS if channel.is_thread else SEND_MESSAGES
        denied = self._may_post(channel, needed)
        if denied is not None:
            return denied
        body = await request.json()
        problems = check_create_message(body)
        if problems:
            return _invalid(problems)
        answer = _json(self._record(channel, body))
        if self.dropped_answers.get(channel_id, 0) > 0:
            self.dropped_answers[channel_id] -= 1
            assert request.transport is not None
            request.transport.close()
        return answer

    async def _post_forum_thread(self, request: web.Request) -> web.Response:
        channel_id = request.match_info["channel"]
        fault = self._fault(channel_id)
        if fault is not None:
            return fault
        forum, error = self._visible_channel(channel_id)
        if error is not None:
            return error
        assert forum is not None and forum.guild_id is not None
        if forum.type != FORUM:
            return _invalid(["type: Only forum and media channels take a message with a new thread."])
        denied = self._may_post(forum, SEND_MESSAGES)
        if denied is not None:
            return denied
        body = await request.json()
        name = body.get("name")
        problems = (
            [] if isinstance(name, str) and 1 <= len(name) <= 100 else ["name: must be 1-100 characters"]
        )
        message = body.get("message")
        if not isinstance(message, dict):
            problems.append("message: This field is required")
        else:
            problems += [f"message.{p}" if ": " in p else p for p in check_create_message(message)]
        if problems:
            return _invalid(problems)
        thread = self.add_channel(self.guilds[forum.guild_id], name, PUBLIC_THREAD, parent=forum)
        starter = self._record(thread, message, thread_name=name, message_id=thread.id)
        await self._maybe_dispatch("THREAD_CREATE", thread.payload() | {"newly_created": True})
        return _json(thread.payload() | {"message": starter})

    def _record(
        self,
        channel: Channel,
        body: dict[str, Any],
        *,
        thread_name: str | None = None,
        message_id: str | None = None,
    ) -> dict[str, Any]:
        posted = Posted(message_id or snowflake(), channel.id, body, thread_name)
        self.posted.append(posted)
        self._message_event.set()
        return self._message(dict(body, id=posted.id, channel_id=channel.id, guild_id=channel.guild_id))

    def _message(self, body: dict[str, Any]) -> dict[str, Any]:
        """A message object as Discord returns it, from a Create Message body."""
        message = {
            "id": body.get("id") or snowflake(),
            "channel_id": body.get("channel_id"),
            "author": self.bot.payload(),
            "content": body.get("content") or "",
            "timestamp": _now(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": [dict(e, type="rich") for e in body.get("embeds") or []],
            "pinned": False,
            "type": 0,
            "flags": body.get("flags") or 0,
            "components": body.get("components") or [],
        }
        if body.get("guild_id"):
            message["guild_id"] = body["guild_id"]
        return message

    async def _maybe_dispatch(self, event: str, data: dict[str, Any]) -> None:
        if any(s.identified for s in self._sessions):
            await self.dispatch(event, data)

    # -- interaction responses --------------------------------------------------------------

    def _live(self, token: str) -> InteractionRecord | None:
        return next((r for r in self.interactions.values() if r.token == token), None)

    async def _interaction_callback(self, request: web.Request) -> web.Response:
        record = self.interactions.get(request.match_info["id"])
        if record is None or record.token != request.match_info["token"]:
            return _error(404, 10062, "Unknown interaction")
        if time.monotonic() - record.created > self.interaction_deadline:
            return _error(404, 10062, "Unknown interaction")
        if record.callbacks:
            return _error(400, 40060, "Interaction has already been acknowledged.")
        body = await request.json()
        problems = _validate_callback(body)
        if problems:
            return _invalid(problems)
        record.callbacks.append(body)
        record.changed.set()
        data = body.get("data") or {}
        answer: dict[str, Any] = {
            "interaction": {
                "id": record.id,
                "type": record.payload["type"],
                "response_message_loading": body["type"] == 5,
                "response_message_ephemeral": bool((data.get("flags") or 0) & EPHEMERAL),
            }
        }
        if body["type"] in (4, 5, 7):
            message = self._message(dict(data, channel_id=record.payload["channel_id"]))
            answer["interaction"]["response_message_id"] = message["id"]
            answer["resource"] = {"type": body["type"], "message": message}
        if request.query.get("with_response") in ("1", "true"):
            return _json(answer)
        return web.Response(status=204)

    async def _followup(self, request: web.Request) -> web.Response:
        record = self._live(request.match_info["token"])
        if record is None or request.match_info["app"] != self.application_id:
            return _error(404, 10015, "Unknown Webhook")
        if not record.callbacks:
            return _error(404, 10015, "Unknown Webhook")
        body = await request.json()
        problems = check_create_message(body) + _validate_components(body.get("components") or [])
        if problems:
            return _invalid(problems)
        record.followups.append(body)
        record.changed.set()
        return _json(self._message(dict(body, channel_id=record.payload["channel_id"])))

    async def _edit_original(self, request: web.Request) -> web.Response:
        record = self._live(request.match_info["token"])
        if record is None or not record.callbacks:
            return _error(404, 10015, "Unknown Webhook")
        body = await request.json()
        record.edits.append(body)
        record.changed.set()
        return _json(self._message(dict(body, channel_id=record.payload["channel_id"])))

    async def _get_original(self, request: web.Request) -> web.Response:
        record = self._live(request.match_info["token"])
        if record is None or not record.callbacks:
            return _error(404, 10015, "Unknown Webhook")
        data = (record.callbacks[0].get("data") or {}) | (record.edits[-1] if record.edits else {})
        return _json(self._message(dict(data, channel_id=record.payload["channel_id"])))


# -- validation helpers -------------------------------------------------------------------------


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """JSON exactly as Discord labels it: `Content-Type: application/json`, no charset (discord.py
    only parses bodies with that exact header)."""
    return web.Response(
        body=json.dumps(data).encode(),
        status=status,
        headers={"Content-Type": "application/json", **(headers or {})},
    )


def _error(status: int, code: int, message: str) -> web.Response:
    return _json({"message": message, "code": code}, status=status)


def _invalid(problems: list[str]) -> web.Response:
    """400 Invalid Form Body (50035) with Discord's nested `errors`, or 50006 for an empty message."""
    status, body = error_response(problems)
    return _json(body, status=status)


def _rate_limited(retry_after: float, is_global: bool) -> web.Response:
    headers = {
        "Retry-After": str(max(1, round(retry_after))),
        "X-RateLimit-Limit": "5",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": f"{time.time() + retry_after:.3f}",
        "X-RateLimit-Reset-After": f"{retry_after:.3f}",
        "X-RateLimit-Bucket": "fakebucket",
        "X-RateLimit-Scope": "global" if is_global else "user",
        "Via": "1.1 google",
    }
    if is_global:
        headers["X-RateLimit-Global"] = "true"
    body = {
        "message": "You are being rate limited.",
        "retry_after": retry_after,
        "global": is_global,
        "code": 0,
    }
    return _json(body, status=429, headers=headers)


def _validate_callback(body: Any) -> list[str]:
    if not isinstance(body, dict) or body.get("type") not in (1, 4, 5, 6, 7, 8, 9):
        return ["type: unknown interaction callback type"]
    data = body.get("data") or {}
    if body["type"] == 8:
        choices = data.get("choices")
        if not isinstance(choices, list) or len(choices) > 25:
            return ["data.choices: at most 25 choices"]
        return [
            f"data.choices.{i}: name and value must be 1-100 characters"
            for i, c in enumerate(choices)
            if not (1 <= len(str(c.get("name", ""))) <= 100 and 1 <= len(str(c.get("value", ""))) <= 100)
        ]
    components = _validate_components(data.get("components") or [])
    if body["type"] == 4 or (body["type"] == 7 and ("content" in data or "embeds" in data)):
        return check_create_message(data) + components
    return components


def _validate_components(rows: list[dict[str, Any]]) -> list[str]:
    problems: list[str] = []
    if len(rows) > 5:
        problems.append("components: at most 5 action rows")
    for r, row in enumerate(rows):
        for c, component in enumerate(row.get("components", [])):
            where = f"components.{r}.components.{c}"
            custom_id = component.get("custom_id", "")
            if not 1 <= len(custom_id) <= 100:
                problems.append(f"{where}.custom_id: must be 1-100 characters")
            if component.get("type") == 3:
                options = component.get("options", [])
                if not 1 <= len(options) <= 25:
                    problems.append(f"{where}.options: must have 1-25 options")
                if component.get("max_values", 1) > len(options):
                    problems.append(f"{where}.max_values: more than the options")
                for o, option in enumerate(options):
                    if (
                        not 1 <= len(option.get("label", "")) <= 100
                        or not 1 <= len(option.get("value", "")) <= 100
                    ):
                        problems.append(f"{where}.options.{o}: label and value must be 1-100 characters")
    return problems


def _validate_commands(
    commands: Any, application_id: str, guild_id: str | None
) -> tuple[list[dict], list[str]]:
    """Check a bulk overwrite like Discord does (names, lengths, localisations) and assign ids."""
    problems: list[str] = []
    if not isinstance(commands, list) or len(commands) > 100:
        return [], ["commands: at most 100"]
    registered = []
    for i, command in enumerate(commands):
        problems += _check_named(command, f"{i}")
        stored = dict(command, id=snowflake(), application_id=application_id, version=snowflake())
        stored.setdefault("type", 1)
        stored.setdefault("options", [])
        stored.setdefault("default_member_permissions", None)
        if stored["default_member_permissions"] is not None:  # Discord answers with a string
            stored["default_member_permissions"] = str(stored["default_member_permissions"])
        if guild_id:
            stored["guild_id"] = guild_id
        registered.append(stored)
    return registered, problems


def _check_named(item: dict[str, Any], where: str) -> list[str]:
    problems = []
    name = item.get("name", "")
    if not _NAME.match(name) or name != name.lower():
        problems.append(f"{where}.name: invalid command name {name!r}")
    if item.get("type", 1) in (1, None) and not 1 <= len(item.get("description", "")) <= 100:
        problems.append(f"{where}.description: must be 1-100 characters")
    for key in ("name_localizations", "description_localizations"):
        for locale, text in (item.get(key) or {}).items():
            if locale not in _LOCALES:
                problems.append(f"{where}.{key}.{locale}: unknown locale")
            limit = 32 if key == "name_localizations" else 100
            if not 1 <= len(text) <= limit:
                problems.append(f"{where}.{key}.{locale}: must be 1-{limit} characters")
            if key == "name_localizations" and (not _NAME.match(text) or text != text.lower()):
                problems.append(f"{where}.{key}.{locale}: invalid name {text!r}")
    options = item.get("options") or []
    if len(options) > 25:
        problems.append(f"{where}.options: at most 25")
    for j, option in enumerate(options):
        problems += _check_named(dict(option, type=1), f"{where}.options.{j}")
        for k, choice in enumerate(option.get("choices") or []):
            if not 1 <= len(choice.get("name", "")) <= 100:
                problems.append(f"{where}.options.{j}.choices.{k}.name: must be 1-100 characters")
    return problems
