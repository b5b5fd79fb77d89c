"""Who may manage which chat, decided with getChatMember (the only source Telegram offers).

Private chat: the user. Groups: administrators, including anonymous ones (they post as the group).
Channels: managed from a private chat by a channel administrator, and only once the bot itself is an
administrator allowed to post there.
"""

from __future__ import annotations

from dataclasses import dataclass

from telegram import Bot, ChatMemberAdministrator, Message
from telegram.error import BadRequest, Forbidden

from bot.commands.model import ChatRef
from bot.platforms.telegram.body import chat_id_param
from bot.platforms.telegram.translate import chat_ref, is_anonymous_admin

ADMIN_STATUSES = frozenset({"creator", "administrator"})


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a channel cannot be managed: a key of `texts.MESSAGES` taking `{channel}`.

    `verified` is False when Telegram would not say who administers the channel (the bot lost it),
    as opposed to having said that this user does not.
    """

    key: str
    verified: bool = True


async def is_chat_admin(bot: Bot, chat_id: int | str, user_id: int) -> bool:
    """Whether `user_id` is the creator or an administrator of the chat; network errors propagate."""
    try:
        member = await bot.get_chat_member(chat_id, user_id)
    except BadRequest:
        return False
    return member.status in ADMIN_STATUSES


async def can_manage(bot: Bot, message: Message) -> bool:
    """Whether the sender of `message` may change the subscription of the chat it was sent in."""
    if message.chat.type == "private":
        return True
    if is_anonymous_admin(message):
        return True
    if message.sender_chat is not None or message.from_user is None:
        return False  # a linked channel or another chat posting here: not an administrator we can check
    return await is_chat_admin(bot, message.chat.id, message.from_user.id)


async def channel_access(bot: Bot, ref: str, user_id: int, *, need_post: bool) -> ChatRef | Refusal:
    """The channel `ref` names, if `user_id` administers it (and, with `need_post`, the bot may post).

    Errors that mean "no such chat or no access" become unverified refusals; network errors
    propagate so the caller can say "try again" instead of a misleading "not found".
    """
    try:
        chat = await bot.get_chat(chat_id_param(ref))
    except (BadRequest, Forbidden):
        return Refusal("channel_not_found", verified=False)
    if chat.type != "channel":
        return Refusal("not_a_channel")
    if need_post:
        try:
            me = await bot.get_chat_member(chat.id, bot.id)
        except (BadRequest, Forbidden):
            return Refusal("bot_not_admin")
        if not (isinstance(me, ChatMemberAdministrator) and me.can_post_messages):
            return Refusal("bot_not_admin")
    try:
        member = await bot.get_chat_member(chat.id, user_id)
    except (BadRequest, Forbidden):
        return Refusal("rights_unverifiable", verified=False)
    if member.status not in ADMIN_STATUSES:
        return Refusal("user_not_admin")
    return chat_ref(chat)
