"""Interactions in, command-service calls out: the Discord half of "Command in, Reply out".

Decides the chat a command is about (the `channel` option, else the channel it was used in; a DM
subscribes the user), who may manage it (Manage Channels there, checked on every use), whether the
bot can deliver there before subscribing (naming each missing permission), and renders the Reply.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from bot.commands.args import resolve_categories
from bot.commands.budget import CommandBudget, Verdict
from bot.commands.language import choose_language
from bot.commands.model import Caller, ChatRef, Command
from bot.commands.service import CommandService
from bot.platforms.discord import permissions, texts
from bot.platforms.discord.channels import chat_kind, chat_ref
from bot.platforms.discord.menus import CONFIRM_BUTTON, MenuBinding, is_menu, parse_confirm, parse_menu
from bot.platforms.discord.pages import PAGE_BUTTON, PageBinding, page_view, parse_page
from bot.platforms.discord.replies import NO_MENTIONS, escape, respond, send_reply
from bot.platforms.discord.spec import DM, FORUM, GUILD_CHANNEL, PLATFORM

if TYPE_CHECKING:
    from bot.platforms.discord.feature_commands import FeatureCommands

log = logging.getLogger(__name__)
ChannelOption = app_commands.AppCommandChannel | app_commands.AppCommandThread
_LIST_SEPARATORS = re.compile(r"[,，、;；]+")
_PIECE = re.compile(r"^(?P<done>.*[\s,，、;；])?(?P<partial>[^\s,，、;；]*)$", re.S)
# Configuration changes are announced in the channel; lookups, menus and errors only to the caller.
PUBLIC_REPLIES = frozenset({"subscribe", "unsubscribe", "keywords", "schedule", "quiet", "language"})
MAX_CHOICES = 25
CHOICE_LIMIT = 100


@dataclass(frozen=True, slots=True)
class CommandTarget:
    """The chat a command is about, its Discord channel type, and the caller's rights there."""

    chat: ChatRef
    channel_type: discord.ChannelType
    caller_permissions: discord.Permissions


def category_args(text: str | None) -> tuple[str, ...]:
    """The `categories` option as arguments: comma-separated pieces, each resolved whole first (so a
    multi-word name works) and split on spaces by the service otherwise."""
    return tuple(piece.strip() for piece in _LIST_SEPARATORS.split(text or "") if piece.strip())


def word_args(text: str | None) -> tuple[str, ...]:
    return tuple((text or "").split())


class Bridge:
    """Runs slash commands and menu submissions against the command service."""

    def __init__(
        self,
        service: CommandService,
        budget: CommandBudget,
        *,
        owners: Collection[int],
        default_language: str,
    ) -> None:
        self.service = service
        self.budget = budget
        self.owners = frozenset(owners)
        self.default_language = default_language
        self.features: FeatureCommands | None = None  # the platform sets it: Discord-only features

    async def admitted(self, interaction: discord.Interaction) -> bool:
        """Whether the user's command budget lets this interaction run. Checked at once, never waited
        for (Discord wants an answer within 3 s); the first refusal is an ephemeral "slow down", later
        ones get no answer until the budget recovers."""
        verdict = self.budget.admit(PLATFORM, str(interaction.user.id))
        if verdict is Verdict.SLOW_DOWN:
            await _refuse(interaction, self.budget.slow_down(self.language(interaction)))
        return verdict is Verdict.RUN

    # -- slash commands ---------------------------------------------------------------------

    async def run(
        self,
        interaction: discord.Interaction,
        name: str,
        args: tuple[str, ...] = (),
        channel: ChannelOption | None = None,
        *,
        public: bool | None = None,
        text: str = "",
    ) -> None:
        """Handle `/digest <name>` (or a member command) for the chosen channel; `public` overrides
        whether the answer is visible to everyone (only /latest offers it)."""
        if not await self.admitted(interaction):
            return
        ephemeral = not public if public is not None else name not in PUBLIC_REPLIES
        language = self.language(interaction)
        target = self.target(interaction, channel)
        if target is None:
            where = channel.mention if channel is not None else _here(interaction)
            await _refuse(interaction, texts.text("unsupported_channel", language, channel=where))
            return
        manage = target.chat.kind == DM or permissions.can_manage(target.caller_permissions)
        caller = self.caller(interaction, can_manage=manage)
        if name == "subscribe" and caller.can_manage and target.chat.kind != DM:
            lacking = permissions.missing(
                await permissions.bot_permissions(interaction, int(target.chat.chat_id)), target.channel_type
            )
            if lacking:
                names = texts.permission_names(lacking, language)
                where = f"<#{target.chat.chat_id}>"
                await _refuse(
                    interaction, texts.text("missing_permissions", language, channel=where, permissions=names)
                )
                return
        if name == "subscribe" and caller.can_manage and target.chat.kind == FORUM and self.features:
            problem = self.features.forum_problem(interaction, target.chat, args, language)
            if problem is not None:
                await _refuse(interaction, problem)
                return
        if name == "latest":
            await interaction.response.defer(ephemeral=ephemeral, thinking=True)
        await self._answer(
            interaction, Command(name, args, target.chat, caller, text), language, ephemeral=ephemeral
        )

    def target(self, interaction: discord.Interaction, channel: ChannelOption | None) -> CommandTarget | None:
        """The chat named by the `channel` option, else the one the command was used in."""
        if channel is not None:
            kind = chat_kind(channel.type)
            if kind is None:
                return None
            return CommandTarget(chat_ref(channel.id, kind, channel.name), channel.type, channel.permissions)
        here = interaction.channel
        if here is None:
            return None
        kind = chat_kind(here.type)
        if kind is None:
            return None
        title = getattr(here, "name", None) or f"DM {interaction.user.name}"
        return CommandTarget(chat_ref(here.id, kind, title), here.type, interaction.permissions)

    def caller(self, interaction: discord.Interaction, *, can_manage: bool) -> Caller:
        return Caller(
            user_id=str(interaction.user.id),
            language=interaction.locale.value,
            can_manage=can_manage,
            is_owner=interaction.user.id in self.owners,
        )

    def language(self, interaction: discord.Interaction) -> str:
        """The language of the adapter's own replies: the shared rule, without a chat setting."""
        return choose_language(None, interaction.locale.value, self.default_language)

    async def _answer(
        self, interaction: discord.Interaction, command: Command, language: str, *, ephemeral: bool
    ) -> None:
        try:
            reply = await self.service.handle(command)
        except Exception:
            log.exception("discord: /digest %s failed", command.name)
            await _refuse(interaction, texts.text("failed", language))
            return
        if command.name == "status" and self.features is not None:
            chat_language = await self.service.reply_language(command.chat, command.caller.language)
            reply = await self.features.status(command.chat, reply, chat_language)
        await send_reply(
            interaction, reply, chat_id=command.chat.chat_id, language=language, ephemeral=ephemeral
        )

    # -- the category menu ------------------------------------------------------------------

    async def menu_submitted(self, interaction: discord.Interaction) -> bool:
        """Apply a category menu submission; False when the component is not ours.

        Only the member who opened the menu, in the channel it was opened in, may submit it, and
        only for that channel or one they manage in the same server (see `menus`).
        """
        data: dict[str, Any] = dict(interaction.data or {})
        custom_id = str(data.get("custom_id", ""))
        if interaction.type is not discord.InteractionType.component or not is_menu(custom_id):
            return False
        if not await self.admitted(interaction):
            return True
        language = self.language(interaction)
        binding = parse_menu(custom_id)
        if binding is None:
            await _refuse(interaction, texts.text("menu_expired", language))
            return True
        target = self._menu_target(interaction, binding)
        if target is None:
            await _refuse(interaction, texts.text("menu_not_yours", language))
            return True
        chat, manage = target
        values = tuple(str(v) for v in data.get("values", []))
        caller = self.caller(interaction, can_manage=manage)
        command = Command("categories", ("set", *values), chat, caller)
        return await self._run_component(interaction, command, "category menu")

    async def confirm_pressed(self, interaction: discord.Interaction) -> bool:
        """Run a confirm button's `/<command> confirm <token>` (or a page button's `page <token> <n>`);
        False when the component is not ours. Only the member who asked may press it, where it was
        shown; the service checks their rights."""
        data: dict[str, Any] = dict(interaction.data or {})
        custom_id = str(data.get("custom_id", ""))
        if interaction.type is not discord.InteractionType.component or not custom_id.startswith(
            (CONFIRM_BUTTON, PAGE_BUTTON)
        ):
            return False
        if not await self.admitted(interaction):
            return True
        language = self.language(interaction)
        binding = parse_confirm(custom_id) or parse_page(custom_id)
        target = self._menu_target(interaction, binding.where) if binding is not None else None
        if binding is None or target is None:
            await _refuse(interaction, texts.text("button_not_yours", language))
            return True
        chat, manage = target
        args = binding.args() if isinstance(binding, PageBinding) else ("confirm", binding.token)
        command = Command(binding.command, args, chat, self.caller(interaction, can_manage=manage))
        what = f"/{binding.command} {args[0]}"
        return await self._run_component(interaction, command, what, where=binding.where)

    async def _run_component(
        self,
        interaction: discord.Interaction,
        command: Command,
        what: str,
        *,
        where: MenuBinding | None = None,
    ) -> bool:
        """Run a component's command and put the outcome in place of its message (a refusal is an
        ephemeral reply), with the page buttons of a paged reply (bound to `where`); a failure is
        logged and answered, never raised into discord.py."""
        try:
            reply = await self.service.handle(command)
        except Exception:
            log.exception("discord: %s in %s failed", what, command.chat.chat_id)
            await _refuse(interaction, texts.text("failed", self.language(interaction)))
            return True
        if reply.error:
            await _refuse(interaction, reply.text)
        else:
            content = escape(reply.text)
            if reply.pager is not None and where is not None:  # the next page: its links get no embeds
                view = page_view(reply.pager, where)
                await interaction.response.edit_message(content=content, view=view, suppress_embeds=True)
            else:
                await interaction.response.edit_message(content=content, view=None)
        return True

    def _menu_target(
        self, interaction: discord.Interaction, binding: MenuBinding
    ) -> tuple[ChatRef, bool] | None:
        """The chat a submission may change and whether the member may manage it now, or None when
        the menu was opened elsewhere or by someone else, or names a chat outside this server."""
        if binding.user_id != interaction.user.id or binding.channel_id != interaction.channel_id:
            return None
        if interaction.guild is None:  # a DM menu can only ever be about that DM
            own_dm = binding.chat_id == binding.channel_id
            return (chat_ref(binding.chat_id, DM, ""), True) if own_dm else None
        rights = permissions.member_permissions(interaction, binding.chat_id)
        if rights is None:
            return None
        cached = interaction.guild.get_channel_or_thread(binding.chat_id)
        kind = (chat_kind(cached.type) if cached is not None else None) or GUILD_CHANNEL
        return chat_ref(binding.chat_id, kind, ""), permissions.can_manage(rights)

    # -- autocomplete -----------------------------------------------------------------------

    def category_choices(self, current: str, locale: str) -> list[app_commands.Choice[str]]:
        """Complete the last category being typed; earlier ones stay as typed (or as ids)."""
        match = _PIECE.match(current)
        done, partial = (match.group("done") or "", match.group("partial")) if match else ("", current)
        language = choose_language(None, locale, self.default_language)
        chosen, _unknown = resolve_categories(category_args(done), self.service.vocabulary)
        needle = partial.casefold()
        choices: list[app_commands.Choice[str]] = []
        for category in self.service.vocabulary:
            if category.id in chosen or not any(needle in name.casefold() for name in category.names()):
                continue
            value = f"{done}{category.id}"
            label = f"{done}{category.display(language)} ({category.id})"
            if len(value) > CHOICE_LIMIT:
                continue
            label = label if len(label) <= CHOICE_LIMIT else label[-CHOICE_LIMIT:]
            choices.append(app_commands.Choice(name=label, value=value))
        return choices[:MAX_CHOICES]


def _here(interaction: discord.Interaction) -> str:
    channel = interaction.channel
    return f"<#{channel.id}>" if channel is not None else "?"


async def _refuse(interaction: discord.Interaction, message: str) -> None:
    """An ephemeral error, as the response or (after a defer) as a followup."""
    await respond(interaction, content=escape(message), ephemeral=True, allowed_mentions=NO_MENTIONS)
