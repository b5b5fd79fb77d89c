"""Per-subscription settings a platform adapter keeps for its own features, one JSON value per key.

The store knows nothing of what the keys mean (a platform names and reads them); the rows belong
to their subscription and are deleted with it.
"""

from __future__ import annotations

import json
from typing import Any

from bot.store.database import Database


class SettingOps(Database):
    """Read and write a subscription's platform settings; each call is one committed statement."""

    async def subscription_settings(
        self, platform: str, chat_id: str, thread_id: str | None = None
    ) -> tuple[int, dict[str, Any]] | None:
        """The chat's subscription id and its settings by key; None when the chat has no subscription."""
        async with self.statement(write=False) as tx:  # one statement: one hop to the database thread
            rows = await tx.conn.fetchall(
                "SELECT s.id, t.key, t.value FROM subscriptions AS s"
                " LEFT JOIN subscription_settings AS t ON t.subscription_id = s.id"
                " WHERE s.platform = ? AND s.chat_id = ? AND s.thread_id = ?",
                (platform, chat_id, thread_id or ""),
            )
        if not rows:
            return None
        return int(rows[0][0]), {key: json.loads(value) for _, key, value in rows if key is not None}

    async def put_subscription_setting(self, subscription_id: int, key: str, value: Any) -> None:
        """Set `key` to a JSON-encodable `value`, or delete it when `value` is None."""
        async with self.statement() as tx:
            if value is None:
                await tx.conn.execute(
                    "DELETE FROM subscription_settings WHERE subscription_id = ? AND key = ?",
                    (subscription_id, key),
                )
            else:
                await tx.conn.execute(
                    "INSERT INTO subscription_settings (subscription_id, key, value) VALUES (?, ?, ?) "
                    "ON CONFLICT (subscription_id, key) DO UPDATE SET value = excluded.value",
                    (subscription_id, key, json.dumps(value, ensure_ascii=False)),
                )
