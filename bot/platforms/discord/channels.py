"""Which Discord channels can receive digests, and the chat kind each one is stored as.

Text and announcement channels and threads all take Create Message on their own id, so they share
the kind `guild_channel`; a forum takes one new post (thread) per digest, so it is `forum`; a DM with
the bot is `dm` and subscribes the user personally.
"""

from __future__ import annotations

from discord import ChannelType

from bot.commands.model import ChatRef
from bot.platforms.discord.spec import DM, FORUM, GUILD_CHANNEL, PLATFORM

MESSAGE_CHANNELS = frozenset({ChannelType.text, ChannelType.news})
THREADS = frozenset({ChannelType.public_thread, ChannelType.private_thread, ChannelType.news_thread})
FORUMS = frozenset({ChannelType.forum})
SUBSCRIBABLE = (*MESSAGE_CHANNELS, *THREADS, *FORUMS)


def chat_kind(channel_type: ChannelType) -> str | None:
    """The stored kind for a channel type, or None when digests cannot go there (voice, category...)."""
    if channel_type in MESSAGE_CHANNELS or channel_type in THREADS:
        return GUILD_CHANNEL
    if channel_type in FORUMS:
        return FORUM
    if channel_type is ChannelType.private:
        return DM
    return None


def chat_ref(channel_id: int, kind: str, title: str) -> ChatRef:
    """Threads are channels of their own on Discord, so no chat ever needs a separate thread id."""
    return ChatRef(PLATFORM, str(channel_id), None, kind, title[:100])
