"""The permissions the bot needs to deliver, and who may change a channel's subscription.

The bot asks for exactly what delivery uses: View Channel, Send Messages (which also creates forum
posts), Send Messages in Threads (digests in threads and the later parts of a forum post) and Embed
Links (digest items are embeds). Members need Manage Channels (or Administrator) on the channel they
change; Discord hides the command from others by default, and the adapter checks again on every use
because server admins can override command visibility.
"""

from __future__ import annotations

import discord
from discord import ChannelType

from bot.platforms.discord.channels import FORUMS, THREADS

INVITE_PERMISSIONS = discord.Permissions(
    view_channel=True, send_messages=True, send_messages_in_threads=True, embed_links=True
)
MANAGE = discord.Permissions(manage_channels=True)
SCOPES = ("bot", "applications.commands")


def required(channel_type: ChannelType) -> tuple[str, ...]:
    """Permission flag names the bot needs to deliver digests into a channel of this type."""
    if channel_type in THREADS:
        return ("view_channel", "send_messages_in_threads", "embed_links")
    if channel_type in FORUMS:
        return ("view_channel", "send_messages", "send_messages_in_threads", "embed_links")
    return ("view_channel", "send_messages", "embed_links")


def missing(permissions: discord.Permissions, channel_type: ChannelType) -> list[str]:
    """The required flags `permissions` lacks; Administrator implies all of them."""
    if permissions.administrator:
        return []
    return [name for name in required(channel_type) if not getattr(permissions, name)]


def can_manage(permissions: discord.Permissions) -> bool:
    return permissions.administrator or permissions.manage_channels


def invite_url(application_id: int) -> str:
    """The OAuth2 URL that adds the bot with exactly INVITE_PERMISSIONS and slash commands."""
    return discord.utils.oauth_url(application_id, permissions=INVITE_PERMISSIONS, scopes=SCOPES)


async def bot_permissions(interaction: discord.Interaction, channel_id: int) -> discord.Permissions:
    """What the bot may do in `channel_id`: Discord's own figure for the interaction's channel, else
    computed from the guild cache (roles and overwrites arrive with GUILD_CREATE); a channel the bot
    cannot even fetch grants nothing."""
    if channel_id == interaction.channel_id:
        return interaction.app_permissions
    guild = interaction.guild
    if guild is None or guild.me is None:
        return discord.Permissions.none()
    channel = guild.get_channel_or_thread(channel_id)
    if channel is None:
        try:
            fetched = await interaction.client.fetch_channel(channel_id)
        except (discord.Forbidden, discord.NotFound):
            return discord.Permissions.none()
        if not isinstance(fetched, discord.abc.GuildChannel | discord.Thread):
            return discord.Permissions.none()
        channel = fetched
    return channel.permissions_for(guild.me)


def member_permissions(interaction: discord.Interaction, channel_id: int) -> discord.Permissions | None:
    """The user's permissions in `channel_id` now: Discord's figure for the interaction's channel,
    else computed from this server's cache; None for a channel that is not in this server's cache
    (another server's, or one nobody can vouch for), which must then not be changed."""
    if channel_id == interaction.channel_id:
        return interaction.permissions
    member = interaction.user
    if not isinstance(member, discord.Member):
        return None
    channel = member.guild.get_channel_or_thread(channel_id)
    return channel.permissions_for(member) if channel is not None else None
