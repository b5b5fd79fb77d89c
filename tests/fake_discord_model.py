"""What the loopback Discord (fake_discord.py) knows: ids, permission bits, guilds, channels, members
and roles, and the records tests inspect (posts, interactions, injected faults).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import discord
from aiohttp import web

API_PREFIX = "/api/v10"
EPHEMERAL = 1 << 6
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
EMBED_LINKS = 1 << 14
MANAGE_CHANNELS = 1 << 4
ADMINISTRATOR = 1 << 3
SEND_MESSAGES_IN_THREADS = 1 << 38
MANAGE_MESSAGES = 1 << 13
MENTION_EVERYONE = 1 << 17
MANAGE_WEBHOOKS = 1 << 29
MANAGE_THREADS = 1 << 34
REQUIRE_TAG = 1 << 4  # a forum channel flag: every post needs a tag
ALL_PERMISSIONS = (1 << 53) - 1
EVERYONE_DEFAULT = VIEW_CHANNEL | SEND_MESSAGES | SEND_MESSAGES_IN_THREADS | EMBED_LINKS | (1 << 16)
PRIVILEGED_INTENTS = (1 << 1) | (1 << 8) | (1 << 15)

TEXT, DM, NEWS, NEWS_THREAD, PUBLIC_THREAD, PRIVATE_THREAD, FORUM = 0, 1, 5, 10, 11, 12, 15
THREAD_TYPES = frozenset({NEWS_THREAD, PUBLIC_THREAD, PRIVATE_THREAD})
NAME = re.compile(r"^[-_\w]{1,32}$")
# The locales Discord accepts in name_localizations / description_localizations.
LOCALES = frozenset(locale.value for locale in discord.Locale)
_snowflakes = itertools.count(1_310_000_000_000_000_000)


def snowflake() -> str:
    return str(next(_snowflakes))


def now_iso() -> str:
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
    flags: int = 0
    tags: list[dict[str, Any]] = field(default_factory=list)  # a forum's available_tags
    applied_tags: list[str] = field(default_factory=list)  # a forum post's tags

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
            "flags": self.flags,
        }
        if self.is_thread:
            data.update(
                owner_id=self.owner_id,
                message_count=0,
                member_count=1,
                total_message_sent=0,
                applied_tags=list(self.applied_tags),
                thread_metadata={
                    "archived": False,
                    "auto_archive_duration": 1440,
                    "archive_timestamp": now_iso(),
                    "locked": False,
                    "create_timestamp": now_iso(),
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
                available_tags=[dict(tag) for tag in self.tags],
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
            "roles": [role_payload(r) for r in self.roles.values()],
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


def role_payload(role: Role) -> dict[str, Any]:
    return {
        "id": role.id,
        "name": role.name,
        "color": 0,
        "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
        "hoist": False,
        "icon": None,
        "unicode_emoji": None,
        "position": role.position,
        "permissions": str(role.permissions),
        "managed": False,
        "mentionable": False,
        "flags": 0,
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
    webhook_id: str | None = None  # posted through this webhook, not as the bot
    published: bool = False  # crossposted to the announcement channel's followers


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


FAULT_MESSAGES = {
    50001: "Missing Access",
    50013: "Missing Permissions",
    10003: "Unknown Channel",
    0: "You are being rate limited.",
    500: "Internal Server Error",
}


class GatewaySession:
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
