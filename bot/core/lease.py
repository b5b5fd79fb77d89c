"""What work shared between the bot's processes needs of a lease: a named lock only one holds.

bot.store.coordination implements it with PostgreSQL advisory locks; the polling election
(bot.platforms.election) and leased sources (bot.sources.leased) use it without knowing the database.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol


class Lease(Protocol):
    """A lock held by at most one process of the bot; lost with the holder's database connection."""

    name: str

    @property
    def held(self) -> bool: ...

    async def try_acquire(self) -> bool:
        """Take it unless another process holds it; True when this one holds it now."""
        ...

    async def release(self) -> None: ...

    async def wait_lost(self) -> None:
        """Return once the lease was lost (not after a `release()`)."""
        ...


LeaseFactory = Callable[[str], Lease]  # a lease by name, the same object for the same name
