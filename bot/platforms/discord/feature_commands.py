"""`/digest webhook on|off` and `/digest mention CATEGORY [@role]`: Discord-only reader features.

They act on the channel they are used in, for members with Manage Channels there (checked on
every use, like the table's commands), on a channel that is subscribed. Replies follow the chat's
language rule and are shown to the channel (they change its settings), never pinging anyone.
The same object adds the features to /digest status and checks a forum's tags at subscribe time.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import replace
from typing import Any

import discord
from discord import app_commands

from bot.commands.args import resolve_categories
from bot.commands.messages import text
from bot.commands.model import ChatRef, Reply
from bot.commands.service import CommandService
from bot.platforms.discord import permissions, texts
from bot.platforms.discord.bridge import Bridge, ChannelOption, CommandTarget
from bot.platforms.discord.channels import MESSAGE_CHANNELS
from bot.platforms.discord.commands import Channel
from bot.platforms.discord.config import DiscordConfig
from bot.platforms.discord.features import ChatFeatures, FeatureSettings
from bot.platforms.discord.forum_tags import missing_tag, tag_names
from bot.platforms.discord.replies import NO_MENTIONS, escape, respond
from bot.platforms.discord.spec import DM
from bot.platforms.discord.translator import ls
from bot.platforms.discord.webhooks import Webhooks
from bot.store.db import StoreUnavailable


class FeatureCommands:
    """The webhook and mention subcommands, the status lines and the forum-tag check."""

    def __init__(
        self, bridge: Bridge, settings: FeatureSettings, webhooks: Webhooks, config: DiscordConfig
    ) -> None:
        self.bridge = bridge
        self.service: CommandService = bridge.service
        self.settings = settings
        self.webhooks = webhooks
        self.config = config

    # -- commands ---------------------------------------------------------------------------

    def commands(self) -> list[app_commands.Command[Any, ..., None]]:
        """Fresh app commands for one tree's /digest group."""

        @app_commands.choices(
            state=[
                app_commands.Choice(name=ls("choice.on"), value="on"),
                app_commands.Choice(name=ls("choice.off"), value="off"),
            ]
        )
        @app_commands.rename(state=ls("option.state"), channel=ls("option.channel"))
        @app_commands.describe(state=ls("option.state.description"), channel=ls("option.channel.description"))
        async def webhook(
            interaction: discord.Interaction, state: str, channel: Channel | None = None
        ) -> None:
            await self._guarded(interaction, self.webhook(interaction, state, channel))

        @app_commands.rename(
            category=ls("option.category"), role=ls("option.role"), channel=ls("option.channel")
        )
        @app_commands.describe(
            category=ls("option.category.description"),
            role=ls("option.role.description"),
            channel=ls("option.channel.description"),
        )
        async def mention(
            interaction: discord.Interaction,
            category: str,
            role: discord.Role | None = None,
            channel: Channel | None = None,
        ) -> None:
            await self._guarded(interaction, self.mention(interaction, category, role, channel))

        on_off: app_commands.Command[Any, ..., None] = app_commands.Command(
            name=ls("webhook"), description=ls("webhook.description"), callback=webhook
        )
        roles: app_commands.Command[Any, ..., None] = app_commands.Command(
            name=ls("mention"), description=ls("mention.description"), callback=mention
        )

        async def complete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
            return self.bridge.category_choices(current, interaction.locale.value)

        roles.autocomplete("category")(complete)
        return [on_off, roles]

    async def _start(
        self, interaction: discord.Interaction, channel: ChannelOption | None
    ) -> tuple[CommandTarget, str, ChatFeatures] | None:
        """The channel (the `channel` option, else this one), the reply language and the channel's
        features, or None after answering a refusal."""
        if not await self.bridge.admitted(interaction):
            return None
        target = self.bridge.target(interaction, channel)
        client_language = interaction.locale.value
        if target is None or target.chat.kind == DM or interaction.guild is None:
            language = self.bridge.language(interaction)
            await self._answer(interaction, texts.text("server_only", language), error=True)
            return None
        language = await self.service.reply_language(target.chat, client_language)
        where = f"<#{target.chat.chat_id}>"
        if not permissions.can_manage(target.caller_permissions):
            await self._answer(interaction, texts.text("not_manager", language, channel=where), error=True)
            return None
        features = await self.settings.get(target.chat.chat_id)
        if features.subscription_id is None:
            await self._answer(interaction, texts.text("not_subscribed", language, channel=where), error=True)
            return None
        return target, language, features

    async def webhook(
        self, interaction: discord.Interaction, state: str, channel: ChannelOption | None
    ) -> None:
        started = await self._start(interaction, channel)
        if started is None:
            return
        target, language, features = started
        chat = target.chat
        where = f"<#{chat.chat_id}>"
        old = features.webhook
        assert features.subscription_id is not None
        if state != "on":
            if old is not None:
                await self.webhooks.delete(interaction.client, old)
                await self.settings.set_webhook(features.subscription_id, None)
            await self._answer(interaction, texts.text("webhook_off", language, channel=where))
            return
        if target.channel_type not in MESSAGE_CHANNELS:
            await self._answer(
                interaction, texts.text("webhook_channel", language, channel=where), error=True
            )
            return
        rights = await permissions.bot_permissions(interaction, int(chat.chat_id))
        if not (rights.administrator or rights.manage_webhooks):
            await self._answer(
                interaction, texts.text("webhook_permission", language, channel=where), error=True
            )
            return
        if old is None or old.fallback is not None:
            if old is not None:
                await self.webhooks.delete(interaction.client, old)
            try:
                created = await self.webhooks.create(interaction.client, chat.chat_id)
            except discord.Forbidden:
                await self._answer(
                    interaction, texts.text("webhook_permission", language, channel=where), error=True
                )
                return
            except discord.HTTPException as exc:
                reason = f"{exc.status} {exc.code}: {exc.text}"[:200]
                await self._answer(
                    interaction,
                    texts.text("webhook_refused", language, channel=where, reason=reason),
                    error=True,
                )
                return
            await self.settings.set_webhook(features.subscription_id, created)
        await self._answer(
            interaction, texts.text("webhook_on", language, channel=where, name=self.config.webhook.name)
        )

    async def mention(
        self,
        interaction: discord.Interaction,
        category: str,
        role: discord.Role | None,
        channel: ChannelOption | None,
    ) -> None:
        started = await self._start(interaction, channel)
        if started is None:
            return
        target, language, features = started
        vocabulary = self.service.vocabulary
        found = vocabulary.resolve(category)
        if found is None:
            valid = ", ".join(c.id for c in vocabulary)
            await self._answer(
                interaction,
                texts.text("mention_unknown", language, name=category[:50], valid=valid),
                error=True,
            )
            return
        name = found.display(language)
        if role is None:
            await self.settings.set_mention(features, found.id, None)
            await self._answer(interaction, texts.text("mention_off", language, category=name))
            return
        if role.is_default():
            await self._answer(interaction, texts.text("mention_everyone", language), error=True)
            return
        await self.settings.set_mention(features, found.id, str(role.id))
        answer = texts.text("mention_on", language, category=name, role=f"@{role.name}")
        rights = await permissions.bot_permissions(interaction, int(target.chat.chat_id))
        if not role.mentionable and not (rights.administrator or rights.mention_everyone):
            answer += texts.text("mention_silent", language, role=f"@{role.name}")
        await self._answer(interaction, answer)

    async def _guarded(self, interaction: discord.Interaction, handling: Awaitable[None]) -> None:
        """A database that fails gets the service's short "temporarily unavailable" answer."""
        try:
            await handling
        except StoreUnavailable:
            await self._answer(
                interaction, text("unavailable", self.bridge.language(interaction)), error=True
            )

    async def _answer(self, interaction: discord.Interaction, text: str, *, error: bool = False) -> None:
        await respond(interaction, content=escape(text), ephemeral=error, allowed_mentions=NO_MENTIONS)

    # -- hooks into the table's commands ----------------------------------------------------------

    async def status(self, chat: ChatRef, reply: Reply, language: str) -> Reply:
        """/digest status with the channel's webhook and role mentions."""
        if reply.error:
            return reply
        try:
            features = await self.settings.get(chat.chat_id)
        except StoreUnavailable:  # the service's answer stands; the features wait for the database
            return reply
        lines: list[str] = []
        if features.webhook is not None:
            if features.webhook.fallback is None:
                lines.append(texts.text("status_webhook", language, name=self.config.webhook.name))
            else:
                lines.append(
                    texts.text(
                        "status_webhook_fallback",
                        language,
                        reason=texts.fallback_reason(
                            features.webhook.fallback, features.webhook.detail, language
                        ),
                    )
                )
        if features.mentions:
            vocabulary = self.service.vocabulary
            shown = [
                f"{c.display(language) if (c := vocabulary.get(k)) else k} → <@&{role}>"
                for k, role in features.mentions.items()
            ]
            lines.append(texts.text("status_mentions", language, mentions=", ".join(shown)))
        return replace(reply, text="\n".join([reply.text, *lines])) if lines else reply

    def forum_problem(
        self, interaction: discord.Interaction, chat: ChatRef, args: tuple[str, ...], language: str
    ) -> str | None:
        """Why a forum cannot take digest posts with these categories (it requires a tag none of
        them has), or None."""
        forum = interaction.client.get_channel(int(chat.chat_id))
        if not isinstance(forum, discord.ForumChannel):
            return None
        chosen, _unknown = resolve_categories(args, self.service.vocabulary)
        if not missing_tag(forum, chosen, self.service.vocabulary, self.config.forum_tag):
            return None
        return texts.text("forum_needs_tag", language, channel=f"<#{chat.chat_id}>", tags=tag_names(forum))
