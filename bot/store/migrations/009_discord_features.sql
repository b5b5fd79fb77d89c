-- Issue 13: per-subscription settings a platform keeps for its own reader features (a channel
-- webhook's id and token, role mentions per category, ...), one JSON value per key. Additive: no
-- existing table changes; the rows go with their subscription (/forget deletes the subscription).
CREATE TABLE IF NOT EXISTS subscription_settings (
    subscription_id INTEGER NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
    key             TEXT NOT NULL,
    value           TEXT NOT NULL,
    PRIMARY KEY (subscription_id, key)
) WITHOUT ROWID;
