-- Issue 12, the dashboard and /metrics: every figure they show comes from an index or a small table,
-- never from reading delivery rows, so they stay fast with a million subscriptions and deliveries.

-- A broadcast's progress (rows of one digest by state, sends in the last seconds) read from the
-- index alone; it also serves every lookup by digest_seq the old index served.
CREATE INDEX deliveries_digest_state ON deliveries (digest_seq, state, sent_at);
DROP INDEX deliveries_by_digest;

-- The newest digest still being sent.
CREATE INDEX deliveries_open_digest ON deliveries (digest_seq) WHERE state IN ('pending', 'sending');

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
