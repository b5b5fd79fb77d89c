-- 013: the ends of other processes' leases on pending rows, in order, without reading the backlog:
-- an idle process asks when its next row is due (store/ledger.py next_attempt_at), and a stopping
-- one gives its claimed rows back (release_leases). Only claimed rows are in it: a few per process.
CREATE INDEX deliveries_leased ON deliveries (lease_until) WHERE state = 'pending' AND lease_owner IS NOT NULL;
