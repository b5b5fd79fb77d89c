-- Indexes the retention pass (bot/store/retention.py) needs to find what it may prune without
-- reading large rows: digest models and payload bodies live in overflow pages.

-- Later versions of changed digests, newest last per digest id (older ones beyond the kept few go).
CREATE INDEX digests_revisions ON digests (digest_id, seq) WHERE revision_of IS NOT NULL;
-- Broken versions of a document, per (source, key).
CREATE INDEX digests_errors ON digests (source, key, seq) WHERE status = 'error';
-- Which deliveries use a payload, and the newest of them: orphans and long-finished bodies.
CREATE INDEX deliveries_by_payload ON deliveries (payload_id, updated_at);
-- A subscription's newest sent row (what /status shows as the last delivery) is always kept.
CREATE INDEX deliveries_last_sent ON deliveries (subscription_id, sent_at) WHERE state = 'sent';
-- Payloads whose body is still stored (a dropped body is the empty string).
CREATE INDEX payloads_with_body ON payloads (id) WHERE body != '';
