"""A Discord channel's reader features, kept per subscription: its webhook and its role mentions.

Stored through the store's per-subscription settings (one JSON value per key). The webhook token is
a secret: it is never shown (its field is left out of reprs) and the log scrubber redacts it
wherever a URL or a JSON body would carry it (spec.py: URL_TOKEN, WEBHOOK_TOKEN).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from bot.platforms.discord.spec import PLATFORM
from bot.store.db import Store

WEBHOOK_KEY = "discord.webhook"
MENTIONS_KEY = "discord.mentions"


@dataclass(frozen=True, slots=True)
class WebhookSetting:
    """The channel webhook digests go through; `fallback` says why they went back to normal sends
    (a key of texts.FALLBACKS, shown in the reader's language, with Discord's `detail`)."""

    id: str
    token: str = field(repr=False)
    fallback: str | None = None
    detail: str = ""

    def stored(self) -> dict[str, Any]:
        return {"id": self.id, "token": self.token, "fallback": self.fallback, "detail": self.detail}

    @classmethod
    def of(cls, value: Any) -> WebhookSetting | None:
        if not isinstance(value, dict) or not value.get("id") or not value.get("token"):
            return None
        fallback = value.get("fallback")
        detail = str(value.get("detail") or "")
        return cls(str(value["id"]), str(value["token"]), str(fallback) if fallback else None, detail)


@dataclass(frozen=True, slots=True)
class ChatFeatures:
    """A subscribed channel's features (`subscription_id` None: the channel has no subscription)."""

    subscription_id: int | None = None
    webhook: WebhookSetting | None = None
    mentions: Mapping[str, str] = field(default_factory=dict)  # category id -> role id

    def roles_for(self, categories: list[str]) -> list[str]:
        """The roles to mention for a part with these categories, in category order, each once."""
        roles: list[str] = []
        for category in categories:
            role = self.mentions.get(category)
            if role is not None and role not in roles:
                roles.append(role)
        return roles


class FeatureSettings:
    """Reads and writes channels' features in the store (one indexed read per send: no cache to go
    stale when a chat is forgotten and subscribed again)."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def get(self, chat_id: str) -> ChatFeatures:
        found = await self._store.subscription_settings(PLATFORM, chat_id)
        if found is None:
            return ChatFeatures()
        subscription_id, values = found
        mentions = values.get(MENTIONS_KEY)
        return ChatFeatures(
            subscription_id,
            WebhookSetting.of(values.get(WEBHOOK_KEY)),
            {str(k): str(v) for k, v in mentions.items()} if isinstance(mentions, dict) else {},
        )

    async def set_webhook(self, subscription_id: int, webhook: WebhookSetting | None) -> None:
        value = webhook.stored() if webhook is not None else None
        await self._store.put_subscription_setting(subscription_id, WEBHOOK_KEY, value)

    async def fall_back(
        self, subscription_id: int, webhook: WebhookSetting, reason: str, detail: str = ""
    ) -> None:
        await self.set_webhook(subscription_id, replace(webhook, fallback=reason, detail=detail[:200]))

    async def set_mention(self, features: ChatFeatures, category: str, role: str | None) -> None:
        """Mention `role` for `category` (None: stop mentioning anyone for it)."""
        assert features.subscription_id is not None
        mentions = dict(features.mentions)
        if role is None:
            mentions.pop(category, None)
        else:
            mentions[category] = role
        await self._store.put_subscription_setting(features.subscription_id, MENTIONS_KEY, mentions or None)
