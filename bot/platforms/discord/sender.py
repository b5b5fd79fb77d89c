"""Sends rendered Create Message bodies to Discord and turns every failure into a delivery outcome.

The renderer's JSON goes to the API unchanged through discord.py's HTTPClient (`send_message` /
`start_thread_in_forum` with the raw payload), not rebuilt from `discord.Embed` objects: the bodies
are already checked against Discord's limits, and a round trip through the object model could only
drop or reshape fields. The HTTPClient still applies discord.py's per-route buckets and handles 429s;
a wait longer than the client's `max_ratelimit_timeout` comes back as RetryAfter for the engine.

A forum channel takes one new post per digest: part 1 of a digest creates the post (named after the
digest's header) and later parts go into that post.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import discord
from discord.http import MultipartParameters

from bot.delivery.outcome import (
    ChatGone,
    FormatRejected,
    Outcome,
    Payload,
    RetryAfter,
    Sent,
    Target,
    Transient,
    Uncertain,
)
from bot.platforms.discord.render import plain_discord
from bot.platforms.discord.spec import FORUM, PLATFORM

POST_NAME_LIMIT = 100
DEFAULT_POST_NAME = "Digest"
# Discord error codes that mean "this chat cannot take our messages any more": never retried.
GONE_CODES = {
    10003: "Unknown Channel",
    50001: "Missing Access",
    50013: "Missing Permissions",
    50007: "Cannot send messages to this user",
    50008: "Cannot send messages in a non-text channel",
    50083: "Thread is archived",
    160005: "Thread is locked",
    40067: "A tag is required to create a forum post in this channel",
}
INVALID_FORM_BODY = 50035
# aiohttp failures before the request is on its way: no connection was made (refused, unreachable,
# DNS, TLS handshake, connect timeout). Any other network failure may come after Discord got it.
NOT_SENT = (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError, ConnectionRefusedError)


class DiscordSender:
    """The delivery engine's view of Discord: sends through `client`'s HTTPClient once it is ready."""

    platform = PLATFORM

    def __init__(self, client: discord.Client) -> None:
        self._client = client
        self._open_posts: dict[str, int] = {}

    def use(self, client: discord.Client) -> None:
        """Send through `client` from now on (the platform replaced a client whose start failed)."""
        self._client = client
        self._open_posts.clear()

    async def send(self, target: Target, payload: Payload, *, post: Payload | None = None) -> Outcome:
        """Send one body; `post` adds fields to a new forum post's body (its tags)."""
        if not target.chat_id.isdigit():
            return ChatGone(f"{target.chat_id[:40]!r} is not a Discord channel id (a number)")
        if not self._client.is_ready():
            # Before READY the channel cache (which tells forums apart) is empty; the engine retries.
            return Transient("discord gateway is not connected yet")
        try:
            if self._is_forum(target):
                message_id = await self._post_in_forum(target, payload, post or {})
            else:
                data = await self._client.http.send_message(int(target.chat_id), params=_raw(payload))
                message_id = str(data["id"])
        except (discord.HTTPException, discord.RateLimited, aiohttp.ClientError, OSError) as exc:
            return outcome_for(exc)
        return Sent(message_id)

    def plain(self, payload: Payload) -> Payload:
        return plain_discord(payload)

    def _is_forum(self, target: Target) -> bool:
        """Stored kind first; the cache corrects a forum configured as a plain channel (broadcasts)."""
        if target.kind == FORUM:
            return True
        channel = self._client.get_channel(int(target.chat_id))
        return isinstance(channel, discord.ForumChannel)

    async def _post_in_forum(self, target: Target, payload: Payload, post: Payload) -> str:
        """Part 1 opens a post; later parts of the same digest continue it (a new post if unknown)."""
        part = target.part  # the 1-based part of the digest being sent
        open_post = self._open_posts.get(target.chat_id)
        if part > 1 and open_post is not None:
            data = await self._client.http.send_message(open_post, params=_raw(payload))
            return str(data["id"])
        body = {"name": post_name(payload), "message": payload, **post}
        thread = await self._client.http.start_thread_in_forum(int(target.chat_id), params=_raw(body))
        self._open_posts[target.chat_id] = int(thread["id"])
        return str((thread.get("message") or thread)["id"])


def _raw(payload: dict[str, Any]) -> MultipartParameters:
    return MultipartParameters(payload=payload, multipart=None, files=None)


def post_name(payload: Payload) -> str:
    """A forum post title from the body: its first content line, else its first embed's title."""
    lines = [
        discord.utils.remove_markdown(line).strip() for line in str(payload.get("content") or "").splitlines()
    ]
    titles = [str(e.get("title") or "").strip() for e in payload.get("embeds") or () if isinstance(e, dict)]
    name = next((text for text in (*lines, *titles) if text), DEFAULT_POST_NAME)
    return name if len(name) <= POST_NAME_LIMIT else name[: POST_NAME_LIMIT - 1].rstrip() + "…"


def outcome_for(exc: BaseException) -> Outcome:
    """The engine outcome for a failed Discord call.

    403 and 404 (Missing Access 50001, Missing Permissions 50013, Unknown Channel 10003, ...) and the
    codes for archived/locked threads mean the chat is gone: the subscription pauses and the channel
    is not hit again (Discord bans bots that keep making refused requests). 400 Invalid Form Body
    (50035) means the body was refused; 5xx and 401 are transient (retried), and so is a failure to
    connect. A timeout or a dropped connection after the request was written is Uncertain: the
    message may exist, so it is not resent. (discord.py's HTTPClient itself already retried
    500/502/504/524 answers, 429 waits up to max_ratelimit_timeout, and a connection reset, errno
    54/10054, up to 4 times; that last retry is blind and outside our control.)
    """
    if isinstance(exc, discord.RateLimited):
        return RetryAfter(exc.retry_after)
    if isinstance(exc, discord.HTTPException):
        code, status = exc.code, exc.status
        detail = f"HTTP {status}, code {code}: {exc.text or GONE_CODES.get(code, 'no message')}"[:300]
        if status == 429:
            return RetryAfter(_retry_after(exc))
        if code in GONE_CODES:
            return ChatGone(f"{GONE_CODES[code]} ({code})")
        if status in (403, 404):
            return ChatGone(detail)
        if status >= 500 or status == 401:
            return Transient(detail)
        if code == INVALID_FORM_BODY or status == 400:
            return FormatRejected(detail)
        return Transient(detail)
    if isinstance(exc, NOT_SENT):
        return Transient(f"{type(exc).__name__}: {exc}"[:300])
    return Uncertain(f"{type(exc).__name__} after the request was sent: {exc}"[:300])


def _retry_after(exc: discord.HTTPException) -> float:
    """A 429 discord.py gave up on (e.g. one without Discord's proxy header): wait what it says."""
    header = exc.response.headers.get("Retry-After") if exc.response is not None else None
    try:
        return max(float(header), 1.0) if header is not None else 5.0
    except ValueError:
        return 5.0
