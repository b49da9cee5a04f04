-- Claims carry their owner and a lease the owner renews; only an expired lease is taken back.
ALTER TABLE jobs ADD COLUMN claimed_by TEXT;
ALTER TABLE jobs ADD COLUMN lease_until INTEGER;
CREATE INDEX jobs_lease ON jobs(lease_until) WHERE state = 'claimed';
