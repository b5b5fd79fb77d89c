-- Issue 13, reader options per subscription: how a chat reads its digests. `format` 'full' (items
-- with summaries) or 'compact' (numbered linked titles only); `previews` 1/0 for link previews, NULL
-- for the platform's configured default; `silent` 1 = sent without a notification; `pin` 1 = the
-- first message of each digest is pinned (channels), `pinned_message_id` the one pinned now, so the
-- next digest can unpin it. `/quiet HH:MM-HH:MM silent` is kept in `quiet` itself ("22:00-07:00
-- silent"), so every reader of that column keeps one rule.
ALTER TABLE subscriptions ADD COLUMN format TEXT NOT NULL DEFAULT 'full' CHECK (format IN ('full', 'compact'));
ALTER TABLE subscriptions ADD COLUMN previews INTEGER CHECK (previews IN (0, 1));
ALTER TABLE subscriptions ADD COLUMN silent INTEGER NOT NULL DEFAULT 0 CHECK (silent IN (0, 1));
ALTER TABLE subscriptions ADD COLUMN pin INTEGER NOT NULL DEFAULT 0 CHECK (pin IN (0, 1));
ALTER TABLE subscriptions ADD COLUMN pinned_message_id TEXT;
