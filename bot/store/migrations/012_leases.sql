-- 011: a lease on claimed deliveries, so several processes can share one outbox (PostgreSQL).
-- A process that claims rows writes its id and how long it holds them; another process skips rows
-- whose lease is live, and a `sending` row whose lease ran out (its process died) is interrupted.
-- SQLite runs one process and leaves both columns NULL; they exist so both schemas stay one.
ALTER TABLE deliveries ADD COLUMN lease_owner TEXT;
ALTER TABLE deliveries ADD COLUMN lease_until TEXT;
