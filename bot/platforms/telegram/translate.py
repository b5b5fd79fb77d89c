"""Pure translation of Telegram messages into the command service's vocabulary.

Nothing here touches the network: permission checks that need getChatMember live in
`permissions.py`, so everything about parsing commands, chats and topics is unit-tested directly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from telegram import (
    Chat,
    ChatFullInfo,
    ChatMemberAdministrator,
    ChatMemberRestricted,
    ChatMemberUpdated,
    Message,
)

from bot.commands.model import ChatRef
from bot.platforms.telegram.spec import PLATFORM

# `/name`, optionally `@botname`, then the arguments. Telegram allows 1-32 of [A-Za-z0-9_].
_COMMAND = re.compile(r"^/([A-Za-z0-9_]{1,32})(?:@([A-Za-z0-9_]{1,64}))?(?=\s|$)")
# A channel as the first argument: `@username` (5-32 chars) or its numeric `-100...` id.
_CHANNEL_REF = re.compile(r"^(?:@[A-Za-z][A-Za-z0-9_]{3,31}|-100[0-9]{5,})$")


@dataclass(frozen=True, slots=True)
class ParsedCommand:
    """A command read from message text; `addressed` is True when it named this bot explicitly;
    `text` is the arguments as typed, line breaks kept."""

    name: str
    args: tuple[str, ...]
    addressed: bool
    text: str = ""


def parse_command(text: str | None, bot_username: str) -> ParsedCommand | None:
    """The command in `text`, or None when it is not one or is meant for another bot (`/x@other`)."""
    if not text:
        return None
    match = _COMMAND.match(text)
    if match is None:
        return None
    mentioned = match.group(2)
    if mentioned is not None and mentioned.casefold() != bot_username.casefold():
        return None
    rest = text[match.end() :]
    return ParsedCommand(match.group(1).lower(), tuple(rest.split()), mentioned is not None, rest.strip())


def is_channel_ref(arg: str) -> bool:
    """Whether a first argument names a channel (`@name` or `-100…`) rather than a category."""
    return bool(_CHANNEL_REF.match(arg))


def topic_id(message: Message) -> int | None:
    """The forum topic a message was posted in, or None.

    Replies in ordinary supergroups also carry a message_thread_id (the reply thread); only
    `is_topic_message` marks a real forum topic, where our answers and digests must go too.
    """
    if message.is_topic_message and message.message_thread_id is not None:
        return message.message_thread_id
    return None


def chat_ref(chat: Chat | ChatFullInfo, thread_id: int | None = None) -> ChatRef:
    """The service's view of a Telegram chat (and topic)."""
    title = chat.effective_name or chat.username or ""
    return ChatRef(
        platform=PLATFORM,
        chat_id=str(chat.id),
        thread_id=str(thread_id) if thread_id is not None else None,
        kind=chat.type,
        title=title,
    )


def is_anonymous_admin(message: Message) -> bool:
    """A group administrator posting as the group itself (Telegram's 'remain anonymous' switch)."""
    return message.sender_chat is not None and message.sender_chat.id == message.chat.id


def caller_id(message: Message) -> str:
    """Who sent a message; anonymous admins are identified by the chat they speak for."""
    if message.sender_chat is not None:
        return str(message.sender_chat.id)
    return str(message.from_user.id) if message.from_user is not None else ""


def gone_reason(change: ChatMemberUpdated) -> str | None:
    """Why the bot can no longer post in a chat after its own membership changed, or None if it can.

    The reason is stored on the paused subscription and shown by /status, so it names what happened.
    """
    member = change.new_chat_member
    kind = change.chat.type
    if member.status == "kicked":
        return "bot was blocked by the user" if kind == "private" else "bot was removed from the chat"
    if member.status == "left":
        return "bot left the chat"
    if kind == "channel" and not (isinstance(member, ChatMemberAdministrator) and member.can_post_messages):
        return "bot may no longer post in the channel"
    if isinstance(member, ChatMemberRestricted) and not (member.is_member and member.can_send_messages):
        return "bot may not send messages in the chat"
    return None
