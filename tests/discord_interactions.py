"""Small fakes of discord.py interactions and of the command service, for the Discord unit tests.

The unit tests exercise the bridge, menus, replies and permissions without a gateway; the e2e tests run
the real client against the loopback Discord server instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import discord
from discord import ChannelType, Locale

from bot.commands.budget import CommandBudget
from bot.commands.model import Command, Reply
from bot.core.model import Category, Vocabulary
from bot.platforms.discord import permissions
from bot.platforms.discord.bridge import Bridge

VOCABULARY = Vocabulary(
    [
        Category("robotics", "机器人", "Robotics", aliases=("robots",)),
        Category("jobs", "就业市场", "Jobs"),
        Category("open-source", "开源", "Open Source"),
        Category("other", "其他", "Other"),
    ]
)
OWNER = 4242
MANAGER = discord.Permissions(view_channel=True, send_messages=True, manage_channels=True)
MEMBER = discord.Permissions(view_channel=True, send_messages=True)
BOT_OK = permissions.INVITE_PERMISSIONS


class RecordingService:
    """Stands in for CommandService: records each Command and answers with a canned Reply."""

    def __init__(self, reply: Reply | None = None) -> None:
        self.vocabulary = VOCABULARY
        self.commands: list[Command] = []
        self.reply = reply or Reply("done")

    async def handle(self, command: Command) -> Reply:
        self.commands.append(command)
        return self.reply


class FakeResponse:
    """interaction.response: records the first answer (message, deferral or edit) the bridge gives."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.deferred: dict[str, Any] | None = None
        self.edited: dict[str, Any] | None = None

    def is_done(self) -> bool:
        return bool(self.sent) or self.deferred is not None or self.edited is not None

    async def send_message(self, **kwargs: Any) -> None:
        self.sent.append(kwargs)

    async def defer(self, **kwargs: Any) -> None:
        self.deferred = kwargs

    async def edit_message(self, **kwargs: Any) -> None:
        self.edited = kwargs


class FakeFollowup:
    """interaction.followup: records the answers after the first."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def send(self, **kwargs: Any) -> None:
        self.sent.append(kwargs)


def channel(id: int = 100, type: ChannelType = ChannelType.text, name: str = "news") -> SimpleNamespace:
    """The channel attributes the bridge reads: a text channel #news unless told otherwise."""
    return SimpleNamespace(id=id, type=type, name=name, mention=f"<#{id}>")


@dataclass
class FakeInteraction:
    """The attributes of discord.Interaction the bridge reads, nothing more."""

    channel: Any = field(default_factory=channel)
    permissions: discord.Permissions = MANAGER
    app_permissions: discord.Permissions = BOT_OK
    user: Any = field(default_factory=lambda: SimpleNamespace(id=7, name="alice"))
    guild: Any = None
    locale: Locale = Locale.american_english
    type: discord.InteractionType = discord.InteractionType.application_command
    data: dict[str, Any] = field(default_factory=dict)
    response: FakeResponse = field(default_factory=FakeResponse)
    followup: FakeFollowup = field(default_factory=FakeFollowup)
    client: Any = None

    @property
    def channel_id(self) -> int | None:
        return self.channel.id if self.channel is not None else None

    def answers(self) -> list[dict[str, Any]]:
        return self.response.sent + self.followup.sent


def option(id: int, type: ChannelType, perms: discord.Permissions, name: str = "other") -> SimpleNamespace:
    """What discord.py resolves a channel option to: id, name, type and the caller's permissions."""
    return SimpleNamespace(id=id, type=type, name=name, permissions=perms, mention=f"<#{id}>")


def bridge(service: RecordingService) -> Bridge:
    """The bridge as the platform builds it, over `service`, with OWNER as the bot's owner."""
    roomy = CommandBudget(burst=1000, refill_seconds=1)  # these tests are not about floods
    return Bridge(service, roomy, owners=[OWNER], default_language="zh")  # type: ignore[arg-type]
