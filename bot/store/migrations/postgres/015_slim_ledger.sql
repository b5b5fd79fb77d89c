-- 015 (issue 11): a cheaper ledger row; the indexes left on deliveries and why each exists are
-- listed in migrations/015_slim_ledger.sql (the same on both databases).
--
-- deliveries_by_payload (payload_id, updated_at) was rewritten on every mark: now it is keyed by
-- payload_id alone (orphans, the foreign key), whether a row using a payload is unfinished is a
-- partial index over unfinished rows, and when one was last queued is payloads.used_at, stamped as
-- bodies are resolved for new rows (once per body, not per row).
ALTER TABLE payloads ADD COLUMN used_at TEXT;
UPDATE payloads SET used_at = (SELECT max(x.updated_at) FROM deliveries x WHERE x.payload_id = payloads.id);
DROP INDEX deliveries_by_payload;
CREATE INDEX deliveries_by_payload ON deliveries (payload_id);
CREATE INDEX deliveries_open_by_payload ON deliveries (payload_id) WHERE state IN ('pending', 'sending');

-- Only the rate needs state and sent_at beside digest_seq, and only of sent rows.
DROP INDEX deliveries_digest_state;
CREATE INDEX deliveries_by_digest ON deliveries (digest_seq);
CREATE INDEX deliveries_sent_by_digest ON deliveries (digest_seq, sent_at) WHERE state = 'sent';
