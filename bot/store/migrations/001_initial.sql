-- Initial schema. Timestamps are ISO-8601 UTC text with microseconds, so they sort as text.

-- Every digest (or broken file) a source produced, in arrival order (seq).
CREATE TABLE digests (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    digest_id     TEXT,                       -- NULL for an input that did not parse
    source        TEXT NOT NULL,              -- configured source name
    key           TEXT NOT NULL,              -- file path or feed entry id
    content_hash  TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('ok', 'error')),
    error_reason  TEXT,
    error_line    INTEGER,
    error_source  TEXT,                       -- file / entry named by the error
    model         TEXT,                       -- JSON (bot.core.codec) for ok digests
    revision_of   INTEGER REFERENCES digests(seq),  -- set when an already-known digest id changed
    stored_at     TEXT NOT NULL,
    plan_state    TEXT NOT NULL CHECK (plan_state IN ('pending', 'done', 'none')),
    plan_cursor   INTEGER NOT NULL DEFAULT 0, -- last subscription id planned (resumable fan-out)
    planned_at    TEXT,
    UNIQUE (source, key, content_hash),
    CHECK ((status = 'ok') = (model IS NOT NULL))
);
CREATE INDEX digests_by_id ON digests (digest_id, content_hash);
CREATE INDEX digests_to_plan ON digests (seq) WHERE plan_state = 'pending';

CREATE TABLE subscriptions (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    platform       TEXT NOT NULL,
    chat_id        TEXT NOT NULL,
    thread_id      TEXT NOT NULL DEFAULT '',  -- '' = no thread (NULLs would defeat the UNIQUE)
    kind           TEXT NOT NULL,
    title          TEXT NOT NULL DEFAULT '',
    filter         TEXT NOT NULL,             -- canonical JSON (bot.core.codec.filter_to_dict)
    schedule       TEXT NOT NULL DEFAULT 'instant',
    timezone       TEXT NOT NULL DEFAULT 'UTC',
    language       TEXT NOT NULL DEFAULT 'zh',
    quiet          TEXT,
    status         TEXT NOT NULL CHECK (status IN ('active', 'paused', 'unsubscribed')),
    paused_reason  TEXT,
    paused_at      TEXT,
    created_by     TEXT,
    origin         TEXT NOT NULL CHECK (origin IN ('user', 'config')),
    next_due_at    TEXT,                      -- NULL for instant schedules
    schedule_seq   INTEGER NOT NULL DEFAULT 0, -- digests.seq already covered by scheduled posts
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    UNIQUE (platform, chat_id, thread_id)
);
CREATE INDEX subscriptions_instant ON subscriptions (id) WHERE status = 'active' AND schedule = 'instant';
CREATE INDEX subscriptions_due ON subscriptions (next_due_at) WHERE status = 'active' AND next_due_at IS NOT NULL;
CREATE INDEX subscriptions_by_creator ON subscriptions (platform, created_by);

-- Rendered message bodies, shared by every delivery that sends the same text.
CREATE TABLE payloads (
    id    INTEGER PRIMARY KEY AUTOINCREMENT,
    hash  TEXT NOT NULL UNIQUE,
    body  TEXT NOT NULL
);

-- The outbox and the delivered history: one row per (subscription, digest or batch, part).
CREATE TABLE deliveries (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    subscription_id  INTEGER NOT NULL REFERENCES subscriptions(id),
    unit             TEXT NOT NULL,            -- 'd<seq>' for one digest, 's<due time>' for a scheduled batch
    part             INTEGER NOT NULL,         -- 1-based
    parts            INTEGER NOT NULL,
    digest_seq       INTEGER NOT NULL REFERENCES digests(seq),  -- newest digest included
    platform         TEXT NOT NULL,
    chat_id          TEXT NOT NULL,
    thread_id        TEXT NOT NULL DEFAULT '',
    kind             TEXT NOT NULL,
    payload_id       INTEGER NOT NULL REFERENCES payloads(id),
    plain            INTEGER NOT NULL DEFAULT 0,  -- 1 once the platform rejected the formatting
    state            TEXT NOT NULL CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'skipped', 'interrupted')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TEXT NOT NULL,
    message_id       TEXT,
    last_error       TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    sent_at          TEXT,
    UNIQUE (subscription_id, unit, part)
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at, id) WHERE state = 'pending';
CREATE INDEX deliveries_open ON deliveries (subscription_id, id) WHERE state IN ('pending', 'sending');
CREATE INDEX deliveries_sending ON deliveries (id) WHERE state = 'sending';
CREATE INDEX deliveries_updated ON deliveries (updated_at);
CREATE INDEX deliveries_by_digest ON deliveries (digest_seq);
