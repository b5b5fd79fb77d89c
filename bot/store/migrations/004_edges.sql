-- Issue 14, exactly once at the edges. Two new final states: `uncertain` (the platform may or may
-- not have the message: a timeout after the request left; never resent) and `expired` (queued
-- longer than delivery.max_age, e.g. while its platform was not running). Two new columns:
-- `due_at`, when the row was first due (the age `expired` is measured from: a post scheduled for
-- 20:00 is fresh at 20:00), and `retry_wait`, the seconds of rate-limit waits the row has
-- accumulated (persisted so that a restart does not reset the delivery.max_retry_wait ceiling).
-- SQLite cannot change a CHECK constraint in place, so the table is rebuilt; nothing refers to it.

CREATE TABLE deliveries_new (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    subscription_id  INTEGER NOT NULL REFERENCES subscriptions(id),
    unit             TEXT NOT NULL,
    part             INTEGER NOT NULL,
    parts            INTEGER NOT NULL,
    digest_seq       INTEGER NOT NULL REFERENCES digests(seq),
    platform         TEXT NOT NULL,
    chat_id          TEXT NOT NULL,
    thread_id        TEXT NOT NULL DEFAULT '',
    kind             TEXT NOT NULL,
    payload_id       INTEGER NOT NULL REFERENCES payloads(id),
    plain            INTEGER NOT NULL DEFAULT 0,
    state            TEXT NOT NULL CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'skipped',
                                                    'interrupted', 'uncertain', 'expired')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TEXT NOT NULL,
    due_at           TEXT NOT NULL,
    retry_wait       REAL NOT NULL DEFAULT 0,
    message_id       TEXT,
    last_error       TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    sent_at          TEXT,
    UNIQUE (subscription_id, unit, part)
);

-- A row's first due time was not kept before; a pending row's next attempt is the closest record.
INSERT INTO deliveries_new (id, subscription_id, unit, part, parts, digest_seq, platform, chat_id,
    thread_id, kind, payload_id, plain, state, attempts, next_attempt_at, due_at, message_id,
    last_error, created_at, updated_at, sent_at)
SELECT id, subscription_id, unit, part, parts, digest_seq, platform, chat_id, thread_id, kind,
    payload_id, plain, state, attempts, next_attempt_at, next_attempt_at, message_id, last_error,
    created_at, updated_at, sent_at
FROM deliveries;

DROP TABLE deliveries;
ALTER TABLE deliveries_new RENAME TO deliveries;

CREATE INDEX deliveries_due ON deliveries (next_attempt_at, id) WHERE state = 'pending';
CREATE INDEX deliveries_open ON deliveries (subscription_id, id) WHERE state IN ('pending', 'sending');
CREATE INDEX deliveries_sending ON deliveries (id) WHERE state = 'sending';
CREATE INDEX deliveries_updated ON deliveries (updated_at);
CREATE INDEX deliveries_by_digest ON deliveries (digest_seq);
CREATE INDEX deliveries_by_payload ON deliveries (payload_id, updated_at);
CREATE INDEX deliveries_last_sent ON deliveries (subscription_id, sent_at) WHERE state = 'sent';
-- The expiry sweep: the oldest queued rows first.
CREATE INDEX deliveries_stale ON deliveries (due_at, id) WHERE state = 'pending';
