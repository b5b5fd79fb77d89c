-- Issue 12, the dashboard and /metrics: every figure they show comes from an index or a small table
-- kept by triggers, never from counting delivery rows, so they stay fast with a million subscriptions and deliveries.

-- Delivery rows per digest and state, kept up by triggers on every insert, change of state and
-- delete: a broadcast's progress and the queue depth read a handful of rows, whatever the volume.
-- Rows of no digest (announcements, error-chat summaries) are counted under digest_seq 0.
CREATE TABLE delivery_counts (
    digest_seq  INTEGER NOT NULL,
    state       TEXT NOT NULL,
    count       INTEGER NOT NULL,
    PRIMARY KEY (digest_seq, state)
) WITHOUT ROWID;
CREATE INDEX delivery_counts_by_state ON delivery_counts (state, digest_seq);

INSERT INTO delivery_counts (digest_seq, state, count)
SELECT coalesce(digest_seq, 0), state, count(*) FROM deliveries GROUP BY 1, state;

CREATE TRIGGER delivery_counts_insert AFTER INSERT ON deliveries
BEGIN
    INSERT INTO delivery_counts (digest_seq, state, count) VALUES (coalesce(NEW.digest_seq, 0), NEW.state, 1)
    ON CONFLICT (digest_seq, state) DO UPDATE SET count = count + 1;
END;

CREATE TRIGGER delivery_counts_update AFTER UPDATE OF state ON deliveries
WHEN NEW.state != OLD.state
BEGIN
    INSERT INTO delivery_counts (digest_seq, state, count) VALUES (coalesce(NEW.digest_seq, 0), NEW.state, 1)
    ON CONFLICT (digest_seq, state) DO UPDATE SET count = count + 1;
    UPDATE delivery_counts SET count = count - 1 WHERE digest_seq = coalesce(OLD.digest_seq, 0) AND state = OLD.state;
    DELETE FROM delivery_counts WHERE digest_seq = coalesce(OLD.digest_seq, 0) AND state = OLD.state AND count <= 0;
END;

CREATE TRIGGER delivery_counts_delete AFTER DELETE ON deliveries
BEGIN
    UPDATE delivery_counts SET count = count - 1 WHERE digest_seq = coalesce(OLD.digest_seq, 0) AND state = OLD.state;
    DELETE FROM delivery_counts WHERE digest_seq = coalesce(OLD.digest_seq, 0) AND state = OLD.state AND count <= 0;
END;

-- A broadcast's current rate: its sends of the last seconds, read from the index alone. It also
-- serves every lookup by digest_seq the old index served.
CREATE INDEX deliveries_digest_state ON deliveries (digest_seq, state, sent_at);
DROP INDEX deliveries_by_digest;

-- Paused chats: how many, the newest first, and their reasons.
CREATE INDEX subscriptions_paused ON subscriptions (paused_at) WHERE status = 'paused';

-- Messages sent per hour (hour = 'YYYY-MM-DDTHH' in UTC), kept up by triggers as rows become `sent`,
-- so the 48-hour chart reads 48 rows whatever the volume. Retention never needs to touch it: it
-- grows by 24 small rows a day.
CREATE TABLE sent_per_hour (
    hour   TEXT PRIMARY KEY,
    count  INTEGER NOT NULL
) WITHOUT ROWID;

INSERT INTO sent_per_hour (hour, count)
SELECT substr(sent_at, 1, 13), count(*) FROM deliveries
WHERE state = 'sent' AND sent_at IS NOT NULL GROUP BY substr(sent_at, 1, 13);

CREATE TRIGGER deliveries_sent_hour_update AFTER UPDATE OF state ON deliveries
WHEN NEW.state = 'sent' AND OLD.state != 'sent' AND NEW.sent_at IS NOT NULL
BEGIN
    INSERT INTO sent_per_hour (hour, count) VALUES (substr(NEW.sent_at, 1, 13), 1)
    ON CONFLICT (hour) DO UPDATE SET count = count + 1;
END;

CREATE TRIGGER deliveries_sent_hour_insert AFTER INSERT ON deliveries
WHEN NEW.state = 'sent' AND NEW.sent_at IS NOT NULL
BEGIN
    INSERT INTO sent_per_hour (hour, count) VALUES (substr(NEW.sent_at, 1, 13), 1)
    ON CONFLICT (hour) DO UPDATE SET count = count + 1;
END;
