"""Channel webhooks, publishing in announcement channels and forum tags for the loopback Discord: a
mixin of FakeDiscord (fake_discord.py), with Discord's documented rules and error codes.

- Create Webhook (`POST /channels/{id}/webhooks`): text and announcement channels only (50024),
  Manage Webhooks (403 50013), a name of 1-80 characters without "discord"/"clyde" (50035), at most
  15 per channel (30007). Delete Webhook (`DELETE /webhooks/{id}`), then executes answer 404 10015.
- Execute Webhook (`POST /webhooks/{id}/{token}?wait=true`): its own per-webhook rate limit
  (`webhook_limit` requests per `webhook_window` seconds, announced in X-RateLimit-* headers with
  the webhook's own bucket; a request over it is answered 429 and counted in `webhook_429s`); the
  body checked like Create Message plus `username`/`avatar_url`; `wait=true` returns the message,
  otherwise 204.
- Crosspost Message (`POST /channels/{id}/messages/{mid}/crosspost`): announcement channels only
  (50024), the message must exist there (10008) and not be published yet (40033); the bot's own
  message needs Send Messages, anyone else's (a webhook's) Manage Messages (403 50013); at most
  `crosspost_limit` per channel and hour (429).
- Forum posts: `applied_tags` must be tags of that forum (50035), at most 5; a moderated tag needs
  Manage Threads (403 50013); a forum with REQUIRE_TAG refuses a post without one (400 40067).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from discord_limits import check_create_message
from fake_discord_model import (
    MANAGE_MESSAGES,
    MANAGE_THREADS,
    MANAGE_WEBHOOKS,
    NEWS,
    REQUIRE_TAG,
    SEND_MESSAGES,
    TEXT,
    Channel,
    Posted,
    snowflake,
)
from fake_discord_validation import error_answer, invalid_answer, json_answer

WEBHOOK_FIELDS = ("username", "avatar_url")
MAX_WEBHOOKS = 15
MAX_TAGS = 5


@dataclass
class FakeWebhook:
    id: str
    token: str
    channel_id: str
    name: str


def webhook_name_problems(field: str, name: Any) -> list[str]:
    if not isinstance(name, str) or not 1 <= len(name) <= 80:
        return [f"{field}: Must be between 1 and 80 in length."]
    if any(word in name.casefold() for word in ("discord", "clyde")):
        return [f'{field}: Username cannot contain "discord" or "clyde".']
    return []


class WebhooksAndPublishing:
    """The routes and checks above; FakeDiscord holds `webhooks`, `webhook_limit`, ... (see __init__)."""

    def _init_webhooks(self) -> None:
        self.webhooks: dict[str, FakeWebhook] = {}
        self.webhook_limit = 5
        self.webhook_window = 2.0
        self.webhook_429s = 0
        self.crosspost_limit = 10
        self._webhook_uses: dict[str, list[float]] = {}
        self._crossposts: dict[str, list[float]] = {}

    def add_routes(self, app: web.Application, api: str) -> None:
        app.router.add_post(f"{api}/channels/{{channel}}/webhooks", self._create_webhook)
        app.router.add_delete(f"{api}/webhooks/{{webhook}}", self._delete_webhook)
        app.router.add_post(f"{api}/channels/{{channel}}/messages/{{message}}/crosspost", self._crosspost)

    # -- test-facing ------------------------------------------------------------------------------

    def delete_webhooks(self, channel: Channel) -> None:
        """A server admin deleted every webhook of the channel."""
        for webhook_id in [w.id for w in self.webhooks.values() if w.channel_id == channel.id]:
            del self.webhooks[webhook_id]

    def add_tag(self, forum: Channel, name: str, *, moderated: bool = False) -> str:
        tag_id = snowflake()
        forum.tags.append(
            {"id": tag_id, "name": name, "moderated": moderated, "emoji_id": None, "emoji_name": None}
        )
        return tag_id

    # -- webhooks ---------------------------------------------------------------------------------

    async def _create_webhook(self, request: web.Request) -> web.Response:
        channel, error = self._visible_channel(request.match_info["channel"])
        if error is not None:
            return error
        assert channel is not None
        if channel.type not in (TEXT, NEWS):
            return error_answer(400, 50024, "Cannot execute action on this channel type")
        if not self._bot_may(channel, MANAGE_WEBHOOKS):
            return error_answer(403, 50013, "Missing Permissions")
        body = await request.json()
        problems = webhook_name_problems("name", body.get("name"))
        if problems:
            return invalid_answer(problems)
        if sum(1 for w in self.webhooks.values() if w.channel_id == channel.id) >= MAX_WEBHOOKS:
            return error_answer(400, 30007, "Maximum number of webhooks reached (15)")
        webhook = FakeWebhook(
            snowflake(), f"webhook-token-{snowflake()}-{snowflake()}", channel.id, body["name"]
        )
        self.webhooks[webhook.id] = webhook
        return json_answer(
            {
                "id": webhook.id,
                "type": 1,
                "guild_id": channel.guild_id,
                "channel_id": channel.id,
                "name": webhook.name,
                "avatar": None,
                "token": webhook.token,
                "application_id": self.application_id,
                "user": self.bot.payload(),
            }
        )

    async def _delete_webhook(self, request: web.Request) -> web.Response:
        webhook = self.webhooks.get(request.match_info["webhook"])
        if webhook is None:
            return error_answer(404, 10015, "Unknown Webhook")
        if not self._bot_may(self.channels[webhook.channel_id], MANAGE_WEBHOOKS):
            return error_answer(403, 50013, "Missing Permissions")
        del self.webhooks[webhook.id]
        return web.Response(status=204)

    async def execute_webhook(self, request: web.Request) -> web.StreamResponse:
        """`POST /webhooks/{id}/{token}` for a channel webhook (the followup route shares the path)."""
        webhook = self.webhooks.get(request.match_info["app"])
        if webhook is None or webhook.token != request.match_info["token"]:
            return error_answer(404, 10015, "Unknown Webhook")
        now = time.monotonic()
        uses = [t for t in self._webhook_uses.get(webhook.id, []) if now - t < self.webhook_window]
        reset_after = self.webhook_window - (now - uses[0]) if uses else self.webhook_window
        if len(uses) >= self.webhook_limit:
            self.webhook_429s += 1
            return self._webhook_limited(webhook, reset_after)
        uses.append(now)
        self._webhook_uses[webhook.id] = uses
        body = await request.json()
        problems = check_create_message({k: v for k, v in body.items() if k not in WEBHOOK_FIELDS})
        if "username" in body:
            problems += webhook_name_problems("username", body["username"])
        if problems:
            return invalid_answer(problems)
        channel = self.channels[webhook.channel_id]
        posted = Posted(snowflake(), channel.id, body, webhook_id=webhook.id)
        self.posted.append(posted)
        self._message_event.set()
        headers = self._webhook_headers(webhook, self.webhook_limit - len(uses), reset_after)
        if request.query.get("wait") not in ("true", "1", "True"):
            return web.Response(status=204, headers=headers)
        message = self._message(dict(body, id=posted.id, channel_id=channel.id, guild_id=channel.guild_id))
        message.update(
            webhook_id=webhook.id,
            author={**message["author"], "username": body.get("username", webhook.name), "id": webhook.id},
        )
        return json_answer(message, headers=headers)

    def _webhook_headers(self, webhook: FakeWebhook, remaining: int, reset_after: float) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.webhook_limit),
            "X-RateLimit-Remaining": str(max(0, remaining)),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": f"webhook-{webhook.id}",
        }

    def _webhook_limited(self, webhook: FakeWebhook, retry_after: float) -> web.Response:
        headers = self._webhook_headers(webhook, 0, retry_after) | {
            "Retry-After": str(max(1, round(retry_after))),
            "X-RateLimit-Scope": "shared",
            "Via": "1.1 google",
        }
        body = {
            "message": "You are being rate limited.",
            "retry_after": retry_after,
            "global": False,
            "code": 0,
        }
        return json_answer(body, status=429, headers=headers)

    # -- crosspost --------------------------------------------------------------------------------

    async def _crosspost(self, request: web.Request) -> web.Response:
        channel, error = self._visible_channel(request.match_info["channel"])
        if error is not None:
            return error
        assert channel is not None
        if channel.type != NEWS:
            return error_answer(400, 50024, "Cannot execute action on this channel type")
        posted = next(
            (p for p in self.posted if p.id == request.match_info["message"] and p.channel_id == channel.id),
            None,
        )
        if posted is None:
            return error_answer(404, 10008, "Unknown Message")
        if posted.published:
            return error_answer(400, 40033, "This message has already been crossposted.")
        needed = MANAGE_MESSAGES if posted.webhook_id is not None else SEND_MESSAGES
        if not self._bot_may(channel, needed) and not self._bot_may(channel, MANAGE_MESSAGES):
            return error_answer(403, 50013, "Missing Permissions")
        now = time.monotonic()
        recent = [t for t in self._crossposts.get(channel.id, []) if now - t < 3600]
        if len(recent) >= self.crosspost_limit:
            retry = 3600 - (now - recent[0]) if recent else 3600.0  # a limit of 0: the hour is used up
            body = {
                "message": "You are being rate limited.",
                "retry_after": retry,
                "global": False,
                "code": 0,
            }
            return json_answer(
                body, status=429, headers={"Retry-After": str(round(retry)), "Via": "1.1 google"}
            )
        self._crossposts[channel.id] = [*recent, now]
        posted.published = True
        message = self._message(
            dict(posted.body, id=posted.id, channel_id=channel.id, guild_id=channel.guild_id)
        )
        message["flags"] = int(message.get("flags") or 0) | 1  # CROSSPOSTED
        return json_answer(message)

    # -- forum tags -------------------------------------------------------------------------------

    def tag_problem(self, forum: Channel, body: dict[str, Any]) -> web.Response | None:
        """Discord's answer to a forum post whose tags break the forum's rules, or None."""
        tags = body.get("applied_tags") or []
        known = {tag["id"]: tag for tag in forum.tags}
        if not isinstance(tags, list) or len(tags) > MAX_TAGS or not all(str(t) in known for t in tags):
            return invalid_answer([f"applied_tags: Must be at most {MAX_TAGS} tags of this forum."])
        if any(known[str(t)]["moderated"] for t in tags) and not self._bot_may(forum, MANAGE_THREADS):
            return error_answer(403, 50013, "Missing Permissions")
        if not tags and forum.flags & REQUIRE_TAG:
            return error_answer(400, 40067, "A tag is required to create a forum post in this channel")
        return None

    def _bot_may(self, channel: Channel, needed: int) -> bool:
        if channel.guild_id is None:
            return True
        guild = self.guilds[channel.guild_id]
        return bool(self.permissions(guild, self.bot.id, channel) & needed)
