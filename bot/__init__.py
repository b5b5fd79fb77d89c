"""digestbot: pushes news digests to chats on chat platforms, filtered per chat."""

__version__ = "0.1.0"
