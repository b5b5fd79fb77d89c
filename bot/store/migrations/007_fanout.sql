-- Issue 11, planning a million subscriptions: the rendered variants of a digest being fanned out.
-- The planner renders each distinct reading of the digest (the subscription columns a rendering
-- depends on: platform, filter, time zone, language, ...) once and records its payload ids here;
-- the ledger rows are then written by one INSERT ... SELECT per batch of subscriptions joined to
-- this table (bot/store/fanout.py). `reading` is json_array() of those columns, so adding a column
-- to the reading needs no change here. Part 0 (no payload) marks a reading that renders to nothing.
-- Rows are removed when the digest's fan-out is done; after a crash they spare the re-render.
-- No foreign key on payload_id: retention may empty or remove a body meanwhile, and the planner
-- then renders that reading again.
CREATE TABLE fanout_variants (
    digest_seq  INTEGER NOT NULL,
    reading     TEXT NOT NULL,
    part        INTEGER NOT NULL,
    parts       INTEGER NOT NULL,
    payload_id  INTEGER,
    PRIMARY KEY (digest_seq, reading, part)
) WITHOUT ROWID;

-- Fewer index entries per outbox row. Every index on deliveries serves a query that must stay
-- index-served (EXPLAIN QUERY PLAN of each, see bench/fanout.py's docstring), but the one on
-- updated_at only needs finished rows: retention prunes finished rows and /stats counts the
-- outcomes of the last 24 hours (open rows are counted apart), both from the index alone. As a
-- partial index it costs nothing when a fan-out inserts its pending rows, nor as a row moves from
-- pending to sending.
DROP INDEX deliveries_updated;
CREATE INDEX deliveries_finished ON deliveries (updated_at, state) WHERE state NOT IN ('pending', 'sending');
