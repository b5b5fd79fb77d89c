-- 013: PostgreSQL's index on the ends of leases (see migrations/postgres/013_lease_index.sql), kept
-- here so both schemas stay one; SQLite takes no leases, so it stays empty.
CREATE INDEX deliveries_leased ON deliveries (lease_until) WHERE state = 'pending' AND lease_owner IS NOT NULL;
