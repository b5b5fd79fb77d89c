-- 011: a lease on claimed deliveries, so several processes can share one outbox. The claim takes
-- rows FOR UPDATE SKIP LOCKED and writes its process id and how long it holds them (ISO TEXT, as
-- every time here); another process skips rows whose lease is live, and a `sending` row whose lease
-- ran out (its process was killed) becomes `interrupted` in the engine's periodic sweep.
ALTER TABLE deliveries ADD COLUMN lease_owner TEXT;
ALTER TABLE deliveries ADD COLUMN lease_until TEXT;
