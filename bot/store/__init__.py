"""Persistence: every SQL statement of the bot lives in this package (see db.Store)."""

from bot.store.broadcasts import BroadcastRow
from bot.store.db import Store, StoreError
from bot.store.digests import RecordResult
from bot.store.subscriptions import Subscription

__all__ = ["BroadcastRow", "RecordResult", "Store", "StoreError", "Subscription"]
