"""digestbot: pushes news digests to Telegram and Discord chats, filtered per chat."""

__version__ = "0.1.0"
