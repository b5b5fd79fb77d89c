"""Telegram adapter over python-telegram-bot: commands in, digest payloads out.

Importing the package loads only its spec (config, renderer, rules); the adapter and its library
load when the platform is built.
"""

from bot.platforms.telegram.spec import SPEC

__all__ = ["SPEC"]
