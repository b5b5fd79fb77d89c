"""The store's exceptions, apart from the modules that raise them so that none imports another's."""

from __future__ import annotations


class StoreError(Exception):
    """The database cannot be used: unreadable file, failed migration, or a schema from the future."""


class StoreUnavailable(StoreError):
    """An operation failed because of the database file or the system (see health.is_fault);
    the same operation may work later, so callers retry with back-off instead of at once."""
