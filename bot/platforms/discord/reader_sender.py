"""The Discord Sender the engine uses: the chat's reader features around DiscordSender's sends.

For each body it reads the chat's features (one indexed read), then: puts the roles mentioned for
the part's categories at the top (allowed for exactly those roles); opens forum posts with a tag;
sends through the chat's webhook when it has one (falling back to the bot's own messages when the
webhook cannot be had); and publishes the message when the channel is an announcement channel.
The category tag the renderer put in the body (parts.py) never reaches Discord.
"""

from __future__ import annotations

import discord

from bot.core.model import Vocabulary
from bot.delivery.outcome import Outcome, Payload, Sent, Target, Transient
from bot.platforms.discord.config import DiscordConfig
from bot.platforms.discord.features import FeatureSettings
from bot.platforms.discord.forum_tags import post_tag
from bot.platforms.discord.mentions import with_mentions
from bot.platforms.discord.parts import CATEGORIES_KEY, api_body, part_categories
from bot.platforms.discord.publish import Publisher
from bot.platforms.discord.sender import DiscordSender, post_name
from bot.platforms.discord.spec import DM, FORUM, PLATFORM
from bot.platforms.discord.webhooks import Webhooks
from bot.store.db import StoreUnavailable


class ReaderSender:
    """Satisfies the engine's Sender; `inner` does the sending and turns errors into outcomes."""

    platform = PLATFORM

    def __init__(
        self,
        inner: DiscordSender,
        client: discord.Client,
        settings: FeatureSettings,
        config: DiscordConfig,
        vocabulary: Vocabulary,
        secrets: list[str],
    ) -> None:
        self.inner = inner
        self._client = client
        self._settings = settings
        self._config = config
        self._vocabulary = vocabulary
        self.webhooks = Webhooks(settings, config.webhook)
        self._publisher = Publisher(secrets)

    def use(self, client: discord.Client) -> None:
        """Send through `client` from now on (the platform replaced a client whose start failed)."""
        self._client = client
        self.inner.use(client)

    def plain(self, payload: Payload) -> Payload:
        """The plain-text copy keeps the part's categories, so its mentions survive the resend."""
        plain = self.inner.plain(api_body(payload))
        if CATEGORIES_KEY in payload:
            plain[CATEGORIES_KEY] = payload[CATEGORIES_KEY]
        return plain

    async def send(self, target: Target, payload: Payload) -> Outcome:
        body = api_body(payload)
        if target.kind == DM or not target.chat_id.isdigit() or not self._client.is_ready():
            return await self.inner.send(target, body)
        try:
            features = await self._settings.get(target.chat_id)
        except StoreUnavailable:
            return Transient("the database is unavailable")
        categories = part_categories(payload)
        roles = features.roles_for(categories)
        channel = self._client.get_channel(int(target.chat_id))
        if target.kind == FORUM or isinstance(channel, discord.ForumChannel):
            post: Payload = {"name": post_name(body)}  # named after the digest, not the mention line
            if isinstance(channel, discord.ForumChannel):
                tag = post_tag(channel, categories, self._vocabulary, self._config.forum_tag)
                post.update({"applied_tags": [str(tag.id)]} if tag else {})
            return await self.inner.send(target, with_mentions(body, roles) if roles else body, post=post)
        if roles:
            body = with_mentions(body, roles)
        by_webhook = features.webhook is not None and features.webhook.fallback is None
        outcome = None
        if by_webhook:
            outcome = await self.webhooks.send(self._client, target.chat_id, body, features)
        if outcome is None:
            by_webhook = False
            outcome = await self.inner.send(target, body)
        if isinstance(outcome, Sent):
            await self._publisher.publish(
                self._client, target.chat_id, outcome.message_id, by_webhook=by_webhook
            )
        return outcome
