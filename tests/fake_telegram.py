"""A fake Telegram Bot API server on 127.0.0.1 for end-to-end tests of the real PTB Application.

It speaks the wire protocol PTB speaks (`POST /bot<token>/<method>`, form-encoded or JSON bodies,
`{"ok": ..., "result" | "error_code", "description", "parameters"}` answers) and enforces the rules
the bot must respect: Telegram's HTML (via tests/telegram_html.py), 1-4096 UTF-16 units of visible
text, 64-byte callback data, "message is not modified", per-chat/global/group flood limits (429 with
retry_after), per-chat injected faults, and answers delayed after the message was stored (a reply
lost on the way back, as far as the client can tell). Tests push updates, which getUpdates long-polls.

This module is the test-facing side (set-up, pushing updates, inspecting); the Bot API methods and
their rules are in fake_telegram_api.py, the data both share in fake_telegram_types.py.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import defaultdict
from collections.abc import Callable, Iterable

import aiohttp
from aiohttp import web
from fake_telegram_api import BotApi
from fake_telegram_pins import PinApi
from fake_telegram_types import (
    BOT_ID,
    BOT_USERNAME,
    JSON,
    SECRET_HEADER,
    ApiError,
    Bucket,
    FakeMessage,
    FloodRules,
    Refused,
    utf16_units,
)


class FakeTelegram(BotApi, PinApi):
    """The server plus its state; use `async with FakeTelegram(token) as fake:`."""

    def __init__(self, token: str, *, flood_rules: FloodRules | None = None, port: int = 0) -> None:
        """`port` 0 picks a free one; a fixed port lets a test start the server after the bot."""
        self.token = token
        self.rules = flood_rules or FloodRules()
        self.bot_user: JSON = {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "Digest",
            "username": BOT_USERNAME,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        self.chats: dict[int, JSON] = {}
        self.members: dict[tuple[int, int], JSON] = {}
        self.messages: dict[int, list[FakeMessage]] = defaultdict(list)
        self.pinned: dict[int, list[int]] = defaultdict(list)
        self.requests: list[tuple[str, JSON]] = []
        self.refused: list[Refused] = []
        self.callback_answers: list[JSON] = []
        self.commands: dict[tuple[str, str], list[JSON]] = {}
        self.webhook: JSON | None = None
        self._faults: dict[int | None, list[tuple[Callable[[], ApiError], int | None]]] = defaultdict(list)
        self._lookup_faults: dict[tuple[str, int], Callable[[], ApiError]] = {}
        self._delays: dict[int, list[float]] = defaultdict(list)
        self._updates: list[JSON] = []
        self._next_update_id = 1
        self._next_message_id: dict[int, int] = defaultdict(lambda: 1)
        self._open_callbacks: set[str] = set()
        self._changed = asyncio.Condition()
        self._buckets: dict[tuple[str, int], Bucket] = {}
        # Paid broadcasts the bot's Stars still pay for (None: any number); see `set_stars`.
        self.paid_left: int | None = None
        self.paid_refusals = 0
        self._runner: web.AppRunner | None = None
        self._closing = False
        self.port = port

    # -- lifecycle -----------------------------------------------------------------------------

    async def __aenter__(self) -> FakeTelegram:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._closing = True
        async with self._changed:
            self._changed.notify_all()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    # -- test set-up ---------------------------------------------------------------------------

    def add_chat(
        self,
        chat_id: int,
        kind: str,
        *,
        title: str = "",
        username: str | None = None,
        is_forum: bool = False,
        first_name: str = "",
    ) -> JSON:
        """Make a chat known (Telegram answers "chat not found" for chats the bot never met)."""
        chat: JSON = {"id": chat_id, "type": kind}
        if kind == "private":
            chat["first_name"] = first_name or f"User{chat_id}"
        else:
            chat["title"] = title or f"Chat {chat_id}"
        if username:
            chat["username"] = username
        if is_forum:
            chat["is_forum"] = True
        self.chats[chat_id] = chat
        return chat

    def user(self, user_id: int, *, language: str | None = "en", name: str = "") -> JSON:
        """A user, with their private chat registered."""
        self.add_chat(user_id, "private", first_name=name or f"User{user_id}")
        user: JSON = {"id": user_id, "is_bot": False, "first_name": name or f"User{user_id}"}
        if language:
            user["language_code"] = language
        return user

    def set_member(self, chat_id: int, user_id: int, status: str, **rights: bool) -> None:
        """What getChatMember answers for (chat, user): creator, administrator, member, left, ..."""
        self.members[(chat_id, user_id)] = {"status": status, **rights}

    def set_bot_admin(self, chat_id: int, *, can_post_messages: bool = True, **rights: bool) -> None:
        self.set_member(chat_id, BOT_ID, "administrator", can_post_messages=can_post_messages, **rights)

    def fail(self, chat_id: int | None, error: Callable[[], ApiError], times: int | None = None) -> None:
        """Answer sends/edits to `chat_id` (None: every chat) with `error`, `times` times or forever."""
        self._faults[chat_id].append((error, times))

    def delay_answer(self, chat_id: int, seconds: float, times: int = 1) -> None:
        """The next `times` sendMessage calls to `chat_id` store the message, then answer only after
        `seconds`: past the client's read timeout the message exists though the client never heard."""
        self._delays[chat_id].extend([seconds] * times)

    def fail_lookups(
        self,
        chat_id: int,
        error: Callable[[], ApiError],
        methods: Iterable[str] = ("getChat", "getChatMember"),
    ) -> None:
        """Answer `methods` about `chat_id` with `error`: a bot removed from a private channel gets
        400 "chat not found" even from getChat; a demoted one may still read the chat but not its
        members (400 "member list is inaccessible", 403 "bot is not a member")."""
        for method in methods:
            self._lookup_faults[(method.lower(), chat_id)] = error

    def set_stars(self, paid_messages: int | None) -> None:
        """The bot's Stars pay for `paid_messages` more paid broadcasts (0: none, None: any number);
        beyond them a paid send is refused with 400 BALANCE_TOO_LOW, as Telegram refuses it."""
        self.paid_left = paid_messages

    def paid_sent(self) -> list[FakeMessage]:
        """Messages that went out as paid broadcasts."""
        return [m for messages in self.messages.values() for m in messages if _is_paid(m.params)]

    def clear_faults(self, chat_id: int | None = None) -> None:
        self._faults.pop(chat_id, None)

    # -- pushing updates -----------------------------------------------------------------------

    def push(self, kind: str, payload: JSON) -> int:
        """Queue one update of `kind` (message, callback_query, my_chat_member, ...)."""
        update_id = self._next_update_id
        self._next_update_id += 1
        self._updates.append({"update_id": update_id, kind: payload})
        asyncio.get_running_loop().create_task(self._notify())
        return update_id

    def push_message(
        self,
        chat_id: int,
        text: str,
        *,
        sender: JSON | None,
        thread_id: int | None = None,
        sender_chat: JSON | None = None,
    ) -> int:
        """A text message; a leading /command gets its bot_command entity like Telegram sends it."""
        chat = self.chats[chat_id]
        message: JSON = {
            "message_id": self._message_id(chat_id),
            "date": int(time.time()),
            "chat": chat,
            "text": text,
        }
        if sender is not None:
            message["from"] = sender
        if sender_chat is not None:
            message["sender_chat"] = sender_chat
        if thread_id is not None:
            message["message_thread_id"] = thread_id
            message["is_topic_message"] = bool(chat.get("is_forum"))
        if text.startswith("/"):
            length = len(text.split()[0]) if text.split() else 1
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": utf16_units(text[:length])}]
        return self.push("message", message)

    def push_callback(self, message: FakeMessage, data: str, *, sender: JSON) -> str:
        """A press on an inline button of a message the bot sent."""
        query_id = f"q{self._next_update_id}"
        self._open_callbacks.add(query_id)
        self.push(
            "callback_query",
            {
                "id": query_id,
                "from": sender,
                "chat_instance": f"ci{message.chat_id}",
                "data": data,
                "message": self._message_json(message),
            },
        )
        return query_id

    def push_my_chat_member(self, chat_id: int, old: str, new: str, *, by: JSON, **rights: bool) -> int:
        """The bot's own membership changed (added, kicked, blocked, demoted)."""
        return self.push(
            "my_chat_member",
            {
                "chat": self.chats[chat_id],
                "from": by,
                "date": int(time.time()),
                "old_chat_member": self._member_json(BOT_ID, {"status": old}),
                "new_chat_member": self._member_json(BOT_ID, {"status": new, **rights}),
            },
        )

    def push_migration(self, old_chat_id: int, new_chat_id: int, *, sender: JSON) -> int:
        """The service message a group gets when it becomes a supergroup."""
        old = self.chats[old_chat_id]
        self.add_chat(new_chat_id, "supergroup", title=old.get("title", ""))
        return self.push(
            "message",
            {
                "message_id": self._message_id(old_chat_id),
                "date": int(time.time()),
                "chat": old,
                "from": sender,
                "migrate_to_chat_id": new_chat_id,
            },
        )

    async def post_webhook(self, url: str, update: JSON | bytes, *, secret: str | None = None) -> int:
        """POST one update (or raw bytes) to the bot's webhook as Telegram does: with the registered
        secret header, or `secret` when given to forge one ("" sends none). Returns the HTTP status."""
        secret = (self.webhook or {}).get("secret_token") if secret is None else secret
        headers = {SECRET_HEADER: secret} if secret else {}
        body = update if isinstance(update, bytes) else json.dumps(update).encode()
        async with (
            aiohttp.ClientSession() as http,
            http.post(url, data=body, headers=headers) as response,
        ):
            return response.status

    # -- inspecting ----------------------------------------------------------------------------

    def sent_to(self, chat_id: int) -> list[FakeMessage]:
        return list(self.messages.get(chat_id, []))

    def calls(self, method: str) -> list[JSON]:
        return [params for name, params in self.requests if name == method.lower()]

    async def wait_for(
        self, condition: Callable[[], bool], timeout: float = 10.0, message: str = "the awaited state"
    ) -> None:
        """Wait until `condition()` holds, re-checked after every request the fake answers; a test
        failure naming `message`, not a hang, when it never does."""
        try:
            async with self._changed:
                await asyncio.wait_for(self._changed.wait_for(condition), timeout)
        except TimeoutError:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {message}") from None

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()


def _is_paid(params: JSON) -> bool:
    return params.get("allow_paid_broadcast") is True
