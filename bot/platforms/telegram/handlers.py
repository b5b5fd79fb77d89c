"""PTB update callbacks: turn messages, button presses and membership changes into service calls.

Every callback catches its own failures and logs one line (never the token: logging redacts it, and
we never format request URLs ourselves), so no update can stop the bot. Per-chat locks keep picker
presses and setting changes for one chat in order while other chats are handled concurrently.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import Awaitable, Callable

from telegram import Bot, InlineKeyboardMarkup, Message, Update
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.commands.budget import CommandBudget, Verdict
from bot.commands.language import choose_language
from bot.commands.model import Caller, ChatRef, Command
from bot.commands.service import CommandService
from bot.commands.table import BY_NAME, Access, command_names
from bot.platforms.telegram.keyboards import ConfirmPress, decode, decode_confirm, picker_keyboard
from bot.platforms.telegram.pages import PagePress, decode_page, pager_keyboard
from bot.platforms.telegram.permissions import Refusal, can_manage, channel_access, is_chat_admin
from bot.platforms.telegram.pins import pin_refusal
from bot.platforms.telegram.replies import NO_PREVIEW, ReplySender, Where
from bot.platforms.telegram.reply_queue import ReplyQueue
from bot.platforms.telegram.spec import PLATFORM
from bot.platforms.telegram.texts import tr
from bot.platforms.telegram.translate import (
    ParsedCommand,
    caller_id,
    chat_ref,
    gone_reason,
    is_channel_ref,
    parse_command,
    topic_id,
)

log = logging.getLogger(__name__)
MANAGING = frozenset(command_names(Access.MANAGERS))
# What a first argument naming a channel (`/status @news`) may be used with, from a private chat.
CHANNEL_COMMANDS = MANAGING | {"latest", "status"}
# What the subscriber of a channel may still do once nobody can verify its administrators.
UNVERIFIED_COMMANDS = frozenset({"status", "unsubscribe"})
MAX_ALERT = 200
SUPERGROUP = "supergroup"  # what a Telegram group becomes when it migrates


def describe(exc: BaseException) -> str:
    """One line naming an error, for logs."""
    message = exc.message if isinstance(exc, TelegramError) else str(exc)
    return f"{type(exc).__name__}: {' '.join(message.split())[:300]}"


class TelegramHandlers:
    """The adapter's update callbacks, bound to one command service and one reply sender."""

    def __init__(
        self,
        service: CommandService,
        replies: ReplySender,
        budget: CommandBudget,
        *,
        owners: frozenset[int],
        default_language: str,
    ) -> None:
        self._service = service
        self._replies = replies
        self._queue = ReplyQueue()
        self._budget = budget
        self._owners = owners
        self._default_language = default_language
        self._locks: weakref.WeakValueDictionary[tuple[str, str | None], asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )

    def _lock(self, chat: ChatRef) -> asyncio.Lock:
        """One lock per chat and topic, dropped when nobody holds or waits for it."""
        key = (chat.chat_id, chat.thread_id)
        lock = self._locks.get(key)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[key] = lock
        return lock

    # -- messages ------------------------------------------------------------------------------

    async def on_message(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.message
        if message is None:
            return
        if message.migrate_to_chat_id is not None:
            await self._migrated(message)
            return
        parsed = parse_command(message.text, context.bot.username)
        if parsed is None:
            return
        if message.chat.type != "private" and parsed.name not in BY_NAME and not parsed.addressed:
            return  # probably another bot's command in a shared group
        user = message.from_user
        language = choose_language(None, user.language_code if user else None, self._default_language)
        reply_to = None if message.chat.type == "private" else message.message_id
        where = Where(message.chat.id, message.chat.type, topic_id(message), reply_to)
        verdict = self._budget.admit(PLATFORM, caller_id(message))
        if verdict is Verdict.RUN:
            await self._run(context.bot, message, parsed, where, language)
        elif verdict is Verdict.SLOW_DOWN:
            self._post_text(where, self._budget.slow_down(language), parsed.name, language)

    async def _run(
        self, bot: Bot, message: Message, parsed: ParsedCommand, where: Where, language: str
    ) -> None:
        """Handle the command now and queue its reply: sending waits for pacing, handlers must not."""
        try:
            built = await self._build(bot, message, parsed, language)
            if isinstance(built, str):
                self._post_text(where, built, parsed.name, language)
                return
            refused = await pin_refusal(bot, built)
            if refused is not None:
                self._post_text(where, tr(refused, language), parsed.name, language)
                return
            async with self._lock(built.chat):
                reply = await self._service.handle(built)
        except TelegramError as exc:
            log.warning("telegram: /%s in chat %s failed: %s", parsed.name, message.chat.id, describe(exc))
            self._post_text(where, tr("telegram_failed", language), parsed.name, language)
            return
        except Exception as exc:
            log.error("telegram: /%s in chat %s failed: %s", parsed.name, message.chat.id, describe(exc))
            log.debug("telegram: traceback of the failure above", exc_info=True)
            self._post_text(where, tr("internal_error", language), parsed.name, language)
            return
        target = built.chat.chat_id if built.chat.chat_id != str(message.chat.id) else None
        self._post(
            where,
            parsed.name,
            language,
            lambda: self._replies.reply(where, reply, language=language, target=target),
        )

    def _post_text(self, where: Where, text: str, command: str, language: str) -> None:
        self._post(where, command, language, lambda: self._replies.text(where, text))

    def _post(self, where: Where, command: str, language: str, send: Callable[[], Awaitable[None]]) -> None:
        """Queue a reply for the chat's reply worker; a failed send is logged and apologised for."""

        async def deliver() -> None:
            try:
                await send()
            except TelegramError as exc:
                log.warning(
                    "telegram: reply to /%s in chat %s failed: %s", command, where.chat_id, describe(exc)
                )
                with contextlib.suppress(TelegramError):
                    await self._replies.text(where, tr("telegram_failed", language))

        self._queue.put(where.chat_id, deliver)

    async def close(self) -> None:
        """Drop replies still waiting to be sent (the platform is stopping)."""
        await self._queue.close()

    async def _build(self, bot: Bot, message: Message, parsed: ParsedCommand, language: str) -> Command | str:
        """The Command for a message, or the text of a refusal the adapter gives itself."""
        user = message.from_user
        owner = user is not None and message.sender_chat is None and user.id in self._owners
        user_language = user.language_code if user is not None else None
        args = parsed.args
        if args and parsed.name in CHANNEL_COMMANDS and is_channel_ref(args[0]):
            if message.chat.type != "private" or user is None:
                return tr("channels_in_private", language)
            access = await self._channel(bot, args[0], user.id, parsed.name)
            if isinstance(access, Refusal):
                return tr(access.key, language, channel=args[0])
            caller = Caller(str(user.id), user_language, can_manage=True, is_owner=owner)
            return Command(parsed.name, args[1:], access, caller)
        manage = parsed.name in MANAGING and await can_manage(bot, message)
        caller = Caller(caller_id(message), user_language, can_manage=manage, is_owner=owner)
        return Command(parsed.name, args, chat_ref(message.chat, topic_id(message)), caller, parsed.text)

    async def _channel(self, bot: Bot, ref: str, user_id: int, command: str) -> ChatRef | Refusal:
        """Channel access for `command`, or, when the bot lost the channel, the subscription this
        user created for that id, for /status and /unsubscribe only.

        A removed or demoted bot cannot ask Telegram who administers the channel any more. The
        creator must still see why it is paused and be able to stop it, but a creator who may since
        have been demoted too must not change its settings on the strength of an old record.
        """
        access = await channel_access(bot, ref, user_id, need_post=command == "subscribe")
        if isinstance(access, ChatRef) or access.verified or command not in UNVERIFIED_COMMANDS:
            return access
        sub = await self._service.store.get_subscription(PLATFORM, ref, None)
        if sub is None or sub.created_by != str(user_id):
            return access
        return ChatRef(PLATFORM, sub.chat_id, None, sub.kind, sub.title)

    async def _migrated(self, message: Message) -> None:
        old, new = str(message.chat.id), str(message.migrate_to_chat_id)
        try:
            await self._service.store.migrate_chat(PLATFORM, old, new, SUPERGROUP)
        except Exception as exc:
            log.error("telegram: moving chat %s to %s failed: %s", old, new, describe(exc))
            return
        log.info("telegram: chat %s became supergroup %s", old, new)

    # -- category picker buttons ---------------------------------------------------------------

    async def on_callback(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is None:
            return
        language = choose_language(None, query.from_user.language_code, self._default_language)
        verdict = self._budget.admit(PLATFORM, str(query.from_user.id))
        if verdict is Verdict.SLOW_DOWN:
            with contextlib.suppress(TelegramError):
                await query.answer(self._budget.slow_down(language), show_alert=True)
        if verdict is not Verdict.RUN:
            return  # an ignored press is not even answered: a flood costs no requests
        try:
            alert = await self._press(context.bot, update, language)
            await query.answer(alert[:MAX_ALERT] if alert else None, show_alert=bool(alert))
        except TelegramError as exc:
            log.warning("telegram: button press in %s failed: %s", _chat_of(update), describe(exc))
            with contextlib.suppress(TelegramError):
                await query.answer(tr("telegram_failed", language), show_alert=True)
        except Exception as exc:
            log.error("telegram: button press in %s failed: %s", _chat_of(update), describe(exc))
            log.debug("telegram: traceback of the failure above", exc_info=True)
            with contextlib.suppress(TelegramError):
                await query.answer(tr("internal_error", language), show_alert=True)

    async def _press(self, bot: Bot, update: Update, language: str) -> str | None:
        """Apply one press and edit the picker in place; returns an alert text when refused."""
        query = update.callback_query
        assert query is not None
        message = query.message
        confirm = decode_confirm(query.data) or decode_page(query.data)
        if confirm is not None and isinstance(message, Message):
            return await self._confirm(bot, update, message, confirm, language)
        press = decode(query.data)
        if press is None or not isinstance(message, Message):
            return tr("button_expired", language)
        user = query.from_user
        owner = user.id in self._owners
        found = await self._pressed_in(bot, message, user.id, press.target, "categories")
        if isinstance(found, Refusal):
            return tr(found.key, language, channel=press.target)
        chat, manage = found
        caller = Caller(str(user.id), user.language_code, manage, owner)
        command = Command("categories", press.args(), chat, caller)
        async with self._lock(chat):
            reply = await self._service.handle(command)
            if reply.error or reply.picker is None:
                return reply.text
            keyboard = None
            if not reply.picker.done:
                keyboard = picker_keyboard(reply.picker, reply.picker.language, press.target)
            await self._edit(message, reply.text, keyboard)
        return None

    async def _pressed_in(
        self, bot: Bot, message: Message, user_id: int, target: str | None, command: str
    ) -> tuple[ChatRef, bool] | Refusal:
        """The chat a button press is about and whether the presser may manage it; a channel's
        buttons sit in the private chat that manages it, so there the channel's admins decide."""
        if target is not None:
            access = await self._channel(bot, target, user_id, command)
            return access if isinstance(access, Refusal) else (access, True)
        chat = chat_ref(message.chat, topic_id(message))
        manage = message.chat.type == "private" or await is_chat_admin(bot, message.chat.id, user_id)
        return chat, manage

    async def _confirm(
        self, bot: Bot, update: Update, message: Message, press: ConfirmPress | PagePress, language: str
    ) -> str | None:
        """Run `/<command> confirm <token>` (or a page button's `page <token> <n>`) as the presser
        (the service checks who may) and put the outcome in place of the question, without its
        button (with the new page's buttons); a refusal is an alert."""
        query = update.callback_query
        assert query is not None
        user = query.from_user
        found = await self._pressed_in(bot, message, user.id, press.target, press.command)
        if isinstance(found, Refusal):
            return tr(found.key, language, channel=press.target)
        chat, manage = found
        caller = Caller(str(user.id), user.language_code, manage, user.id in self._owners)
        async with self._lock(chat):
            reply = await self._service.handle(Command(press.command, press.args(), chat, caller))
        if reply.error:
            return reply.text
        if reply.pager is None:
            await self._edit(message, reply.text, None)
        else:
            await self._edit(message, reply.text, pager_keyboard(reply.pager, press.target), previews=False)
        return None

    async def _edit(
        self, message: Message, text: str, keyboard: InlineKeyboardMarkup | None, *, previews: bool = True
    ) -> None:
        try:
            if previews:
                await message.edit_text(text, reply_markup=keyboard)
            else:
                await message.edit_text(text, reply_markup=keyboard, link_preview_options=NO_PREVIEW)
        except TelegramError as exc:
            if "not modified" not in exc.message.lower():
                raise

    # -- membership ----------------------------------------------------------------------------

    async def on_my_chat_member(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        change = update.my_chat_member
        if change is None:
            return
        reason = gone_reason(change)
        if reason is None:
            return
        try:
            await self._service.chat_gone(chat_ref(change.chat), reason)
        except Exception as exc:
            log.error("telegram: pausing chat %s failed: %s", change.chat.id, describe(exc))

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Last resort for anything the callbacks above did not catch: one line, no traceback."""
        update_id = update.update_id if isinstance(update, Update) else None
        error = context.error
        log.error("telegram: update %s failed: %s", update_id, describe(error) if error else "unknown error")


def _chat_of(update: Update) -> str:
    chat = update.effective_chat
    return str(chat.id) if chat is not None else "?"
