-- Issue 12, operator announcements. An owner's /announce is a draft until confirmed; confirming
-- writes one ledger row per active subscription of its platform (unit 'a<id>'), in the same
-- transaction that marks it confirmed, so a second confirm finds it done and nothing doubles.
-- Those rows carry no digest, so deliveries.digest_seq becomes nullable; the operator's error-chat
-- summaries (telegram.error_chat, discord.error_channel) go through the outbox too, to a chat that is
-- no subscription, so subscription_id becomes nullable as well. The table is rebuilt as in 004
-- (SQLite cannot drop a NOT NULL in place; nothing refers to the table).

CREATE TABLE announcements (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    platform      TEXT NOT NULL,
    text          TEXT NOT NULL,
    created_by    TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    confirmed_at  TEXT,                       -- NULL while a draft
    recipients    INTEGER NOT NULL DEFAULT 0  -- rows written on confirm
);

CREATE TABLE deliveries_new (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    subscription_id  INTEGER REFERENCES subscriptions(id),  -- NULL for an error-chat summary
    unit             TEXT NOT NULL,            -- 'd<seq>' digest, 's...' scheduled post, 'a<id>' announcement, 'r...' report
    part             INTEGER NOT NULL,
    parts            INTEGER NOT NULL,
    digest_seq       INTEGER REFERENCES digests(seq),  -- NULL for an announcement
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

INSERT INTO deliveries_new (id, subscription_id, unit, part, parts, digest_seq, platform, chat_id,
    thread_id, kind, payload_id, plain, state, attempts, next_attempt_at, due_at, retry_wait,
    message_id, last_error, created_at, updated_at, sent_at)
SELECT id, subscription_id, unit, part, parts, digest_seq, platform, chat_id, thread_id, kind,
    payload_id, plain, state, attempts, next_attempt_at, due_at, retry_wait, message_id, last_error,
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
CREATE INDEX deliveries_stale ON deliveries (due_at, id) WHERE state = 'pending';
