-- Coordination of several `run` processes on one database (issue 10): the bot-wide rate limit.
-- One token bucket per (platform, scope), e.g. ('telegram', 'global'); every process takes tokens
-- from it in small batches (bot/store/rate_buckets.py). `tokens` is the level at `stamp`; the
-- refill up to now is computed by the UPDATE that takes tokens, on the database's clock.
-- Advisory locks (polling election, sources) and LISTEN/NOTIFY wake-ups need no table.
CREATE TABLE rate_buckets (
    platform TEXT NOT NULL,
    scope TEXT NOT NULL,
    tokens DOUBLE PRECISION NOT NULL,
    stamp TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
    rate DOUBLE PRECISION NOT NULL CHECK (rate > 0),
    capacity DOUBLE PRECISION NOT NULL CHECK (capacity >= 1),
    PRIMARY KEY (platform, scope)
);
