-- 015 (issue 11): a cheaper ledger row. A pending row used to cost 6 index entries and 2 trigger
-- runs to insert, and several of those entries were rewritten on every mark of the send path.
-- Every index left on deliveries, and the queries it serves (EXPLAIN QUERY PLAN on a 200k-row
-- ledger, see README "### Planning a fan-out"):
--   UNIQUE (subscription_id, unit, part)  re-planning is harmless; a chat's rows (/forget, /status)
--   deliveries_due (next_attempt_at, id) WHERE pending      the claim, the engine's next wake-up
--   deliveries_stale (due_at, id) WHERE pending             the expiry sweep, oldest first; a claim
--                                walks deliveries_due, so stale rows must leave it, not wait in it
--   deliveries_open (subscription_id, id) WHERE pending/sending   the in-order check, skip_pending
--   deliveries_sending (id) WHERE sending                   crash recovery, lease sweep
--   deliveries_last_sent (subscription_id, sent_at) WHERE sent    /status, retention keeps it
--   deliveries_finished (updated_at, state) WHERE finished  retention's window, /stats' last 24 h
--   deliveries_leased (lease_until) WHERE leased            PostgreSQL's lease ends
--   deliveries_by_digest (digest_seq)                       progress, reports, the revisions rule,
--                                and the foreign key when retention deletes a digest
--   deliveries_sent_by_digest (digest_seq, sent_at) WHERE sent    a broadcast's rate (dashboard)
--   deliveries_by_payload (payload_id)                      orphaned payloads, and the foreign key
--                                when retention or /forget deletes a payload (SQLite checks a
--                                deleted parent's children through a full index only: without it,
--                                a scan of the ledger per payload, 340 ms at 1M rows)
--   deliveries_open_by_payload (payload_id) WHERE pending/sending   a body in use stays
--
-- deliveries_by_payload was (payload_id, updated_at): rewritten on every mark, 3.1 µs of a fan-out
-- row. Retention asked it two things of a payload: is a row using it unfinished, now one seek in
-- the partial index (an entry from insert to the row's end; a mark leaves the full index alone,
-- which halves what a mark writes), and was a row using it updated since the cutoff, now
-- payloads.used_at: when a row using it was last queued, stamped as bodies are resolved for new
-- rows (DeliveryRepo.payload_ids: once per body, not per row). Existing payloads start from their
-- newest row's update.
ALTER TABLE payloads ADD COLUMN used_at TEXT;
UPDATE payloads SET used_at = (SELECT max(x.updated_at) FROM deliveries x WHERE x.payload_id = payloads.id);
DROP INDEX deliveries_by_payload;
CREATE INDEX deliveries_by_payload ON deliveries (payload_id);
CREATE INDEX deliveries_open_by_payload ON deliveries (payload_id) WHERE state IN ('pending', 'sending');

-- deliveries_digest_state (digest_seq, state, sent_at) was rewritten on each of a row's state
-- changes; of its queries only the rate needs state and sent_at, and only of sent rows.
DROP INDEX deliveries_digest_state;
CREATE INDEX deliveries_by_digest ON deliveries (digest_seq);
CREATE INDEX deliveries_sent_by_digest ON deliveries (digest_seq, sent_at) WHERE state = 'sent';

-- The counters' INSERT triggers ran once per row; every insert now goes through
-- store/ledger_insert.py, which counts once per statement in the same transaction (as PostgreSQL's
-- statement triggers do; their functions are unchanged). The UPDATE and DELETE triggers stay: the
-- send path's statements change a handful of rows each, and retention's deletes are batches of 500.
DROP TRIGGER delivery_counts_insert;
DROP TRIGGER deliveries_sent_hour_insert;
