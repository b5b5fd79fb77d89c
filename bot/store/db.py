"""The one Store: the database connection with every operation the bot needs, one module per area.

Callers import the store's public names from here; each operation is defined once, in the module of
its area, and is a committed transaction of its own (see database.Database).
"""

from __future__ import annotations

from bot.store.broadcasts import BroadcastOps
from bot.store.chats import SubscriptionOps
from bot.store.dashboard import DashboardOps
from bot.store.database import Transaction
from bot.store.errors import StoreError, StoreUnavailable
from bot.store.export import TransferOps
from bot.store.intake import DigestOps
from bot.store.ledger import LedgerOps
from bot.store.operator import OperatorOps
from bot.store.reader import ReaderOps
from bot.store.reports import ReportOps
from bot.store.search import SearchOps
from bot.store.settings import SettingOps

__all__ = ["Store", "StoreError", "StoreUnavailable", "Transaction"]


class Store(
    DigestOps,
    SubscriptionOps,
    BroadcastOps,
    LedgerOps,
    ReportOps,
    OperatorOps,
    DashboardOps,
    TransferOps,
    ReaderOps,
    SettingOps,
    SearchOps,
):
    """Open with `await Store.open(path, clock=...)`; every public method is one committed transaction."""
