"""The reader options of a chat: /format, /previews, /silent and /pin (each platform says which it
honours, see PlatformSpec.reader_options); without an argument each shows the current value."""

from __future__ import annotations

from collections.abc import Mapping

from bot.commands.messages import text
from bot.commands.model import Command, Reply
from bot.store.db import Store
from bot.store.subscriptions import Subscription

ON = frozenset({"on", "yes", "true", "1", "开", "开启", "打开"})
OFF = frozenset({"off", "no", "false", "0", "关", "关闭"})
FORMATS = {"full": "full", "完整": "full", "compact": "compact", "简洁": "compact", "紧凑": "compact"}


def switch_value(word: str) -> bool | None:
    """on/off (and their Chinese words) as a bool; None for anything else."""
    folded = word.casefold()
    return True if folded in ON else False if folded in OFF else None


class ReaderHandlers:
    """Handlers of the reader options; the service's constructor sets the state declared here."""

    store: Store
    reader_options: Mapping[str, frozenset[str]]
    pin_kinds: Mapping[str, frozenset[str]]

    def has_option(self, platform: str, option: str) -> bool:
        return option in self.reader_options.get(platform, frozenset())

    def reader_status(self, platform: str, sub: Subscription, language: str) -> str:
        """/status's line of the reader options the platform has (empty where it has none)."""
        shown = []
        for option in ("format", "previews", "silent", "pin"):
            if not self.has_option(platform, option) or (option == "pin" and not sub.pin):
                continue
            value = getattr(sub, option)
            words = (
                text(f"format_{value}", language)
                if option == "format"
                else self._switch_text(value, language)
            )
            shown.append(
                text("option_pair", language, option=text(f"option_{option}", language), value=words)
            )
        separator = "；" if language.startswith("zh") else "; "
        return "\n" + separator.join(shown) if shown else ""

    def _usable(
        self, command: Command, sub: Subscription | None, option: str, language: str
    ) -> Subscription | Reply:
        """The subscription whose `option` the command changes, or the reply saying why it cannot."""
        if not self.has_option(command.chat.platform, option):
            return Reply(text("option_unavailable", language, name=command.name), error=True)
        if sub is None or sub.status == "unsubscribed":
            key = "not_subscribed" if sub is None else "was_unsubscribed"
            return Reply(text(key, language), error=True)
        return sub

    async def format(self, command: Command, sub: Subscription | None, language: str) -> Reply:
        usable = self._usable(command, sub, "format", language)
        if isinstance(usable, Reply):
            return usable
        if not command.args:
            return self._shown("format", text(f"format_{usable.format}", language), language)
        chosen = FORMATS.get(" ".join(command.args).casefold()) if len(command.args) == 1 else None
        if chosen is None:
            return self._bad("format", command, language)
        await self.store.set_reader_option(usable.id, "format", chosen)
        return self._set("format", text(f"format_{chosen}", language), language)

    async def previews(self, command: Command, sub: Subscription | None, language: str) -> Reply:
        return await self._switch("previews", command, sub, language)

    async def silent(self, command: Command, sub: Subscription | None, language: str) -> Reply:
        return await self._switch("silent", command, sub, language)

    async def pin(self, command: Command, sub: Subscription | None, language: str) -> Reply:
        """Channels only; whether the bot may pin there is the adapter's to check (platform rights)."""
        chat = command.chat
        if self.has_option(chat.platform, "pin") and chat.kind not in self.pin_kinds.get(chat.platform, ()):
            return Reply(text("pin_not_here", language), error=True)
        return await self._switch("pin", command, sub, language)

    async def _switch(self, option: str, command: Command, sub: Subscription | None, language: str) -> Reply:
        usable = self._usable(command, sub, option, language)
        if isinstance(usable, Reply):
            return usable
        if not command.args:
            return self._shown(option, self._switch_text(getattr(usable, option), language), language)
        value = switch_value(command.args[0]) if len(command.args) == 1 else None
        if value is None:
            return self._bad(option, command, language)
        await self.store.set_reader_option(usable.id, option, value)
        return self._set(option, self._switch_text(value, language), language)

    def _switch_text(self, value: bool | None, language: str) -> str:
        """on/off in words; link previews left to the bot's default say so."""
        if value is None:
            return text("previews_default", language)
        return text("switch_on" if value else "switch_off", language)

    def _shown(self, option: str, value: str, language: str) -> Reply:
        label, usage = text(f"option_{option}", language), text(f"usage_{option}", language)
        return Reply(text("option_show", language, option=label, value=value, usage=usage))

    def _set(self, option: str, value: str, language: str) -> Reply:
        return Reply(text(f"{option}_set", language, value=value))

    def _bad(self, option: str, command: Command, language: str) -> Reply:
        shown = " ".join(command.args)[:40]
        usage = text(f"usage_{option}", language)
        return Reply(text("option_bad", language, arg=shown, usage=usage), error=True)
