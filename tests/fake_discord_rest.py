"""The REST side of the loopback Discord: a mixin of FakeDiscord (fake_discord.py), which holds the
state; each route checks the token, permissions and Discord's limits before it answers.
"""

from __future__ import annotations

import re
import time
from typing import Any

from aiohttp import web
from discord_limits import check_create_message
from fake_discord_model import (
    API_PREFIX,
    EPHEMERAL,
    FORUM,
    PUBLIC_THREAD,
    SEND_MESSAGES,
    SEND_MESSAGES_IN_THREADS,
    VIEW_CHANNEL,
    Channel,
    InteractionRecord,
    Posted,
    now_iso,
    snowflake,
)
from fake_discord_validation import (
    error_answer,
    invalid_answer,
    json_answer,
    rate_limited_answer,
    validate_callback,
    validate_commands,
    validate_components,
)


class DiscordRest:
    """`/api/v10/...` as discord.py calls it, interaction callbacks and followups included."""

    # -- REST -------------------------------------------------------------------------------

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        # Interaction callbacks, followups and webhook executes are authorised by the token in the URL;
        # managing a webhook by its id alone (DELETE /webhooks/{id}) takes the bot token.
        unauthenticated = request.path.startswith(f"{API_PREFIX}/interactions/") or bool(
            re.match(rf"{API_PREFIX}/webhooks/[0-9]+/[^/]+", request.path)
        )
        needs_token = request.path.startswith(API_PREFIX) and not unauthenticated
        if needs_token and request.headers.get("Authorization") != f"Bot {self.token}":
            response: web.StreamResponse = error_answer(401, 0, "401: Unauthorized")
            self.requests.append((request.method, request.path, response.status))
            return response
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            response = exc
        if (
            request.path.startswith(API_PREFIX)
            and response.status < 400
            and "X-RateLimit-Bucket" not in response.headers
        ):
            self._rate_headers(request, response)
        self.requests.append((request.method, request.path, response.status))
        return response

    def _rate_headers(self, request: web.Request, response: web.StreamResponse) -> None:
        route = re.sub(r"/\d{15,}", "/:id", request.path, count=0)
        bucket = f"{request.method}{route}"
        now = time.monotonic()
        started, used = self._buckets.get(bucket, (now, 0))
        if now - started >= 1.0:
            started, used = now, 0
        used += 1
        self._buckets[bucket] = (started, used)
        reset_after = max(0.0, 1.0 - (now - started))
        response.headers["X-RateLimit-Limit"] = str(self.route_limit)
        response.headers["X-RateLimit-Remaining"] = str(max(0, self.route_limit - used))
        response.headers["X-RateLimit-Reset"] = f"{time.time() + reset_after:.3f}"
        response.headers["X-RateLimit-Reset-After"] = f"{reset_after:.3f}"
        response.headers["X-RateLimit-Bucket"] = f"{abs(hash(bucket)):x}"

    async def _get_gateway(self, request: web.Request) -> web.Response:
        return json_answer({"url": self.gateway_url})

    async def _get_gateway_bot(self, request: web.Request) -> web.Response:
        return json_answer(
            {
                "url": self.gateway_url,
                "shards": 1,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 999,
                    "reset_after": 0,
                    "max_concurrency": 1,
                },
            }
        )

    async def _get_me(self, request: web.Request) -> web.Response:
        return json_answer(self.bot.payload() | {"verified": True, "mfa_enabled": False, "flags": 0})

    async def _get_application(self, request: web.Request) -> web.Response:
        return json_answer(
            {
                "id": self.application_id,
                "name": "digestbot",
                "icon": None,
                "description": "",
                "bot_public": False,
                "bot_require_code_grant": False,
                "owner": self.owner.payload(),
                "verify_key": "0" * 64,
                "team": None,
                "flags": 0,
                "bot": self.bot.payload(),
                "interactions_endpoint_url": None,
            }
        )

    async def _put_global_commands(self, request: web.Request) -> web.Response:
        if request.match_info["app"] != self.application_id:
            return error_answer(403, 50001, "Missing Access")
        commands, problems = validate_commands(await request.json(), self.application_id, None)
        if problems:
            return invalid_answer(problems)
        self.global_commands = commands
        return json_answer(commands)

    async def _get_global_commands(self, request: web.Request) -> web.Response:
        return json_answer(self.global_commands)

    async def _put_guild_commands(self, request: web.Request) -> web.Response:
        guild_id = request.match_info["guild"]
        guild = self.guilds.get(guild_id)
        if (
            request.match_info["app"] != self.application_id
            or guild is None
            or self.bot.id not in guild.members
        ):
            return error_answer(403, 50001, "Missing Access")
        commands, problems = validate_commands(await request.json(), self.application_id, guild_id)
        if problems:
            return invalid_answer(problems)
        self.guild_commands[guild_id] = commands
        return json_answer(commands)

    async def _get_guild_commands(self, request: web.Request) -> web.Response:
        return json_answer(self.guild_commands.get(request.match_info["guild"], []))

    def _visible_channel(self, channel_id: str) -> tuple[Channel | None, web.Response | None]:
        """The channel if the bot can see it, else the error Discord would answer with."""
        channel = self.channels.get(channel_id)
        if channel is None:
            return None, error_answer(404, 10003, "Unknown Channel")
        if channel.guild_id is None:
            return channel, None
        guild = self.guilds[channel.guild_id]
        if (
            self.bot.id not in guild.members
            or not self.permissions(guild, self.bot.id, channel) & VIEW_CHANNEL
        ):
            return None, error_answer(403, 50001, "Missing Access")
        return channel, None

    async def _get_channel(self, request: web.Request) -> web.Response:
        channel, error = self._visible_channel(request.match_info["channel"])
        return error or json_answer(channel.payload())  # type: ignore[union-attr]

    async def _get_guild_channels(self, request: web.Request) -> web.Response:
        guild = self.guilds.get(request.match_info["guild"])
        if guild is None or self.bot.id not in guild.members:
            return error_answer(403, 50001, "Missing Access")
        return json_answer([c.payload() for c in guild.channels.values() if not c.is_thread])

    async def _get_guild_roles(self, request: web.Request) -> web.Response:
        guild = self.guilds.get(request.match_info["guild"])
        if guild is None or self.bot.id not in guild.members:
            return error_answer(403, 50001, "Missing Access")
        return json_answer(guild.payload(self.bot.id)["roles"])

    async def _get_guild_member(self, request: web.Request) -> web.Response:
        guild = self.guilds.get(request.match_info["guild"])
        if guild is None or self.bot.id not in guild.members:
            return error_answer(403, 50001, "Missing Access")
        member = guild.members.get(request.match_info["user"])
        if member is None:
            return error_answer(404, 10007, "Unknown Member")
        return json_answer(member.payload())

    def _fault(self, channel_id: str) -> web.Response | None:
        for fault in self.faults.get(channel_id, []):
            if fault.times is not None:
                if fault.times <= 0:
                    continue
                fault.times -= 1
            if fault.status == 429:
                return rate_limited_answer(fault.retry_after, fault.is_global)
            return error_answer(fault.status, fault.code, fault.message)
        return None

    def _may_post(self, channel: Channel, needed: int) -> web.Response | None:
        if channel.guild_id is None:
            return None
        perms = self.permissions(self.guilds[channel.guild_id], self.bot.id, channel)
        if not perms & needed:
            return error_answer(403, 50013, "Missing Permissions")
        return None

    async def _post_message(self, request: web.Request) -> web.Response:
        channel_id = request.match_info["channel"]
        fault = self._fault(channel_id)
        if fault is not None:
            return fault
        channel, error = self._visible_channel(channel_id)
        if error is not None:
            return error
        assert channel is not None
        if channel.type == FORUM:
            return error_answer(400, 50008, "Cannot send messages in a non-text channel")
        needed = SEND_MESSAGES_IN_THREADS if channel.is_thread else SEND_MESSAGES
        denied = self._may_post(channel, needed)
        if denied is not None:
            return denied
        body = await request.json()
        problems = check_create_message(body)
        if problems:
            return invalid_answer(problems)
        answer = json_answer(self._record(channel, body))
        if self.dropped_answers.get(channel_id, 0) > 0:
            self.dropped_answers[channel_id] -= 1
            assert request.transport is not None
            request.transport.close()
        return answer

    async def _post_forum_thread(self, request: web.Request) -> web.Response:
        channel_id = request.match_info["channel"]
        fault = self._fault(channel_id)
        if fault is not None:
            return fault
        forum, error = self._visible_channel(channel_id)
        if error is not None:
            return error
        assert forum is not None and forum.guild_id is not None
        if forum.type != FORUM:
            return invalid_answer(["type: Only forum and media channels take a message with a new thread."])
        denied = self._may_post(forum, SEND_MESSAGES)
        if denied is not None:
            return denied
        body = await request.json()
        name = body.get("name")
        problems = (
            [] if isinstance(name, str) and 1 <= len(name) <= 100 else ["name: must be 1-100 characters"]
        )
        message = body.get("message")
        if not isinstance(message, dict):
            problems.append("message: This field is required")
        else:
            problems += [f"message.{p}" if ": " in p else p for p in check_create_message(message)]
        if problems:
            return invalid_answer(problems)
        refused = self.tag_problem(forum, body)
        if refused is not None:
            return refused
        thread = self.add_channel(self.guilds[forum.guild_id], name, PUBLIC_THREAD, parent=forum)
        thread.applied_tags = [str(t) for t in body.get("applied_tags") or []]
        starter = self._record(thread, message, thread_name=name, message_id=thread.id)
        await self._maybe_dispatch("THREAD_CREATE", thread.payload() | {"newly_created": True})
        return json_answer(thread.payload() | {"message": starter})

    def _record(
        self,
        channel: Channel,
        body: dict[str, Any],
        *,
        thread_name: str | None = None,
        message_id: str | None = None,
    ) -> dict[str, Any]:
        posted = Posted(message_id or snowflake(), channel.id, body, thread_name)
        self.posted.append(posted)
        self._message_event.set()
        return self._message(dict(body, id=posted.id, channel_id=channel.id, guild_id=channel.guild_id))

    def _message(self, body: dict[str, Any]) -> dict[str, Any]:
        """A message object as Discord returns it, from a Create Message body."""
        message = {
            "id": body.get("id") or snowflake(),
            "channel_id": body.get("channel_id"),
            "author": self.bot.payload(),
            "content": body.get("content") or "",
            "timestamp": now_iso(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": [dict(e, type="rich") for e in body.get("embeds") or []],
            "pinned": False,
            "type": 0,
            "flags": body.get("flags") or 0,
            "components": body.get("components") or [],
        }
        if body.get("guild_id"):
            message["guild_id"] = body["guild_id"]
        return message

    async def _maybe_dispatch(self, event: str, data: dict[str, Any]) -> None:
        if any(s.identified for s in self._sessions):
            await self.dispatch(event, data)

    # -- interaction responses --------------------------------------------------------------

    def _live(self, token: str) -> InteractionRecord | None:
        return next((r for r in self.interactions.values() if r.token == token), None)

    async def _interaction_callback(self, request: web.Request) -> web.Response:
        record = self.interactions.get(request.match_info["id"])
        if record is None or record.token != request.match_info["token"]:
            return error_answer(404, 10062, "Unknown interaction")
        if time.monotonic() - record.created > self.interaction_deadline:
            return error_answer(404, 10062, "Unknown interaction")
        if record.callbacks:
            return error_answer(400, 40060, "Interaction has already been acknowledged.")
        body = await request.json()
        problems = validate_callback(body)
        if problems:
            return invalid_answer(problems)
        record.callbacks.append(body)
        record.changed.set()
        data = body.get("data") or {}
        answer: dict[str, Any] = {
            "interaction": {
                "id": record.id,
                "type": record.payload["type"],
                "response_message_loading": body["type"] == 5,
                "response_message_ephemeral": bool((data.get("flags") or 0) & EPHEMERAL),
            }
        }
        if body["type"] in (4, 5, 7):
            message = self._message(dict(data, channel_id=record.payload["channel_id"]))
            answer["interaction"]["response_message_id"] = message["id"]
            answer["resource"] = {"type": body["type"], "message": message}
        if request.query.get("with_response") in ("1", "true"):
            return json_answer(answer)
        return web.Response(status=204)

    async def _webhook_post(self, request: web.Request) -> web.StreamResponse:
        """Interaction followups and channel webhooks share `POST /webhooks/{id}/{token}`."""
        if request.match_info["app"] == self.application_id:
            return await self._followup(request)
        return await self.execute_webhook(request)

    async def _followup(self, request: web.Request) -> web.Response:
        record = self._live(request.match_info["token"])
        if record is None or request.match_info["app"] != self.application_id:
            return error_answer(404, 10015, "Unknown Webhook")
        if not record.callbacks:
            return error_answer(404, 10015, "Unknown Webhook")
        body = await request.json()
        problems = check_create_message(body) + validate_components(body.get("components") or [])
        if problems:
            return invalid_answer(problems)
        record.followups.append(body)
        record.changed.set()
        return json_answer(self._message(dict(body, channel_id=record.payload["channel_id"])))

    async def _edit_original(self, request: web.Request) -> web.Response:
        record = self._live(request.match_info["token"])
        if record is None or not record.callbacks:
            return error_answer(404, 10015, "Unknown Webhook")
        body = await request.json()
        record.edits.append(body)
        record.changed.set()
        return json_answer(self._message(dict(body, channel_id=record.payload["channel_id"])))

    async def _get_original(self, request: web.Request) -> web.Response:
        record = self._live(request.match_info["token"])
        if record is None or not record.callbacks:
            return error_answer(404, 10015, "Unknown Webhook")
        data = (record.callbacks[0].get("data") or {}) | (record.edits[-1] if record.edits else {})
        return json_answer(self._message(dict(data, channel_id=record.payload["channel_id"])))
