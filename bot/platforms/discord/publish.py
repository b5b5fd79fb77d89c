"""Announcement channels: publish (crosspost) every digest message to the servers that follow them.

The bot may publish its own messages with Send Messages; a webhook's messages are not its own and
need Manage Messages. Publishing never undoes a send: a failure (missing permission, Discord's
limit of 10 publishes an hour per channel, an outage) is logged once per channel, until a publish
there works again, and the message stays.
"""

from __future__ import annotations

import logging

import aiohttp
import discord

from bot.logs import redact

log = logging.getLogger(__name__)


class Publisher:
    """Crossposts sent messages in announcement channels; remembers which channels it warned about."""

    def __init__(self, secrets: list[str]) -> None:
        self._warned: set[str] = set()
        self._secrets = secrets

    async def publish(
        self, client: discord.Client, channel_id: str, message_id: str, *, by_webhook: bool
    ) -> bool:
        """Publish the message if its channel is an announcement channel; True when published."""
        channel = client.get_channel(int(channel_id))
        if not isinstance(channel, discord.TextChannel) or not channel.is_news() or channel.guild.me is None:
            return False
        rights = channel.permissions_for(channel.guild.me)
        allowed = rights.manage_messages or (rights.send_messages and not by_webhook)
        if not allowed:
            self._failed(channel_id, "missing Manage Messages" if by_webhook else "missing Send Messages")
            return False
        try:
            await client.http.publish_message(int(channel_id), int(message_id))
        except (discord.HTTPException, discord.RateLimited, aiohttp.ClientError, OSError) as exc:
            self._failed(channel_id, redact(f"{type(exc).__name__}: {exc}", self._secrets)[:300])
            return False
        self._warned.discard(channel_id)
        return True

    def _failed(self, channel_id: str, reason: str) -> None:
        if channel_id not in self._warned:
            self._warned.add(channel_id)
            log.warning(
                "discord: cannot publish digest messages in announcement channel %s (%s); "
                "they stay in the channel unpublished",
                channel_id,
                reason,
            )
