"""Telegram adapter over python-telegram-bot: commands in, digest payloads out."""

from bot.platforms.telegram.adapter import TelegramPlatform, TelegramStartError
from bot.platforms.telegram.sender import TelegramSender

__all__ = ["TelegramPlatform", "TelegramSender", "TelegramStartError"]
