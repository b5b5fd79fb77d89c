"""A subscription's reader options (/format, /previews, /silent, /pin) and the message it has pinned."""

from __future__ import annotations

from bot.store.database import Database
from bot.store.subscriptions import Subscription

FORMATS = frozenset({"full", "compact"})
_SWITCHES = frozenset({"previews", "silent", "pin"})


class ReaderOps(Database):
    """The store's reader-option operations; each is one committed transaction."""

    async def set_reader_option(self, subscription_id: int, name: str, value: str | bool) -> Subscription:
        """Set `format` ('full' or 'compact') or a switch (`previews`, `silent`, `pin`); returns the
        subscription as stored. ValueError for an unknown option or value, KeyError for an unknown id."""
        if name == "format":
            if value not in FORMATS:
                raise ValueError(f"unknown format {value!r}: expected full or compact")
            stored: str | int = str(value)
        elif name in _SWITCHES and isinstance(value, bool):
            stored = int(value)
        else:
            raise ValueError(f"unknown reader option {name}={value!r}")
        async with self.transaction() as tx:
            await tx.subscriptions.require(subscription_id)
            await tx.subscriptions.set(subscription_id, self.clock.now(), **{name: stored})
            return await tx.subscriptions.require(subscription_id)

    async def set_pinned(self, subscription_id: int, message_id: str | None) -> None:
        """Remember the message now pinned for a subscription (the next digest unpins it)."""
        async with self.statement() as tx:
            await tx.subscriptions.set(subscription_id, self.clock.now(), pinned_message_id=message_id)
