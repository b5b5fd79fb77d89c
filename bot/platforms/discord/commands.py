"""The slash commands, generated from the command table: one `/digest` group, plus a top-level
command for each command every member may use (`/latest`, `/status`).

`/digest` carries default_member_permissions = Manage Channels, so Discord shows it only to members
who may change subscriptions (the adapter checks again on use). Discord allows that setting only on
top-level commands, so a subcommand cannot be opened to everyone; the commands anyone may use are
therefore also registered top-level without it. All work in servers and in DMs with the bot;
command and option names are localised by `DigestTranslator`. Each table argument becomes an
option; Discord adds a `channel` option (which chat a command is about) to every command but the
owners', and a `public` option to /latest.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

import discord
from discord import app_commands

from bot.commands.table import COMMANDS, Access, Arg, ArgKind, CommandSpec
from bot.platforms.discord.bridge import Bridge, category_args, word_args
from bot.platforms.discord.channels import SUBSCRIBABLE
from bot.platforms.discord.permissions import MANAGE
from bot.platforms.discord.spec import SPEC
from bot.platforms.discord.translator import ls

CONTEXTS = app_commands.AppCommandContext(guild=True, dm_channel=True, private_channel=False)
INSTALLS = app_commands.AppInstallationType(guild=True, user=False)
# Discord lists and explains its commands itself, so the table's introductions are not registered.
UNREGISTERED = frozenset({"start", "help"})
PUBLIC_OPTION = frozenset({"latest"})  # commands whose answer the caller may show to everyone
Callback = Callable[..., Coroutine[Any, Any, None]]


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


def arg_values(arg: Arg, value: str | None) -> tuple[str, ...]:
    """An option's text as command arguments, split the way the argument's kind is written."""
    if arg.kind is ArgKind.CATEGORIES:
        return category_args(value)
    if arg.kind is ArgKind.CHOICE:
        return (value,) if value else ()
    return word_args(value)


def _parameter(name: str, annotation: Any, default: Any) -> inspect.Parameter:
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default)


def _callback(bridge: Bridge, spec: CommandSpec, *, channel: bool) -> Callback:
    """A callback whose signature declares the command's options; discord.py reads them from it."""
    public = spec.name in PUBLIC_OPTION

    async def callback(interaction: discord.Interaction, **options: Any) -> None:
        args = tuple(value for arg in spec.args for value in arg_values(arg, options.get(arg.name)))
        shown = bool(options.get("public")) if public else None
        typed = str(options.get(spec.args[0].name) or "") if len(spec.args) == 1 else ""
        await bridge.run(interaction, spec.name, args, options.get("channel"), public=shown, text=typed)

    parameters = [
        inspect.Parameter(
            "interaction", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=discord.Interaction
        )
    ]
    parameters += [
        _parameter(arg.name, str, inspect.Parameter.empty if arg.required else None) for arg in spec.args
    ]
    if public:
        parameters.append(_parameter("public", bool, False))
    if channel:
        parameters.append(_parameter("channel", Channel | None, None))
    callback.__signature__ = inspect.Signature(sorted(parameters, key=_required_first))  # type: ignore[attr-defined]
    return callback


def _required_first(parameter: inspect.Parameter) -> bool:
    return parameter.default is not inspect.Parameter.empty


def _options(callback: Callback, spec: CommandSpec, *, channel: bool) -> Callback:
    """Localised option names and descriptions, and the choices of CHOICE arguments."""
    names = {arg.name: ls(f"option.{arg.name}") for arg in spec.args}
    about = {arg.name: ls(f"option.{arg.name}.description") for arg in spec.args}
    extras = (["public"] if spec.name in PUBLIC_OPTION else []) + (["channel"] if channel else [])
    names.update((name, ls(f"option.{name}")) for name in extras)
    about.update((name, ls(f"option.{name}.description")) for name in extras)
    callback = app_commands.rename(**names)(callback)
    callback = app_commands.describe(**about)(callback)
    choices = {
        arg.name: [app_commands.Choice(name=ls(f"choice.{value}"), value=value) for value, _ in arg.choices]
        for arg in spec.args
        if arg.choices
    }
    return app_commands.choices(**choices)(callback) if choices else callback


def build(
    bridge: Bridge, spec: CommandSpec, *, channel: bool, top_level: bool
) -> app_commands.Command[Any, ..., None]:
    """One app command for a table entry; top-level ones carry their own contexts and installs."""
    callback = _options(_callback(bridge, spec, channel=channel), spec, channel=channel)
    command: app_commands.Command[Any, ..., None] = app_commands.Command(
        name=ls(spec.name),
        description=ls(f"{spec.name}.description"),
        callback=callback,
        allowed_contexts=CONTEXTS if top_level else None,
        allowed_installs=INSTALLS if top_level else None,
    )
    if any(arg.kind is ArgKind.CATEGORIES for arg in spec.args):

        async def complete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
            return bridge.category_choices(current, interaction.locale.value)

        for arg in spec.args:
            if arg.kind is ArgKind.CATEGORIES:
                command.autocomplete(arg.name)(complete)
    return command


def all_commands(
    bridge: Bridge, extra: Sequence[app_commands.Command[Any, ..., None]] = ()
) -> list[app_commands.Group | app_commands.Command[Any, ..., None]]:
    """Fresh command objects for one CommandTree (a command object belongs to a single tree);
    `extra` are Discord-only /digest subcommands (the reader features)."""
    registered = [
        spec
        for spec in COMMANDS
        if spec.name not in UNREGISTERED and (spec.option is None or spec.option in SPEC.reader_options)
    ]
    digest = app_commands.Group(
        name=ls("digest"),
        description=ls("digest.description"),
        default_permissions=MANAGE,
        allowed_contexts=CONTEXTS,
        allowed_installs=INSTALLS,
    )
    for spec in registered:
        digest.add_command(build(bridge, spec, channel=spec.access is not Access.OWNERS, top_level=False))
    for command in extra:
        digest.add_command(command)
    members = [
        build(bridge, spec, channel=False, top_level=True)
        for spec in registered
        if spec.access is Access.ANYONE
    ]
    return [digest, *members]
