-- 016 (issue 11): a cheaper ledger row; the indexes left on deliveries and why each exists are
-- listed in migrations/016_slim_ledger.sql (the same on both databases).
--
-- deliveries_by_payload (payload_id, updated_at) was rewritten on every mark: retention now asks it
-- only whether a row using a payload is unfinished, and reads when one was last queued from
-- payloads.used_at, which the insert trigger stamps once per statement.
ALTER TABLE payloads ADD COLUMN used_at TEXT;
UPDATE payloads SET used_at = (SELECT max(x.updated_at) FROM deliveries x WHERE x.payload_id = payloads.id);
DROP INDEX deliveries_by_payload;
CREATE INDEX deliveries_by_payload ON deliveries (payload_id, state);

-- Only the rate needs state and sent_at beside digest_seq, and only of sent rows.
DROP INDEX deliveries_digest_state;
CREATE INDEX deliveries_by_digest ON deliveries (digest_seq);
CREATE INDEX deliveries_sent_by_digest ON deliveries (digest_seq, sent_at) WHERE state = 'sent';

-- A statement's rows: +1 per (digest, state), sent ones in their hour, and their payloads' used_at
-- (payload rows locked in id order first, so two writers never wait on each other in a cycle).
CREATE OR REPLACE FUNCTION delivery_counts_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO delivery_counts AS c (digest_seq, state, count)
    SELECT coalesce(digest_seq, 0), state, count(*) FROM new_rows GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (digest_seq, state) DO UPDATE SET count = c.count + excluded.count;
    INSERT INTO sent_per_hour AS h (hour, count)
    SELECT substr(sent_at, 1, 13), count(*) FROM new_rows
    WHERE state = 'sent' AND sent_at IS NOT NULL GROUP BY 1 ORDER BY 1
    ON CONFLICT (hour) DO UPDATE SET count = h.count + excluded.count;
    PERFORM 1 FROM payloads WHERE id IN (SELECT payload_id FROM new_rows) ORDER BY id FOR UPDATE;
    UPDATE payloads p SET used_at = n.at
    FROM (SELECT payload_id, max(created_at) AS at FROM new_rows GROUP BY payload_id) n
    WHERE p.id = n.payload_id AND coalesce(p.used_at, '') < n.at;
    RETURN NULL;
END;
$$;
