"""A fake Telegram Bot API server on 127.0.0.1 for end-to-end tests of the real PTB Application.

It speaks the wire protocol PTB speaks (`POST /bot<token>/<method>`, form-encoded or JSON bodies,
`{"ok": ..., "result" | "error_code", "description", "parameters"}` answers) and enforces the rules
the bot must respect: Telegram's HTML (via tests/telegram_html.py), 1-4096 UTF-16 units of visible
text, 64-byte callback data, "message is not modified", per-chat/global/group flood limits (429 with
retry_after), per-chat injected faults, and answers delayed after the message was stored (a reply
lost on the way back, as far as the client can tell). Tests push updates, which getUpdates long-polls.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import re
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web
from telegram_html import TelegramBadRequest, check_send_message

JSON = dict[str, Any]
BOT_ID = 5_000_001
BOT_USERNAME = "digest_test_bot"
MAX_CALLBACK_BYTES = 64
# Parameters whose form value is a raw string even when it looks like JSON (a text "123" stays text).
STRING_KEYS = frozenset(
    {"text", "parse_mode", "callback_query_id", "language_code", "url", "secret_token", "caption"}
)
WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
SEND_METHODS = frozenset({"sendmessage"})
EDIT_METHODS = frozenset({"editmessagetext", "editmessagereplymarkup"})


class ApiError(Exception):
    """An error answer: HTTP status, Telegram description and optional response parameters."""

    def __init__(self, status: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters


def blocked() -> ApiError:
    return ApiError(403, "Forbidden: bot was blocked by the user")


def kicked() -> ApiError:
    return ApiError(403, "Forbidden: bot was kicked from the group chat")


def chat_not_found() -> ApiError:
    return ApiError(400, "Bad Request: chat not found")


def flood(retry_after: int) -> ApiError:
    return ApiError(429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after})


def migrated(new_chat_id: int) -> ApiError:
    return ApiError(
        400, "Bad Request: group chat was upgraded to a supergroup chat", {"migrate_to_chat_id": new_chat_id}
    )


def server_error() -> ApiError:
    return ApiError(500, "Internal Server Error")


def utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


@dataclass
class FloodRules:
    """Telegram's flood limits as token buckets; `enabled=False` turns the checks off."""

    enabled: bool = True
    per_chat_per_second: float = 1.0
    per_chat_burst: float = 3.0
    global_per_second: float = 30.0
    global_burst: float = 30.0
    group_per_minute: float = 20.0
    group_burst: float = 20.0


@dataclass
class _Bucket:
    rate: float
    capacity: float
    tokens: float
    stamp: float

    def wait(self, now: float) -> float:
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate


@dataclass
class FakeMessage:
    """A message the bot sent (and maybe edited); `text` is what the bot sent, `visible` what shows."""

    message_id: int
    chat_id: int
    thread_id: int | None
    text: str
    visible: str
    parse_mode: str | None
    reply_markup: JSON | None
    date: int
    edits: int = 0
    params: JSON = field(default_factory=dict)

    def buttons(self) -> list[JSON]:
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [button for row in rows for button in row]


@dataclass(frozen=True)
class Refused:
    """A send answered with 429 by the flood rules (not by an injected fault)."""

    chat_id: int
    retry_after: int
    rule: str


class FakeTelegram:
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
        self._buckets: dict[tuple[str, int], _Bucket] = {}
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

    def set_bot_admin(self, chat_id: int, *, can_post_messages: bool = True) -> None:
        self.set_member(chat_id, BOT_ID, "administrator", can_post_messages=can_post_messages)

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

    # -- the HTTP side -------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _answer_error(ApiError(401, "Unauthorized"))
        method = request.match_info["method"].lower()
        try:
            params = await _params(request)
        except ValueError as exc:
            return _answer_error(ApiError(400, f"Bad Request: {exc}"))
        self.requests.append((method, params))
        handler = getattr(self, f"_m_{method}", None)
        try:
            if handler is None:
                raise ApiError(404, "Not Found")
            result = await handler(params)
        except ApiError as exc:
            return _answer_error(exc)
        finally:
            await self._notify()
        return web.json_response({"ok": True, "result": result})

    async def _m_getme(self, params: JSON) -> JSON:
        return self.bot_user

    async def _m_deletewebhook(self, params: JSON) -> bool:
        self.webhook = None
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    async def _m_setwebhook(self, params: JSON) -> bool:
        """Records the registration, secret_token included, refusing a secret Telegram would refuse."""
        secret = params.get("secret_token")
        if secret is not None and not WEBHOOK_SECRET.fullmatch(str(secret)):
            raise ApiError(400, "Bad Request: secret token contains unallowed characters")
        self.webhook = params
        return True

    async def _m_getupdates(self, params: JSON) -> list[JSON]:
        offset = int(params.get("offset") or 0)
        timeout = float(params.get("timeout") or 0)
        limit = int(params.get("limit") or 100)
        allowed = params.get("allowed_updates")
        if offset:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        deadline = time.monotonic() + timeout
        while True:
            ready = [u for u in self._updates if not allowed or any(k in u for k in allowed)]
            remaining = deadline - time.monotonic()
            if ready or remaining <= 0 or self._closing:
                return ready[:limit]
            async with self._changed:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), remaining)

    async def _m_sendmessage(self, params: JSON) -> JSON:
        chat = self._chat(params.get("chat_id"))
        self._fault(chat["id"])
        self._flood(chat["id"])
        text, visible, parse_mode = _text(params)
        markup = _markup(params.get("reply_markup"))
        thread = params.get("message_thread_id")
        message = FakeMessage(
            message_id=self._message_id(chat["id"]),
            chat_id=chat["id"],
            thread_id=int(thread) if thread is not None else None,
            text=text,
            visible=visible,
            parse_mode=parse_mode,
            reply_markup=markup,
            date=int(time.time()),
            params=params,
        )
        self.messages[chat["id"]].append(message)
        delays = self._delays.get(chat["id"])
        if delays:
            await self._notify()
            await asyncio.sleep(delays.pop(0))
        return self._message_json(message)

    async def _m_editmessagetext(self, params: JSON) -> JSON:
        message = self._find(params)
        self._fault(message.chat_id)
        text, visible, parse_mode = _text(params)
        markup = _markup(params.get("reply_markup"))
        if text == message.text and parse_mode == message.parse_mode and markup == message.reply_markup:
            raise ApiError(
                400,
                "Bad Request: message is not modified: specified new message content and reply markup "
                "are exactly the same as a current content and reply markup of the message",
            )
        message.text, message.visible, message.parse_mode = text, visible, parse_mode
        message.reply_markup = markup
        message.edits += 1
        return self._message_json(message)

    async def _m_editmessagereplymarkup(self, params: JSON) -> JSON:
        message = self._find(params)
        markup = _markup(params.get("reply_markup"))
        if markup == message.reply_markup:
            raise ApiError(400, "Bad Request: message is not modified")
        message.reply_markup = markup
        message.edits += 1
        return self._message_json(message)

    async def _m_answercallbackquery(self, params: JSON) -> bool:
        query_id = str(params.get("callback_query_id"))
        if query_id not in self._open_callbacks:
            raise ApiError(
                400, "Bad Request: query is too old and response timeout expired or query ID is invalid"
            )
        self._open_callbacks.discard(query_id)
        if len(str(params.get("text") or "")) > 200:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        self.callback_answers.append(params)
        return True

    async def _m_getchat(self, params: JSON) -> JSON:
        chat = self._chat(params.get("chat_id"), "getchat")
        return {
            **chat,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    async def _m_getchatmember(self, params: JSON) -> JSON:
        chat = self._chat(params.get("chat_id"), "getchatmember")
        user_id = int(params["user_id"])
        if chat["type"] == "private":
            status = {"status": "member"} if user_id in (chat["id"], BOT_ID) else {"status": "left"}
        else:
            status = self.members.get((chat["id"], user_id), {"status": "left"})
        return self._member_json(user_id, status)

    async def _m_setmycommands(self, params: JSON) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise ApiError(400, "Bad Request: commands must be a list of at most 100 BotCommand")
        for command in commands:
            name, description = str(command.get("command", "")), str(command.get("description", ""))
            if not (1 <= len(name) <= 32 and name.islower() and name.replace("_", "").isalnum()):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(description) <= 256:
                raise ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        scope = params.get("scope") or {"type": "default"}
        if scope.get("type") == "chat":
            self._chat(scope.get("chat_id"))
        self.commands[(json.dumps(scope, sort_keys=True), params.get("language_code") or "")] = commands
        return True

    async def _m_deletemycommands(self, params: JSON) -> bool:
        scope = params.get("scope") or {"type": "default"}
        self.commands.pop((json.dumps(scope, sort_keys=True), params.get("language_code") or ""), None)
        return True

    # -- rules -----------------------------------------------------------------------------------

    def _chat(self, chat_id: object, method: str = "") -> JSON:
        """The chat `chat_id` names, or the error Telegram gives `method` for it."""
        chat: JSON | None = None
        if isinstance(chat_id, str) and chat_id.startswith("@"):
            wanted = chat_id[1:].lower()
            chat = next((c for c in self.chats.values() if c.get("username", "").lower() == wanted), None)
        else:
            with contextlib.suppress(TypeError, ValueError):
                chat = self.chats.get(int(chat_id))  # type: ignore[arg-type]
        if chat is None:
            raise chat_not_found()
        fault = self._lookup_faults.get((method, chat["id"]))
        if fault is not None:
            raise fault()
        return chat

    def _find(self, params: JSON) -> FakeMessage:
        chat = self._chat(params.get("chat_id"))
        message_id = int(params.get("message_id") or 0)
        for message in self.messages.get(chat["id"], []):
            if message.message_id == message_id:
                return message
        raise ApiError(400, "Bad Request: message to edit not found")

    def _fault(self, chat_id: int) -> None:
        for key in (chat_id, None):
            faults = self._faults.get(key)
            if not faults:
                continue
            error, times = faults[0]
            if times is not None:
                if times <= 1:
                    faults.pop(0)
                else:
                    faults[0] = (error, times - 1)
            raise error()

    def _flood(self, chat_id: int) -> None:
        rules = self.rules
        if not rules.enabled:
            return
        now = time.monotonic()
        checks = [
            ("global", 0, rules.global_per_second, rules.global_burst),
            ("chat", chat_id, rules.per_chat_per_second, rules.per_chat_burst),
        ]
        if chat_id < 0:
            checks.append(("group", chat_id, rules.group_per_minute / 60, rules.group_burst))
        buckets = [(name, self._bucket(name, key, rate, burst, now)) for name, key, rate, burst in checks]
        waits = [(bucket.wait(now), name) for name, bucket in buckets]
        wait, rule = max(waits)
        if wait > 0:
            retry_after = max(1, math.ceil(wait))
            self.refused.append(Refused(chat_id, retry_after, rule))
            raise flood(retry_after)
        for _, bucket in buckets:
            bucket.tokens -= 1

    def _bucket(self, name: str, key: int, rate: float, burst: float, now: float) -> _Bucket:
        bucket = self._buckets.get((name, key))
        if bucket is None:
            bucket = self._buckets[(name, key)] = _Bucket(rate, burst, burst, now)
        return bucket

    def _message_id(self, chat_id: int) -> int:
        message_id = self._next_message_id[chat_id]
        self._next_message_id[chat_id] += 1
        return message_id

    def _message_json(self, message: FakeMessage) -> JSON:
        chat = self.chats[message.chat_id]
        data: JSON = {
            "message_id": message.message_id,
            "date": message.date,
            "chat": chat,
            "text": message.visible,
        }
        if chat["type"] != "channel":
            data["from"] = self.bot_user
        else:
            data["sender_chat"] = chat
        if message.thread_id is not None:
            data["message_thread_id"] = message.thread_id
            data["is_topic_message"] = bool(chat.get("is_forum"))
        if message.reply_markup is not None:
            data["reply_markup"] = message.reply_markup
        return data

    def _member_json(self, user_id: int, status: JSON) -> JSON:
        user = (
            self.bot_user
            if user_id == BOT_ID
            else {"id": user_id, "is_bot": False, "first_name": f"U{user_id}"}
        )
        data: JSON = {"user": user, **status}
        if data["status"] == "administrator":
            for right in ADMIN_RIGHTS:
                data.setdefault(right, True)
            data.setdefault("can_be_edited", False)
            data.setdefault("is_anonymous", False)
        if data["status"] == "creator":
            data.setdefault("is_anonymous", False)
        if data["status"] == "restricted":
            data.setdefault("is_member", True)
            data.setdefault("until_date", 0)
            for right in RESTRICTED_RIGHTS:
                data.setdefault(right, True)
        if data["status"] == "kicked":
            data.setdefault("until_date", 0)
        return data


ADMIN_RIGHTS = (
    "can_manage_chat",
    "can_delete_messages",
    "can_manage_video_chats",
    "can_restrict_members",
    "can_promote_members",
    "can_change_info",
    "can_invite_users",
    "can_post_stories",
    "can_edit_stories",
    "can_delete_stories",
)
RESTRICTED_RIGHTS = (
    "can_send_messages",
    "can_send_audios",
    "can_send_documents",
    "can_send_photos",
    "can_send_videos",
    "can_send_video_notes",
    "can_send_voice_notes",
    "can_send_polls",
    "can_send_other_messages",
    "can_add_web_page_previews",
    "can_change_info",
    "can_invite_users",
    "can_pin_messages",
    "can_manage_topics",
    "can_edit_tag",
    "can_react_to_messages",
)


async def _params(request: web.Request) -> JSON:
    """Request parameters from a JSON body, a form (urlencoded or multipart) or the query string."""
    params: JSON = dict(request.query)
    if request.method == "POST" and request.can_read_body:
        if request.content_type == "application/json":
            body = await request.json()
            if not isinstance(body, dict):
                raise ValueError("JSON body must be an object")
            params.update(body)
            return params
        form = await request.post()
        params.update({key: value for key, value in form.items() if isinstance(value, str)})
    return {key: _decode(key, value) for key, value in params.items()}


def _decode(key: str, value: Any) -> Any:
    """Form values are strings; PTB JSON-encodes everything that is not a string already."""
    if key in STRING_KEYS or not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _text(params: JSON) -> tuple[str, str, str | None]:
    """The text as sent, the text as shown, and the parse mode, or the error Telegram would give."""
    try:
        visible = check_send_message(params)
    except TelegramBadRequest as exc:
        raise ApiError(400, exc.description) from None
    return str(params["text"]), visible, params.get("parse_mode") or None


def _markup(markup: Any) -> JSON | None:
    """An inline keyboard, checked the way Telegram checks it (callback data 1-64 bytes)."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
    rows = markup.get("inline_keyboard")
    if rows is None:
        return markup
    for button in (b for row in rows for b in row):
        if not str(button.get("text", "")):
            raise ApiError(400, "Bad Request: text buttons are unallowed in the inline keyboard")
        data = button.get("callback_data")
        if data is not None and not 1 <= len(str(data).encode()) <= MAX_CALLBACK_BYTES:
            raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
    return markup


def _answer_error(error: ApiError) -> web.Response:
    body: JSON = {"ok": False, "error_code": error.status, "description": error.description}
    if error.parameters:
        body["parameters"] = error.parameters
    return web.json_response(body, status=error.status)


def texts(messages: Iterable[FakeMessage]) -> list[str]:
    return [message.visible for message in messages]
