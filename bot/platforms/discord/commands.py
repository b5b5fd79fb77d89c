"""The slash commands: one `/digest` group, plus `/latest` and `/status` for every member.

`/digest` carries default_member_permissions = Manage Channels, so Discord shows it only to members
who may change subscriptions (the adapter checks again on use). Discord allows that setting only on
top-level commands, so a subcommand cannot be opened to everyone; `/latest` and `/status` are
therefore also registered as top-level commands without it. All work in servers and in DMs with the
bot; option and command names are localised by `DigestTranslator`.
"""

from __future__ import annotations

import discord
from discord import app_commands

from bot.platforms.discord.bridge import Bridge, category_args, word_args
from bot.platforms.discord.channels import SUBSCRIBABLE
from bot.platforms.discord.permissions import MANAGE
from bot.platforms.discord.translator import ls

CONTEXTS = app_commands.AppCommandContext(guild=True, dm_channel=True, private_channel=False)
INSTALLS = app_commands.AppInstallationType(guild=True, user=False)


class ChannelChoice(app_commands.Transformer):
    """A channel option limited to channels that can take digests; Discord resolves it for us (name,
    type, and the caller's permissions there), so no cache lookup is needed to read it."""

    @property
    def type(self) -> discord.AppCommandOptionType:
        return discord.AppCommandOptionType.channel

    @property
    def channel_types(self) -> list[discord.ChannelType]:
        return list(SUBSCRIBABLE)

    async def transform(
        self,
        interaction: discord.Interaction,
        value: app_commands.AppCommandChannel | app_commands.AppCommandThread,
    ) -> app_commands.AppCommandChannel | app_commands.AppCommandThread:
        return value


Channel = app_commands.Transform[
    app_commands.AppCommandChannel | app_commands.AppCommandThread, ChannelChoice
]
CHANNEL = ls("option.channel.description")


class DigestGroup(app_commands.Group):
    """`/digest ...`: every subscription command, for members with Manage Channels."""

    def __init__(self, bridge: Bridge) -> None:
        self.bridge = bridge
        super().__init__(
            name=ls("digest"),
            description=ls("digest.description"),
            default_permissions=MANAGE,
            allowed_contexts=CONTEXTS,
            allowed_installs=INSTALLS,
        )

    @app_commands.command(name=ls("subscribe"), description=ls("subscribe.description"))
    @app_commands.rename(channel=ls("option.channel"), categories=ls("option.categories"))
    @app_commands.describe(channel=CHANNEL, categories=ls("option.categories.description"))
    async def subscribe(
        self, interaction: discord.Interaction, channel: Channel | None = None, categories: str | None = None
    ) -> None:
        await self.bridge.run(interaction, "subscribe", category_args(categories), channel)

    @subscribe.autocomplete("categories")
    async def _complete_categories(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return self.bridge.category_choices(current, interaction.locale.value)

    @app_commands.command(name=ls("unsubscribe"), description=ls("unsubscribe.description"))
    @app_commands.rename(channel=ls("option.channel"))
    @app_commands.describe(channel=CHANNEL)
    async def unsubscribe(self, interaction: discord.Interaction, channel: Channel | None = None) -> None:
        await self.bridge.run(interaction, "unsubscribe", (), channel)

    @app_commands.command(name=ls("categories"), description=ls("categories.description"))
    @app_commands.rename(channel=ls("option.channel"))
    @app_commands.describe(channel=CHANNEL)
    async def categories(self, interaction: discord.Interaction, channel: Channel | None = None) -> None:
        await self.bridge.run(interaction, "categories", (), channel)

    @app_commands.command(name=ls("keywords"), description=ls("keywords.description"))
    @app_commands.rename(words=ls("option.words"), channel=ls("option.channel"))
    @app_commands.describe(words=ls("option.words.description"), channel=CHANNEL)
    async def keywords(
        self, interaction: discord.Interaction, words: str | None = None, channel: Channel | None = None
    ) -> None:
        await self.bridge.run(interaction, "keywords", word_args(words), channel)

    @app_commands.command(name=ls("schedule"), description=ls("schedule.description"))
    @app_commands.rename(when=ls("option.when"), channel=ls("option.channel"))
    @app_commands.describe(when=ls("option.when.description"), channel=CHANNEL)
    async def schedule(
        self, interaction: discord.Interaction, when: str, channel: Channel | None = None
    ) -> None:
        await self.bridge.run(interaction, "schedule", word_args(when), channel)

    @app_commands.command(name=ls("quiet"), description=ls("quiet.description"))
    @app_commands.rename(hours=ls("option.hours"), channel=ls("option.channel"))
    @app_commands.describe(hours=ls("option.hours.description"), channel=CHANNEL)
    async def quiet(
        self, interaction: discord.Interaction, hours: str, channel: Channel | None = None
    ) -> None:
        await self.bridge.run(interaction, "quiet", word_args(hours), channel)

    @app_commands.command(name=ls("language"), description=ls("language.description"))
    @app_commands.rename(language=ls("option.language"), channel=ls("option.channel"))
    @app_commands.describe(language=ls("option.language.description"), channel=CHANNEL)
    @app_commands.choices(
        language=[
            app_commands.Choice(name=ls("choice.zh"), value="zh"),
            app_commands.Choice(name=ls("choice.en"), value="en"),
        ]
    )
    async def language(
        self, interaction: discord.Interaction, language: str, channel: Channel | None = None
    ) -> None:
        await self.bridge.run(interaction, "language", (language,), channel)

    @app_commands.command(name=ls("latest"), description=ls("latest.description"))
    @app_commands.rename(public=ls("option.public"), channel=ls("option.channel"))
    @app_commands.describe(public=ls("option.public.description"), channel=CHANNEL)
    async def latest(
        self, interaction: discord.Interaction, public: bool = False, channel: Channel | None = None
    ) -> None:
        await self.bridge.run(interaction, "latest", (), channel, public=public)

    @app_commands.command(name=ls("status"), description=ls("status.description"))
    @app_commands.rename(channel=ls("option.channel"))
    @app_commands.describe(channel=CHANNEL)
    async def status(self, interaction: discord.Interaction, channel: Channel | None = None) -> None:
        await self.bridge.run(interaction, "status", (), channel)

    @app_commands.command(name=ls("stats"), description=ls("stats.description"))
    async def stats(self, interaction: discord.Interaction) -> None:
        await self.bridge.run(interaction, "stats")


def all_commands(bridge: Bridge) -> list[app_commands.Group | app_commands.Command]:
    """Fresh command objects for one CommandTree (a command object belongs to a single tree)."""

    @app_commands.command(name=ls("latest"), description=ls("latest.description"))
    @app_commands.rename(public=ls("option.public"))
    @app_commands.describe(public=ls("option.public.description"))
    @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=False)
    @app_commands.allowed_installs(guilds=True, users=False)
    async def latest(interaction: discord.Interaction, public: bool = False) -> None:
        await bridge.run(interaction, "latest", public=public)

    @app_commands.command(name=ls("status"), description=ls("status.description"))
    @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=False)
    @app_commands.allowed_installs(guilds=True, users=False)
    async def status(interaction: discord.Interaction) -> None:
        await bridge.run(interaction, "status")

    return [DigestGroup(bridge), latest, status]
