"""Telegram's chat kinds that the delivery engine and store must not know: which are groups for
the rate limiter, and what a group becomes when Telegram migrates it."""

GROUP_KINDS = frozenset({"group", "supergroup", "channel"})  # 20 messages a minute each
MIGRATED_KIND = "supergroup"  # a group migrates only ever to a supergroup with a new id
