"""Command-service Replies as interaction responses: escaped text, the category menu, digest embeds.

Reply text is plain, so it is escaped for Discord markdown and can never ping anyone. Every body of
a digest the service rendered with the Discord renderer is sent: the first as the response (or the first
followup after a defer), the rest as followups. Interaction messages go through discord.py's public
API, so each body is rebuilt from `discord.Embed.from_dict`, which keeps every field the renderer
writes (title, url, description, author, footer, color).
"""

from __future__ import annotations

from typing import Any

import discord

from bot.commands.model import CategoryPicker, Reply
from bot.delivery.outcome import Payload
from bot.platforms.discord import texts
from bot.platforms.discord.menus import ConfirmBinding, MenuBinding
from bot.platforms.discord.pages import page_view
from bot.platforms.discord.render import DISCORD, SUPPRESS_EMBEDS

MENU_OPTIONS = 25
MENU_TIMEOUT = 15 * 60  # an interaction token lives 15 minutes; later submits still work (on_interaction)
NO_MENTIONS = discord.AllowedMentions.none()
_ELLIPSIS = "…"


def escape(text: str) -> str:
    """Plain text that Discord shows literally, cut to fit one message."""
    escaped = discord.utils.escape_markdown(text)
    if len(escaped) <= DISCORD.content:
        return escaped
    return escaped[: DISCORD.content - 1].rstrip("\\") + _ELLIPSIS


def message_kwargs(payload: Payload) -> dict[str, Any]:
    """discord.py keyword arguments that send this Create Message body."""
    kwargs: dict[str, Any] = {"allowed_mentions": mentions(payload.get("allowed_mentions"))}
    if payload.get("content"):
        kwargs["content"] = payload["content"]
    if payload.get("embeds"):
        kwargs["embeds"] = [discord.Embed.from_dict(embed) for embed in payload["embeds"]]
    if int(payload.get("flags") or 0) & SUPPRESS_EMBEDS:
        kwargs["suppress_embeds"] = True
    return kwargs


def mentions(spec: Any) -> discord.AllowedMentions:
    """AllowedMentions from the body's `allowed_mentions`; anything unexpected pings nobody."""
    if not isinstance(spec, dict) or not isinstance(spec.get("parse"), list):
        return NO_MENTIONS
    parse = set(spec["parse"])
    return discord.AllowedMentions(
        everyone="everyone" in parse, users="users" in parse, roles="roles" in parse, replied_user=False
    )


def category_menu(picker: CategoryPicker, binding: MenuBinding, language: str) -> discord.ui.View:
    """A multi-select of up to 25 categories, pre-selected like the filter; none selected = all.
    Its custom_id binds it to the chat, the channel it is shown in and the member it is for."""
    options = [
        discord.SelectOption(label=option.label[:100], value=option.id, default=option.selected)
        for option in picker.options[:MENU_OPTIONS]
    ]
    menu: discord.ui.Select[discord.ui.View] = discord.ui.Select(
        custom_id=binding.custom_id(),
        placeholder=texts.text("categories_placeholder", language)[:150],
        min_values=0,
        max_values=len(options),
        options=options,
    )
    view = discord.ui.View(timeout=MENU_TIMEOUT)
    view.add_item(menu)
    return view


def confirm_view(binding: ConfirmBinding, label: str) -> discord.ui.View:
    """One button that confirms the command for the member who asked (the bridge checks who presses)."""
    view = discord.ui.View(timeout=MENU_TIMEOUT)
    button: discord.ui.Button[discord.ui.View] = discord.ui.Button(
        custom_id=binding.custom_id(), label=label[:80], style=discord.ButtonStyle.danger
    )
    view.add_item(button)
    return view


async def respond(interaction: discord.Interaction, **kwargs: Any) -> None:
    """The interaction response if none was sent yet (nor deferred), else a followup."""
    if interaction.response.is_done():
        await interaction.followup.send(**kwargs)
    else:
        await interaction.response.send_message(**kwargs)


async def send_reply(
    interaction: discord.Interaction, reply: Reply, *, chat_id: str, language: str, ephemeral: bool
) -> None:
    """Send a Reply: errors are always ephemeral; a digest goes out as rendered bodies."""
    private = ephemeral or reply.error
    for payload in reply.parts:
        await respond(interaction, ephemeral=private, **message_kwargs(payload))
    if reply.parts and reply.confirm is None:
        return
    kwargs: dict[str, Any] = {
        "content": escape(reply.text),
        "allowed_mentions": NO_MENTIONS,
        "ephemeral": private,
    }
    if reply.picker is not None and not reply.picker.done and reply.picker.options:
        # The service's prompt speaks of a "Done" button; a Discord select saves when it closes.
        kwargs["content"] = escape(texts.text("menu_prompt", language))
        binding = MenuBinding(int(chat_id), interaction.channel_id or 0, interaction.user.id)
        kwargs["view"] = category_menu(reply.picker, binding, language)
    elif reply.confirm is not None:
        where = MenuBinding(int(chat_id), interaction.channel_id or 0, interaction.user.id)
        button = ConfirmBinding(reply.confirm.command, reply.confirm.token, where)
        kwargs["view"] = confirm_view(button, reply.confirm.label)
    elif reply.pager is not None:  # a page of search hits: their links get no embeds
        where = MenuBinding(int(chat_id), interaction.channel_id or 0, interaction.user.id)
        kwargs["view"] = page_view(reply.pager, where)
        kwargs["suppress_embeds"] = True
    await respond(interaction, **kwargs)
