"""Telegram's rules that delivery must not know, as data (the platform registry collects them)."""

# Telegram allows about 20 messages a minute into one group or channel, whatever the global pace.
GROUP_KINDS = frozenset({"group", "supergroup", "channel"})
