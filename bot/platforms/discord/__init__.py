"""Discord adapter over discord.py: slash commands and menus in, digest embeds out."""

from bot.platforms.discord.client import DiscordPlatform, DiscordStartError
from bot.platforms.discord.sender import DiscordSender

__all__ = ["DiscordPlatform", "DiscordSender", "DiscordStartError"]
