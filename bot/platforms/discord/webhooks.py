"""Digests through a channel webhook: its own name and avatar, with the webhook's own rate limits.

Executes go through discord.py's HTTPClient with the webhook id and token as the route's major
parameters, so they have their own per-webhook bucket, honour its X-RateLimit headers and wait out
its 429s like every other route (longer waits come back as RetryAfter). A webhook someone deleted
(404 Unknown Webhook) is created again once; if that fails too, or the new one is gone as well, the
subscription falls back to the bot's own messages, and /digest status says why.
"""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
import discord
from discord.http import Route

from bot.delivery.outcome import Outcome, Sent
from bot.platforms.discord.config import WebhookConfig
from bot.platforms.discord.features import ChatFeatures, FeatureSettings, WebhookSetting
from bot.platforms.discord.sender import outcome_for
from bot.platforms.discord.texts import fallback_reason

log = logging.getLogger(__name__)
UNKNOWN_WEBHOOK = 10015
FAILURES = (discord.HTTPException, discord.RateLimited, aiohttp.ClientError, OSError)


def is_unknown_webhook(exc: BaseException) -> bool:
    return isinstance(exc, discord.NotFound) and exc.code == UNKNOWN_WEBHOOK


class Webhooks:
    """Creates, deletes and executes channel webhooks for the subscriptions that chose them."""

    def __init__(self, settings: FeatureSettings, config: WebhookConfig) -> None:
        self._settings = settings
        self._config = config

    async def create(self, client: discord.Client, channel_id: str) -> WebhookSetting:
        """A new webhook in the channel (needs Manage Webhooks; raises discord.HTTPException)."""
        data = await client.http.create_webhook(
            int(channel_id), name=self._config.name, reason="digest delivery (/digest webhook on)"
        )
        return WebhookSetting(str(data["id"]), str(data["token"]))

    async def delete(self, client: discord.Client, webhook: WebhookSetting) -> None:
        """Remove the webhook; one already gone is fine, and any other failure only logged."""
        route = Route("DELETE", "/webhooks/{webhook_id}", webhook_id=webhook.id)
        try:
            await client.http.request(route, reason="digest delivery off (/digest webhook off)")
        except discord.NotFound:
            return
        except FAILURES as exc:
            log.warning("discord: cannot delete webhook %s: %s", webhook.id, type(exc).__name__)

    async def send(
        self, client: discord.Client, chat_id: str, body: dict[str, Any], features: ChatFeatures
    ) -> Outcome | None:
        """Send `body` through the chat's webhook; None when the chat has just fallen back to normal
        sends (the caller sends it the normal way)."""
        webhook, subscription_id = features.webhook, features.subscription_id
        assert webhook is not None and subscription_id is not None
        payload = self._as_webhook(body)
        try:
            return await self._execute(client, webhook, payload)
        except FAILURES as exc:
            if not is_unknown_webhook(exc):
                return outcome_for(exc)
        try:
            webhook = await self.create(client, chat_id)
        except FAILURES as exc:
            await self._fall_back(chat_id, subscription_id, webhook, "recreate_failed", _why(exc))
            return None
        await self._settings.set_webhook(subscription_id, webhook)
        log.info("discord: the webhook of channel %s was deleted; created a new one", chat_id)
        try:
            return await self._execute(client, webhook, payload)
        except FAILURES as exc:
            if not is_unknown_webhook(exc):
                return outcome_for(exc)
        await self._fall_back(chat_id, subscription_id, webhook, "deleted_twice", "")
        return None

    async def _fall_back(
        self, chat_id: str, subscription_id: int, webhook: WebhookSetting, reason: str, detail: str
    ) -> None:
        await self._settings.fall_back(subscription_id, webhook, reason, detail)
        why = fallback_reason(reason, detail, "en")
        log.warning("discord: channel %s falls back to normal sends: %s", chat_id, why)

    async def _execute(
        self, client: discord.Client, webhook: WebhookSetting, payload: dict[str, Any]
    ) -> Sent:
        route = Route(
            "POST",
            "/webhooks/{webhook_id}/{webhook_token}",
            webhook_id=webhook.id,
            webhook_token=webhook.token,
        )
        data = await client.http.request(route, json=payload, params={"wait": "true"})
        return Sent(str(data["id"]))

    def _as_webhook(self, body: dict[str, Any]) -> dict[str, Any]:
        """The body as an Execute Webhook body: the configured name and avatar."""
        payload = dict(body, username=self._config.name)
        if self._config.avatar_url:
            payload["avatar_url"] = self._config.avatar_url
        return payload


def _why(exc: BaseException) -> str:
    if isinstance(exc, discord.HTTPException):
        return f"HTTP {exc.status}, code {exc.code}: {exc.text}"[:200]
    return type(exc).__name__
