"""Persistence: every SQL statement of the bot lives in this package (see db.Store)."""

from bot.store.db import Store, StoreError
from bot.store.digests import RecordResult
from bot.store.subscriptions import Subscription

__all__ = ["RecordResult", "Store", "StoreError", "Subscription"]
