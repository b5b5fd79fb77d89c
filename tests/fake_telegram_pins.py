"""pinChatMessage and unpinChatMessage for the fake Telegram server, with Telegram's rules.

A mixin of FakeTelegram (which holds `chats`, `members`, `messages` and `pinned`, and whose BotApi
finds chats with `_chat`). Private chats
need no rights; in a channel the bot must be an administrator with `can_edit_messages` (the right
that allows pinning there), in a group or supergroup with `can_pin_messages`. The message must exist
in that chat. Unpinning a message that is not pinned is not an error, as on Telegram.
"""

from __future__ import annotations

from fake_telegram_types import BOT_ID, JSON, ApiError, FakeMessage

PIN_RIGHT = {"channel": "can_edit_messages", "group": "can_pin_messages", "supergroup": "can_pin_messages"}
NO_RIGHTS = "Bad Request: not enough rights to manage pinned messages in the chat"


class PinApi:
    """The two methods; `pinned[chat_id]` lists the pinned message ids, the newest last."""

    chats: dict[int, JSON]
    members: dict[tuple[int, int], JSON]
    pinned: dict[int, list[int]]
    messages: dict[int, list[FakeMessage]]

    async def _m_pinchatmessage(self, params: JSON) -> bool:
        chat, message_id = self._pin_target(params, "pin")
        pins = self.pinned[chat["id"]]
        if message_id in pins:
            pins.remove(message_id)
        pins.append(message_id)
        return True

    async def _m_unpinchatmessage(self, params: JSON) -> bool:
        chat, message_id = self._pin_target(params, "unpin")
        pins = self.pinned[chat["id"]]
        if message_id in pins:
            pins.remove(message_id)
        return True

    def _pin_target(self, params: JSON, verb: str) -> tuple[JSON, int]:
        chat = self._chat(params.get("chat_id"))
        right = PIN_RIGHT.get(chat["type"])
        if right is not None:
            me = self.members.get((chat["id"], BOT_ID), {"status": "left"})
            if me["status"] == "left":
                raise ApiError(403, "Forbidden: bot is not a member of the channel chat")
            if me["status"] != "administrator" or not me.get(right):
                raise ApiError(400, NO_RIGHTS)
        try:
            message_id = int(params["message_id"])
        except (KeyError, TypeError, ValueError):
            raise ApiError(400, "Bad Request: message_id is empty") from None
        if all(m.message_id != message_id for m in self.messages.get(chat["id"], [])):
            raise ApiError(400, f"Bad Request: message to {verb} not found")
        return chat, message_id
