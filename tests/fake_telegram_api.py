"""The Bot API methods of the fake Telegram server, and the rules it enforces on them.

A mixin of FakeTelegram (fake_telegram.py), which holds the state these methods read and change; kept
apart so the test-facing side (set-up, pushing updates, inspecting) reads on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import time
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from fake_telegram_types import (
    ADMIN_RIGHTS,
    BOT_ID,
    JSON,
    MAX_CALLBACK_BYTES,
    RESTRICTED_RIGHTS,
    STRING_KEYS,
    WEBHOOK_SECRET,
    ApiError,
    Bucket,
    FakeMessage,
    Refused,
    balance_too_low,
    chat_not_found,
    flood,
)
from telegram_html import TelegramBadRequest, check_send_message

WEBHOOK_PORTS = frozenset({80, 88, 443, 8443})


class BotApi:
    """`POST /bot<token>/<method>` answered as Telegram would, with its limits enforced."""

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
        """Records the registration, secret_token included, refusing a secret or a port Telegram would
        refuse (webhooks go only to ports 443, 80, 88 and 8443)."""
        secret = params.get("secret_token")
        if secret is not None and not WEBHOOK_SECRET.fullmatch(str(secret)):
            raise ApiError(400, "Bad Request: secret token contains unallowed characters")
        if (urlsplit(str(params.get("url", ""))).port or 443) not in WEBHOOK_PORTS:
            raise ApiError(
                400, "Bad Request: bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443"
            )
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
        paid = params.get("allow_paid_broadcast") is True
        if paid and self.paid_left == 0:
            self.paid_refusals += 1
            raise balance_too_low()
        self._flood(chat["id"], paid=paid)
        text, visible, parse_mode = _text(params)
        markup = _markup(params.get("reply_markup"))
        if paid and self.paid_left is not None:
            self.paid_left -= 1
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

    def _flood(self, chat_id: int, *, paid: bool = False) -> None:
        """Telegram's flood limits; a paid broadcast trades the free global limit for the paid one."""
        rules = self.rules
        if not rules.enabled:
            return
        now = time.monotonic()
        checks = [
            ("paid", 0, rules.paid_per_second, rules.paid_burst)
            if paid
            else ("global", 0, rules.global_per_second, rules.global_burst),
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

    def _bucket(self, name: str, key: int, rate: float, burst: float, now: float) -> Bucket:
        bucket = self._buckets.get((name, key))
        if bucket is None:
            bucket = self._buckets[(name, key)] = Bucket(rate, burst, burst, now)
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
