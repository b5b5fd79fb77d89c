"""Discord adapter over discord.py: slash commands and menus in, digest embeds out.

Importing the package loads only its spec (config, renderer, rules); the client and its library
load when the platform is built.
"""

from bot.platforms.discord.spec import SPEC

__all__ = ["SPEC"]
